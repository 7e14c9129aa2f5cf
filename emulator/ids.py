"""Deterministic identifiers: every id is drawn from one RNG seeded by `--seed`.

Ids are ULIDs (`resp_`, `msg_`, `fc_`, `rs_` prefixes, contract decision 11) whose time part
comes from the injected clock and whose random part comes from the seeded RNG, so the same seed,
clock and request sequence repeat exactly.
"""

from __future__ import annotations

import random
import uuid

from ulid import ULID

from emulator.clock import Clock


class IdSource:
    def __init__(self, seed: int, clock: Clock) -> None:
        self._rng = random.Random(seed)
        self._clock = clock

    def ulid(self) -> str:
        millis = int(self._clock.now() * 1000)
        return str(ULID.from_bytes(millis.to_bytes(6, "big") + self._rng.randbytes(10)))

    def prefixed(self, prefix: str) -> str:
        return f"{prefix}_{self.ulid()}"

    def call_id(self) -> str:
        return f"fc_{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"

    def hex(self, nbytes: int) -> str:
        return self._rng.randbytes(nbytes).hex()
