"""Injectable clocks: every timestamp and every wait in the emulator goes through one.

`SystemClock` is real time; `FrozenClock` never moves unless told to, so tests and
`--frozen-time` runs produce byte-identical bodies.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for pacing."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""


class SystemClock:
    # The functions themselves, not methods that call them: `now` is read for every id minted.
    now = staticmethod(time.time)
    monotonic = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)


class FrozenClock:
    """A clock that only moves when `advance` is called; `sleep` advances it instantly."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds
            await asyncio.sleep(0)  # still a suspension point, as a real wait would be
