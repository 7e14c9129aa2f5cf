"""Deterministic identifiers: every id is drawn from one RNG seeded by `--seed`.

Ids are ULIDs (`resp_`, `msg_`, `fc_`, `rs_` prefixes, contract decision 11) whose time part
comes from the injected clock and whose random part comes from the seeded RNG, so the same seed,
clock and request sequence repeat exactly.
"""

from __future__ import annotations

import base64
import random
import uuid

from emulator.clock import Clock

# RFC 4648 base32 alphabet -> Crockford's (the ULID alphabet), for bytes.translate.
_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", b"0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def encode_ulid(value: bytes) -> str:
    """The 26-character ULID text of 16 bytes (48-bit time, 80-bit randomness).

    python-ulid encodes in a Python loop; the standard library's base32 plus a translation table
    does the same in C, several times faster. ULID text is 130 bits, the value with two leading
    zero bits: shifted to the top of 160 bits, its first 26 base32 digits are exactly those.
    The tests check every encoding against python-ulid.
    """
    shifted = int.from_bytes(value, "big") << 30
    return base64.b32encode(shifted.to_bytes(20, "big"))[:26].translate(_CROCKFORD).decode()


class IdSource:
    def __init__(self, seed: int, clock: Clock) -> None:
        self._rng = random.Random(seed)
        self._clock = clock

    def ulid(self) -> str:
        millis = int(self._clock.now() * 1000)
        return encode_ulid(millis.to_bytes(6, "big") + self._rng.randbytes(10))

    def prefixed(self, prefix: str) -> str:
        return f"{prefix}_{self.ulid()}"

    def call_id(self) -> str:
        return f"fc_{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"

    def hex(self, nbytes: int) -> str:
        return self._rng.randbytes(nbytes).hex()
