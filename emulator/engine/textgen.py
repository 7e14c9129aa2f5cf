"""The default backend's words: plausible, deterministic text over Faker's vocabulary.

Each reply is drawn from a stream of pseudo-random bytes: SHAKE-128 keyed by the global seed over
the request's generation-relevant fields (in canonical form). So the same request always gets
the same text, different requests get different text, and how the reply is transported
(`stream`, `stream_options`) does not change it.

A reply is produced as its tokens (`emulator.engine.tokens`), not as a string to be split later:
every word of Faker's lorem list is tokenised once, in the three forms a sentence uses, so a
reply costs a hash and a few joins. The text is the join of the tokens, which is exactly what
streaming deltas, usage counts and `max_output_tokens` truncation need.
"""

from __future__ import annotations

import functools
import hashlib
import struct
from typing import Any

import orjson
from faker import Faker

from emulator.engine.tokens import tokenize

_TRANSPORT_ONLY = frozenset({"stream", "stream_options"})
_MAX_SENTENCES, _MIN_WORDS, _MAX_WORDS = 4, 4, 12
_PICKS = struct.Struct(f"<{_MAX_SENTENCES * _MAX_WORDS}H")  # little-endian on every machine
_STREAM_BYTES = 2 + _PICKS.size


def request_digest(seed: int, request: dict[str, Any]) -> bytes:
    """The reply's random stream: a function of the seed and the request, nothing else."""
    generation = (
        {k: v for k, v in request.items() if k not in _TRANSPORT_ONLY}
        if not _TRANSPORT_ONLY.isdisjoint(request)
        else request
    )
    shake = _seeded(seed).copy()
    shake.update(orjson.dumps(generation, option=orjson.OPT_SORT_KEYS))
    digest: bytes = shake.digest(_STREAM_BYTES)
    return digest


@functools.lru_cache(maxsize=8)
def _seeded(seed: int) -> Any:
    """The stream's state after the seed: hashed once per seed, copied per request."""
    return hashlib.shake_128(seed.to_bytes(8, "big", signed=True))


@functools.cache
def _vocabulary(locale: str) -> tuple[list[tuple[str, ...]], ...]:
    """Each lorem word's tokens as a reply's first word, a later sentence's first (after a space,
    or opening a paragraph), and within a sentence: built once per process (each new app, e.g. one
    per test, shares them)."""
    words = Faker(locale).get_words_list()
    return (
        [tuple(tokenize(w.capitalize())) for w in words],
        [tuple(tokenize(" " + w.capitalize())) for w in words],
        [tuple(tokenize("\n\n" + w.capitalize())) for w in words],
        [tuple(tokenize(" " + w)) for w in words],
    )


class TextGenerator:
    """Sentences of Faker's lorem words, with each word's tokens computed once."""

    def __init__(self, locale: str = "en_US") -> None:
        self._opening, self._capital, self._paragraph, self._inner = _vocabulary(locale)
        self._count = len(self._inner)

    def reply(self, stream: bytes, paragraphs: bool = False) -> list[str]:
        """The tokens of one to four sentences of four to twelve words (`paragraphs`: a paragraph
        each); "".join() is the text."""
        shape = stream[0] | stream[1] << 8
        picks = _PICKS.unpack_from(stream, 2)
        count, inner = self._count, self._inner
        later = self._paragraph if paragraphs else self._capital
        tokens: list[str] = []
        for sentence in range(1 + shape % _MAX_SENTENCES):
            length = _MIN_WORDS + (shape >> (2 + 4 * sentence)) % (_MAX_WORDS - _MIN_WORDS + 1)
            start = sentence * _MAX_WORDS
            tokens += (self._opening if sentence == 0 else later)[picks[start] % count]
            for pick in picks[start + 1 : start + length]:
                tokens += inner[pick % count]
            tokens.append(".")
        return tokens
