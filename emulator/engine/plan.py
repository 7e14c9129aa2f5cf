"""The Plan: everything one response will say, decided before a byte is sent.

A Plan is the final response snapshot plus, for each output item, the pieces it streams in and
the delay before each piece. Every rendering reads the same Plan: JSON renders `response` (the
final snapshot), server-sent events and WebSocket frames render `events()`. So the concatenated
deltas always equal the final text, and the terminal event always carries what GET returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from emulator.state.responses import Conversation

TERMINAL_EVENT = {
    "completed": "response.completed",
    "requires_action": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


@dataclass(frozen=True, slots=True)
class PlanEvent:
    type: str
    data: dict[str, Any]
    delay: float = 0.0  # seconds to wait before this event is emitted


@dataclass(slots=True)
class ItemPlan:
    """One output item: its final form, and the pieces it streams in.

    `pieces[i]` are the deltas of the item's i-th streamed text: a message's i-th content part,
    or a function call's arguments (i = 0). `delays[i][j]` is the wait before `pieces[i][j]`;
    missing delays mean no waiting.
    """

    item: dict[str, Any]
    pieces: list[list[str]] = field(default_factory=list)
    delays: list[list[float]] = field(default_factory=list)

    def stream(self, index: int) -> Iterator[tuple[str, float]]:
        pieces = self.pieces[index] if index < len(self.pieces) else []
        delays = self.delays[index] if index < len(self.delays) else [0.0] * len(pieces)
        return zip(pieces, delays, strict=True)


@dataclass(slots=True)
class Plan:
    response: dict[str, Any]
    items: list[ItemPlan]
    conversation: Conversation  # the conversation including this response, for continuing it
    first_delay: float = 0.0  # time before the first output event (time to first token)

    @property
    def terminal_type(self) -> str:
        return TERMINAL_EVENT[self.response["status"]]

    def total_delay(self) -> float:
        total = self.first_delay
        for item in self.items:
            for delays in item.delays:
                total += sum(delays)
        return total

    def in_progress_snapshot(self) -> dict[str, Any]:
        """The response as the lifecycle events before any output announce it."""
        return {
            **self.response,
            "status": "queued" if self.response["background"] else "in_progress",
            "completed_at": None,
            "output": [],
            "usage": None,
            "error": None,
            "incomplete_details": None,
        }

    def events(self) -> Iterator[PlanEvent]:
        """The canonical event sequence of contract section 4.3 (without sequence numbers)."""
        opening = self.in_progress_snapshot()
        yield PlanEvent("response.created", {"response": opening})
        yield PlanEvent("response.in_progress", {"response": {**opening, "status": "in_progress"}})
        pending_delay = self.first_delay
        for index, plan in enumerate(self.items):
            for event in _item_events(index, plan):
                if pending_delay and event.type.endswith(".delta"):
                    event = PlanEvent(event.type, event.data, event.delay + pending_delay)
                    pending_delay = 0.0
                yield event
        yield PlanEvent(self.terminal_type, {"response": self.response}, pending_delay)


def _item_events(index: int, plan: ItemPlan) -> Iterator[PlanEvent]:
    item = plan.item
    kind = item["type"]
    at = {"item_id": item["id"], "output_index": index}
    if kind == "message":
        yield PlanEvent(
            "response.output_item.added",
            {"output_index": index, "item": {**item, "status": "in_progress", "content": []}},
        )
        for content_index, part in enumerate(item["content"]):
            where = {**at, "content_index": content_index}
            if part["type"] == "refusal":
                yield PlanEvent(
                    "response.content_part.added",
                    {**where, "part": {"type": "refusal", "refusal": ""}},
                )
                for piece, delay in plan.stream(content_index):
                    yield PlanEvent("response.refusal.delta", {**where, "delta": piece}, delay)
                yield PlanEvent("response.refusal.done", {**where, "refusal": part["refusal"]})
            else:
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                yield PlanEvent("response.content_part.added", {**where, "part": empty})
                for piece, delay in plan.stream(content_index):
                    yield PlanEvent(
                        "response.output_text.delta",
                        {**where, "delta": piece, "logprobs": []},
                        delay,
                    )
                yield PlanEvent("response.output_text.done", {**where, "text": part["text"], "logprobs": []})
            yield PlanEvent("response.content_part.done", {**where, "part": part})
    elif kind == "function_call":
        yield PlanEvent(
            "response.output_item.added",
            {"output_index": index, "item": {**item, "status": "in_progress", "arguments": ""}},
        )
        for piece, delay in plan.stream(0):
            yield PlanEvent("response.function_call_arguments.delta", {**at, "delta": piece}, delay)
        yield PlanEvent(
            "response.function_call_arguments.done",
            {**at, "name": item["name"], "arguments": item["arguments"]},
        )
    else:
        yield PlanEvent(
            "response.output_item.added",
            {"output_index": index, "item": {**item, "status": "in_progress"}},
        )
    yield PlanEvent("response.output_item.done", {"output_index": index, "item": item})
