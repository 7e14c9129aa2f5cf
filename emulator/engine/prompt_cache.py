"""Prompt caching, as providers report it (issue 15; contract section 3.4): a repeated prefix
shows up in `usage.input_tokens_details`.

A request takes part when it names a `prompt_cache_key` (or asks for caching with a top-level
`cache_control`). Its cacheable prefix is everything before its new input: the instructions, the
tools, the conversation so far (`previous_response_id` or `conversation`), and its input items
but the last; when input items carry `cache_control` markers (on the item or on a content part),
the prefix ends after the last marked item instead. The first request with a prefix writes it:
`cache_creation_tokens` and `cache_write_tokens` are the prefix's tokens. A later one with the
same key and model and the same prefix reads it: `cached_tokens` are the prefix's tokens. Entries
live 5 minutes on the emulator's clock (`prompt_cache_retention: "24h"`: a day), at most
`--cache-size` of them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import orjson

from emulator.engine import tokens
from emulator.engine.items import input_tokens as items_tokens
from emulator.engine.items import normalise_input
from emulator.ids import UNCOUNTED
from emulator.state.bounded import lru_put

RETENTION = {"in_memory": 300.0, "24h": 86_400.0}


def asked(request: dict[str, Any]) -> bool:
    return request.get("prompt_cache_key") is not None or request.get("cache_control") is not None


def _marked(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    return "cache_control" in item or any(isinstance(p, dict) and "cache_control" in p for p in parts)


class PromptCache:
    def __init__(self, cap: int = 1000) -> None:
        self.cap = max(cap, 1)
        self._entries: OrderedDict[bytes, float] = OrderedDict()  # fingerprint -> expiry

    def usage(
        self, request: dict[str, Any], history: tuple[str, int], history_tokens: int, now: float
    ) -> tuple[int, int]:
        """(cached tokens, written tokens) of this request's prefix, and the prefix remembered."""
        raw = request.get("input")
        items = raw if isinstance(raw, list) else [{"role": "user", "content": raw}] if raw else []
        marks = [n for n, item in enumerate(items) if _marked(item)]
        prefix_items = items[: marks[-1] + 1] if marks else items[:-1]
        prefix = (
            tokens.count_recurring(request.get("instructions") or "")
            + tokens.count_tools(request.get("tools") or [])
            + history_tokens
            + items_tokens(normalise_input(prefix_items, UNCOUNTED))
        )
        if not prefix:
            return 0, 0
        key = {
            "key": request.get("prompt_cache_key"), "model": request["model"],
            "instructions": request.get("instructions"), "tools": request.get("tools"),
            "history": history, "items": prefix_items,
        }  # fmt: skip
        fingerprint = hashlib.blake2b(orjson.dumps(key, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()
        expiry = self._entries.get(fingerprint)
        ttl = RETENTION.get(str(request.get("prompt_cache_retention")), RETENTION["in_memory"])
        lru_put(self._entries, fingerprint, now + ttl, self.cap)
        if expiry is not None and expiry > now:
            return prefix, 0
        return 0, prefix

    def clear(self) -> None:
        self._entries.clear()
