from __future__ import annotations

import re

from ulid import ULID

from emulator.clock import FrozenClock
from emulator.ids import IdSource


def test_ids_are_seeded_prefixed_and_time_ordered() -> None:
    clock = FrozenClock(1_767_225_600)
    a, b = IdSource(1, clock), IdSource(1, clock)
    assert [a.prefixed("resp"), a.call_id(), a.trace()] == [b.prefixed("resp"), b.call_id(), b.trace()]
    trace_id, span_id = a.trace()
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id) and re.fullmatch(r"[0-9a-f]{16}", span_id)
    first = a.prefixed("msg")
    clock.advance(1)
    assert a.prefixed("msg") > first
    assert re.fullmatch(r"msg_[0-9A-HJKMNP-TV-Z]{26}", first)
    assert ULID.from_str(first[4:]).timestamp == 1_767_225_600
    assert re.fullmatch(r"fc_[0-9a-f-]{36}", a.call_id())
    assert IdSource(2, clock).prefixed("resp") != IdSource(1, clock).prefixed("resp")


def test_random_part_encodes_exactly_as_python_ulid_does() -> None:
    import random

    from ulid.base32 import encode_randomness

    clock = FrozenClock(1_767_225_600)
    ids, rng = IdSource(7, clock), random.Random(7)
    for _ in range(500):
        expected = encode_randomness(rng.getrandbits(80).to_bytes(10, "big"))
        assert ids.prefixed("x")[12:] == expected  # after x_ and the 10 digits of the time
