"""Log probabilities, when a request asks for them (`top_logprobs` > 0, or `include` with
`message.output_text.logprobs`): one entry per streamed piece of each output text (a token, with
the default chunking), so a delta carries its piece's entry and the finished part all of them,
in JSON and stream alike. Values are a function of the token and its place only: between 0 and
-2.5, each alternative lower than the one before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from emulator.engine.items import ItemPlan

INCLUDE = "message.output_text.logprobs"
# At least 20 (top_logprobs is at most 20), so alternatives never run out.
_ALTERNATIVES = (
    " the", " a", " and", " of", " to", ",", ".", " it", " is", " in", " that", " we", " for",
    " on", " with", " as", " was", " be", " by", " this", " at", " or", " an", " so",
)  # fmt: skip


def asked(request: dict[str, Any]) -> int | None:
    """How many alternatives each entry lists (0: none), or None when logprobs were not asked."""
    top = request.get("top_logprobs") or 0
    if top > 0:
        return int(top)
    return 0 if INCLUDE in (request.get("include") or ()) else None


def attach(items: Iterable[ItemPlan], alternatives: int) -> None:
    """Gives every output text of `items` its entries (the items are the response's, final)."""
    for plan in items:
        if plan.item.get("type") != "message":
            continue
        for s, part in enumerate(plan.item["content"]):
            if part.get("type") == "output_text":
                part["logprobs"] = [entry(piece, k, alternatives) for k, piece in enumerate(plan.pieces[s])]


def entry(token: str, position: int, alternatives: int) -> dict[str, Any]:
    digest = hashlib.blake2b(f"{position}\x00{token}".encode(), digest_size=8).digest()
    logprob = -round(int.from_bytes(digest[:2], "big") / 65535 * 2.5, 6)
    others = [a for a in _ALTERNATIVES if a != token]
    start = digest[2] % len(others)
    picked = (others[start:] + others[:start])[: max(alternatives - 1, 0)]
    top = [_choice(token, logprob)] + [
        _choice(a, round(logprob - 0.75 * (n + 1), 6)) for n, a in enumerate(picked)
    ]
    return {**_choice(token, logprob), "top_logprobs": top[:alternatives]}


def _choice(token: str, logprob: float) -> dict[str, Any]:
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}
