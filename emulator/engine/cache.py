"""orq's response cache (contract decision 10): `cache: {type: exact_match, ttl}`.

The key is the request without what does not change the answer: `stream` (a stream replays a
cached answer), `store` (a `store: false` request still fills and reads the cache), `background`,
`metadata` and the `cache` setting itself; everything else (model, input, instructions, tools,
every generation parameter) counts, exactly and case-sensitively. A hit answers with the cached
output (its items, ids included) under a fresh response id, without calling a model (no gateway
attempts); only completed answers are kept. Entries live `ttl` seconds (default 1800) on the
emulator's clock, and the cache is bounded, evicting the least recently used.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, NamedTuple

import orjson

from emulator.state.bounded import lru_put

DEFAULT_TTL = 1800
IGNORED = frozenset(("stream", "stream_options", "store", "background", "metadata", "cache"))
CACHE_HEADER = "x-emulator-cache"


class Cached(NamedTuple):
    expires: float
    output: bytes  # the output items, as JSON: each hit gets its own copy to complete


def cache_key(request: dict[str, Any]) -> bytes:
    kept = {k: v for k, v in request.items() if k not in IGNORED}
    return hashlib.blake2b(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


class ResponseCache:
    def __init__(self, cap: int = 1000) -> None:
        self.cap = max(cap, 1)
        self._entries: OrderedDict[bytes, Cached] = OrderedDict()

    def get(self, key: bytes, now: float) -> list[dict[str, Any]] | None:
        """The cached output items (a fresh copy), or None: a miss, or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= now:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        output: list[dict[str, Any]] = orjson.loads(entry.output)
        return output

    def put(self, key: bytes, output: list[dict[str, Any]], ttl: float, now: float) -> None:
        lru_put(self._entries, key, Cached(now + ttl, orjson.dumps(output)), self.cap)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
