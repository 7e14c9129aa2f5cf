"""Server-sent events: the Plan's events, numbered and framed, paced by their delays.

Framing is contract decision 5: each event is one frame `event: <type>\\ndata: <one-line JSON>\\n\\n`
(LF only) handed to the transport in one write; `sequence_number` counts from 0; long waits are
bridged by `: keepalive` comment frames (the only keep-alive every client tolerates); `data: [DONE]`
follows the terminal event unless switched off.

Pacing keeps an absolute schedule (each event is due at the stream's start plus the sum of the
delays so far), so the small lateness of each wake-up never accumulates over a long stream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import orjson

from emulator.clock import Clock
from emulator.engine.events import PlanEvent
from emulator.engine.faults import StreamFault

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keepalive\n\n"


class StreamAborted(Exception):
    """Raised to drop a stream's connection without ending it (the stream:disconnect fault)."""


Write = Callable[[bytes], Awaitable[None]]


def frame(sequence_number: int, event: PlanEvent) -> bytes:
    data = orjson.dumps({"type": event.type, "sequence_number": sequence_number, **event.data})
    return b"event: " + event.type.encode() + b"\ndata: " + data + b"\n\n"


class EventStream:
    """Writes a Plan's events; `sent` counts the events written so far (for a disconnect)."""

    def __init__(
        self,
        clock: Clock,
        *,
        keepalive: float,
        done: bool,
        paced: bool = True,
        times: list[float] | None = None,
        fault: StreamFault | None = None,
    ) -> None:
        self.clock = clock
        self.fault = fault  # what breaks the stream (emulator.engine.faults)
        self.struck: StreamFault | None = None  # the fault that ended it early, once it has
        self.keepalive = keepalive
        self.done = done
        self.paced = paced
        self.sent = 0
        self.times = times  # given, each event's time of sending (seconds from the start) is added

    async def run(self, events: Iterable[tuple[int, PlanEvent]], write: Write) -> None:
        start = due = self.clock.monotonic()
        times = self.times
        fault = self.fault
        for sequence_number, event in events:
            if self.paced and event.delay > 0:
                due += event.delay
                await self._wait_until(due, write)
            if fault is not None and self.sent == fault.after:
                if fault.kind == "stall":  # silence: not even a keep-alive
                    await self.clock.sleep(fault.seconds)
                    due += fault.seconds
                elif fault.kind == "malformed":  # a frame whose JSON is cut short, then the rest
                    whole = frame(sequence_number, event)
                    await write(whole[: whole.index(b"data: ") + 24] + b"\n\n")
                else:  # truncate, disconnect, error: the stream ends here; the transport says how
                    self.struck = fault
                    return
                fault = None
            await write(frame(sequence_number, event))
            self.sent = sequence_number + 1
            if times is not None:
                times.append(self.clock.monotonic() - start)
        if self.done:
            await write(DONE)

    async def _wait_until(self, due: float, write: Write) -> None:
        while (remaining := due - self.clock.monotonic()) > 0:
            if remaining > self.keepalive:
                await self.clock.sleep(self.keepalive)
                await write(KEEPALIVE)
            else:
                await self.clock.sleep(remaining)
