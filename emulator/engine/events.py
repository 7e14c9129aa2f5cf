"""A Plan's events, before any transport frames them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

# How reasoning text is streamed (contract decision 5): orq's names by default; OpenAI's for
# clients that know only those (Node's responses.stream() throws on the orq names).
REASONING_EVENTS = {
    "orq": ("response.reasoning.delta", "response.reasoning.done"),
    "openai": ("response.reasoning_text.delta", "response.reasoning_text.done"),
}


class PlanEvent(NamedTuple):  # a tuple: built per streamed event, so it must be cheap
    type: str
    data: dict[str, Any]
    delay: float = 0.0  # seconds to wait before this event is emitted
    item: int = -1  # output_index of the item this event belongs to, if any
    stream: int = -1  # which of that item's streams, if any


def numbered(events: Iterable[PlanEvent], starting_after: int = -1) -> Iterator[tuple[int, PlanEvent]]:
    """Each event with its `sequence_number` (from 0), those after `starting_after` only."""
    return ((n, e) for n, e in enumerate(events) if n > starting_after)
