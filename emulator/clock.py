"""Injectable clocks: every timestamp and every wait in the emulator goes through one.

`SystemClock` is real time; `FrozenClock` never moves unless told to, so tests and
`--frozen-time` runs produce byte-identical bodies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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


class ControlledClock:
    """The app's clock: real time or frozen, switchable while it runs (`POST /_emulator/clock`).

    `now` and `monotonic` are rebound on each switch to the plainest function that reads the
    time (the builtins themselves in real time), so they cost what SystemClock's and
    FrozenClock's do: ids read the time for every id minted.
    """

    def __init__(self, frozen_at: float | None = None) -> None:
        self._frozen = frozen_at
        self._offset = 0.0  # real time: added to time.time() (moved on by `advance`, or by a thaw)
        self._monotonic_offset = 0.0
        self.now: Callable[[], float] = time.time
        self.monotonic: Callable[[], float] = time.monotonic
        self._rebind()

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def _rebind(self) -> None:
        if self._frozen is not None:
            self.now = self.monotonic = self._frozen_at
        elif not self._offset and not self._monotonic_offset:
            self.now, self.monotonic = time.time, time.monotonic
        else:
            offset, monotonic_offset = self._offset, self._monotonic_offset
            self.now = lambda: time.time() + offset
            self.monotonic = lambda: time.monotonic() + monotonic_offset

    def _frozen_at(self) -> float:
        return self._frozen  # type: ignore[return-value]  # bound only while frozen

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self._frozen is not None:  # as FrozenClock: the wait is the clock moving on
            self._frozen += seconds
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(seconds)

    def advance(self, seconds: float) -> None:
        """Moves the clock on: the frozen time, or real time's offset."""
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds
            self._monotonic_offset += seconds
        self._rebind()

    def freeze(self, at: float | None = None) -> None:
        """Stops the clock at `at` (Unix seconds), or where it is now."""
        self._frozen = self.now() if at is None else at
        self._rebind()

    def thaw(self) -> None:
        """Lets the clock run in real time again, from where it was frozen."""
        if self._frozen is None:
            return
        self._offset = self._frozen - time.time()
        self._monotonic_offset = self._frozen - time.monotonic()
        self._frozen = None
        self._rebind()
