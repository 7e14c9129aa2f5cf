"""Deterministic identifiers: every id is drawn from one RNG seeded by `--seed`.

Ids are ULIDs (`resp_`, `msg_`, `fc_`, `rs_` prefixes, contract decision 11) whose time part
comes from the injected clock and whose random part comes from the seeded RNG, so the same seed,
clock and request sequence repeat exactly.
"""

from __future__ import annotations

import random
import uuid

from ulid.base32 import ENCODE, encode_timestamp

from emulator.clock import Clock, FrozenClock

# Every pair of Crockford base32 digits, so 80 random bits encode as eight lookups: python-ulid's
# `encode_randomness` does the same work one digit at a time, at twice the cost on the hot path.
_DIGIT_PAIRS = tuple(ENCODE[n >> 5] + ENCODE[n & 31] for n in range(1024))


class IdSource:
    def __init__(self, seed: int, clock: Clock) -> None:
        self._rng = random.Random(seed)
        self._clock = clock
        self._millis = -1
        self._time_part = ""

    def prefixed(self, prefix: str) -> str:
        """`prefix_<ULID>` (resp_, msg_...). No ULID object per id: the time part is shared by
        every id minted in the same millisecond, so python-ulid encodes it once; the random part
        is eight pair lookups."""
        millis = int(self._clock.now() * 1000)
        if millis != self._millis:
            self._millis, self._time_part = millis, encode_timestamp(millis.to_bytes(6, "big"))
        n, pairs = self._rng.getrandbits(80), _DIGIT_PAIRS
        return prefix + "_" + self._time_part + "".join((
            pairs[n >> 70], pairs[n >> 60 & 1023], pairs[n >> 50 & 1023], pairs[n >> 40 & 1023],
            pairs[n >> 30 & 1023], pairs[n >> 20 & 1023], pairs[n >> 10 & 1023], pairs[n & 1023],
        ))  # fmt: skip

    def call_id(self) -> str:
        return f"fc_{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"

    def trace(self) -> tuple[str, str]:
        """An OpenTelemetry (trace id, span id) pair: 32 and 16 hex digits."""
        digits = self._rng.getrandbits(192).to_bytes(24, "big").hex()
        return digits[:32], digits[32:]


# Ids for items that are only counted (input_tokens, prompt caching): drawn from a source of their
# own, so counting draws none of the seeded ones and the next responses' ids stay as they were.
UNCOUNTED = IdSource(0, FrozenClock())
