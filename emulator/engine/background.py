"""Background responses (`background: true`): queued, then in progress, then finished, on the clock.

A background response's whole life is known when it is created: its Plan (the answer, or the
gateway's failure) and its schedule (queued for the gateway's waits and the timing's `queue_ms`,
then the Plan's pacing). So its state is a function of the emulator's clock, read when it is
asked for: GET shows `queued`, then `in_progress`, then the final response, each at its time,
with no task running per response (a thousand of them cost a thousand small objects). A stream
of it (the create's own, or `GET ?stream=true&starting_after=N` while it runs) sends the events
already due at once and the rest as they fall due; a client leaving such a stream does not stop
the response. `POST .../cancel` ends it `cancelled` with the output produced so far.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from emulator.engine.events import PlanEvent
from emulator.engine.plan import Plan

Trace = tuple[str, str]


@dataclass(slots=True)
class Run:
    plan: Plan
    trace: Trace
    start: float  # the clock's monotonic time at creation
    reasoning: str  # the event names its streams use
    cancelled: bool = False

    @property
    def end(self) -> float:
        return self.start + self.plan.total_delay()

    def due(self, now: float) -> int:
        """How many of its events are due by `now`."""
        return self.plan.events_due(now - self.start)

    def snapshot(self, now: float) -> dict[str, Any]:
        """The response as GET shows it before it finishes: queued, then in progress."""
        opening = self.plan.in_progress_snapshot()
        if self.due(now) > 2:  # response.created and response.queued: still queued until then
            return {**opening, "status": "in_progress"}
        return opening

    def events(self, after: int, now: float) -> Iterator[tuple[int, PlanEvent]]:
        """Its events from number `after + 1`, each delayed until it falls due (the ones already due
        at once); stops if it is cancelled meanwhile."""
        elapsed, at = now - self.start, 0.0
        for number, event in enumerate(self.plan.events(self.reasoning)):
            at += event.delay
            if number <= after:
                continue
            if self.cancelled:
                return
            wait = max(0.0, at - elapsed)
            elapsed = max(elapsed, at)
            yield number, event._replace(delay=wait)


@dataclass(slots=True)
class Runs:
    """The background responses that have not finished, by id."""

    by_id: dict[str, Run] = field(default_factory=dict)  # empty most of the time: test it, cheaply
    _ends: list[tuple[float, str]] = field(default_factory=list)  # a heap: (end, id)

    def __len__(self) -> int:
        return len(self.by_id)

    def add(self, response_id: str, run: Run) -> None:
        self.by_id[response_id] = run
        heapq.heappush(self._ends, (run.end, response_id))

    def get(self, response_id: str) -> Run | None:
        return self.by_id.get(response_id)

    def pop(self, response_id: str) -> Run | None:
        return self.by_id.pop(response_id, None)

    def due(self, now: float) -> list[tuple[str, Run]]:
        """Removes and returns the runs that have finished by `now`."""
        finished = []
        while self._ends and self._ends[0][0] <= now:
            _, response_id = heapq.heappop(self._ends)
            if (run := self.by_id.pop(response_id, None)) is not None:
                finished.append((response_id, run))
        return finished
