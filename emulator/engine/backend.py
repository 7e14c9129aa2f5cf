"""What decides the model's answer: a Backend turns a Call into a Turn.

The planner owns everything around the answer (ids, history, usage, truncation, timing); a
backend only says what the model outputs: the default backend's generated text
(`emulator.engine.lorem`) or a scenario's script (`emulator.scenarios`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from emulator.engine.items import ItemPlan
from emulator.engine.timing import Timing
from emulator.state.responses import Conversation


@dataclass(slots=True)
class Call:
    """One create request, as a backend sees it."""

    request: dict[str, Any]  # the validated body
    headers: Mapping[str, str]  # lower-case names
    history: Conversation  # the previous_response_id chain so far
    digest: bytes  # the request's seeded random stream (emulator.engine.textgen.request_digest)
    input_items: list[dict[str, Any]]  # the request's input, normalised to typed items
    timing: Timing  # the server's pacing, which a backend's turn may replace


@dataclass(frozen=True, slots=True)
class Miss:
    """A scenario that did not answer a request, and why (each condition that failed)."""

    scenario: str
    where: str  # file:line
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"'{self.scenario}' ({self.where}): {'; '.join(self.reasons)}"


@dataclass(slots=True)
class Turn:
    # Each output item, without its ids, texts included (`"id": None` after its type, so the id
    # lands second; a new dict the planner completes in place), with its streams' tokens as its
    # pieces: joined, they are the texts.
    items: list[ItemPlan]
    status: str = "completed"  # completed | incomplete | failed
    incomplete_reason: str | None = None
    error: dict[str, str] | None = None  # {code, message} when failed
    usage: dict[str, int] | None = None  # counters that replace the computed ones
    timing: Timing | None = None  # replaces the request's timing
    scenario: str | None = None  # the scenario that answered, if any
    misses: tuple[Miss, ...] = ()  # the scenarios tried before an answer, and why each missed


class Backend(Protocol):
    def turn(self, call: Call) -> Turn: ...
