"""The default backend's words: plausible, deterministic text from Faker.

The seed of each reply is derived from (global seed, the request's generation-relevant fields),
so the same request always gets the same text and different requests get different text. How
the reply is transported (`stream`, `stream_options`) does not change it.

Sentences are drawn from Faker's lorem word list with Faker's seeded RNG. Assembling them here
instead of calling `Faker.paragraph()` gives the same kind of text at a quarter of the cost,
which matters on the hot path of every request.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from faker import Faker

_TRANSPORT_ONLY = frozenset({"stream", "stream_options"})


def request_seed(seed: int, request: dict[str, Any]) -> int:
    generation = {k: v for k, v in request.items() if k not in _TRANSPORT_ONLY}
    digest = hashlib.blake2b(digest_size=8, key=seed.to_bytes(8, "big", signed=True))
    digest.update(orjson.dumps(generation, option=orjson.OPT_SORT_KEYS))
    return int.from_bytes(digest.digest(), "big")


class TextGenerator:
    """One Faker instance (building one is slow), reseeded per reply."""

    def __init__(self, locale: str = "en_US") -> None:
        self._faker = Faker(locale)
        self._faker.seed_instance(0)  # this instance's own RNG, not the one Faker shares globally
        self._rng = self._faker.random  # fetched once: Faker's proxy makes each lookup costly
        self._words: tuple[str, ...] = tuple(self._faker.get_words_list())

    def reply(self, seed: int) -> str:
        """One to four sentences of four to twelve words."""
        rng = self._rng
        rng.seed(seed)
        bits = rng.getrandbits(18)  # 2 bits: how many sentences; 4 bits each: their lengths
        lengths = [4 + (bits >> (2 + 4 * i)) % 9 for i in range(1 + bits % 4)]
        words = rng.choices(self._words, k=sum(lengths))
        sentences, start = [], 0
        for length in lengths:
            sentences.append(" ".join(words[start : start + length]).capitalize() + ".")
            start += length
        return " ".join(sentences)
