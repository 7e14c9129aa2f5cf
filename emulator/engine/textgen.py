"""The default backend's words: plausible, deterministic text from a seeded Faker.

The seed of each reply is derived from (global seed, the request's generation-relevant fields),
so the same request always gets the same text and different requests get different text. How
the reply is transported (`stream`, `stream_options`) does not change it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from faker import Faker

_TRANSPORT_ONLY = frozenset({"stream", "stream_options"})


def request_seed(seed: int, request: dict[str, Any], context_key: str = "") -> int:
    generation = {k: v for k, v in request.items() if k not in _TRANSPORT_ONLY}
    digest = hashlib.blake2b(digest_size=8, key=seed.to_bytes(8, "big", signed=True))
    digest.update(orjson.dumps(generation, option=orjson.OPT_SORT_KEYS))
    digest.update(context_key.encode())
    return int.from_bytes(digest.digest(), "big")


class TextGenerator:
    """One Faker instance, reseeded per reply (seeding is cheap; building a Faker is not)."""

    def __init__(self, locale: str = "en_US") -> None:
        self._faker = Faker(locale)

    def reply(self, seed: int) -> str:
        self._faker.seed_instance(seed)
        sentences = self._faker.random_int(1, 4)
        return self._faker.paragraph(nb_sentences=sentences, variable_nb_sentences=True)
