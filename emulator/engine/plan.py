"""The Plan: everything one response will say, decided before a byte is sent.

A Plan is the final response snapshot plus, for each output item, the pieces it streams in and
the delay before each piece. Every rendering reads the same Plan: JSON mode sends `response` (the
final snapshot), server-sent events render `events()` (and so will any other streaming transport).
So the concatenated deltas always equal the final text, and the terminal event always carries what
GET returns.

What an item streams, and how it reads when cut short, is its kind's (emulator.engine.items).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from emulator.contract.errors import error_event
from emulator.engine import tokens
from emulator.engine.events import REASONING_EVENTS, PlanEvent
from emulator.engine.items import ItemPlan, kind_of
from emulator.state.responses import Conversation

TERMINAL_EVENT = {
    "completed": "response.completed",
    "requires_action": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}

DISCONNECTED = "client_disconnected"


@dataclass(slots=True)
class Plan:
    response: dict[str, Any]
    items: list[ItemPlan]
    conversation: Conversation  # the conversation including this response, for continuing it
    first_delay: float = 0.0  # time before the first content delta (time to first token)
    # False while each stream's pieces are exactly its text's tokens (emulator.engine.tokens),
    # which can then be worked out again from the text instead of being kept.
    chunked: bool = False
    queued: float = 0.0  # a background response's time queued, before response.in_progress

    @property
    def terminal_type(self) -> str:
        return TERMINAL_EVENT[self.response["status"]]

    def total_delay(self) -> float:
        total = self.first_delay + self.queued
        for item in self.items:
            total += item.delay_before
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

    def events(self, reasoning: str = "orq") -> Iterator[PlanEvent]:
        """The canonical event sequence of contract section 4.3 (without sequence numbers)."""
        opening = self.in_progress_snapshot()
        yield PlanEvent("response.created", {"response": opening})
        if self.response["background"]:
            yield PlanEvent("response.queued", {"response": opening})
        yield PlanEvent(
            "response.in_progress", {"response": {**opening, "status": "in_progress"}}, self.queued
        )
        pending_delay = self.first_delay
        for index, plan in enumerate(self.items):
            for event in plan.events(index, REASONING_EVENTS[reasoning]):
                if pending_delay and event.type.endswith(".delta"):
                    event = event._replace(delay=event.delay + pending_delay)
                    pending_delay = 0.0
                yield event
        error = self.response["error"]
        if self.response["status"] == "failed" and error is not None:
            yield PlanEvent("error", error_event(error), pending_delay)
            pending_delay = 0.0
        yield PlanEvent(self.terminal_type, {"response": self.response}, pending_delay)

    def events_due(self, elapsed: float) -> int:
        """How many events a paced stream would have sent `elapsed` seconds after it began."""
        count, at = 0, 0.0
        for event in self.events():
            at += event.delay
            if at > elapsed:
                break
            count += 1
        return count

    def cut(
        self,
        sent: int,
        *,
        completed_at: int | None,
        error: dict[str, str] | None = None,
        cancelled: bool = False,
    ) -> Plan:
        """The Plan as far as its first `sent` events went: what a client that went away saw,
        recorded as `incomplete` with reason `client_disconnected`; given an `error`
        (`response_error`), what a stream that broke off sent, recorded as `failed`; `cancelled`,
        a background response cancelled then."""
        added: set[int] = set()
        done: set[int] = set()
        deltas: dict[tuple[int, int], int] = {}
        for event in islice(self.events(), sent):
            if event.type == "response.output_item.added":
                added.add(event.item)
            elif event.type == "response.output_item.done":
                done.add(event.item)
            elif event.stream >= 0:
                key = (event.item, event.stream)
                deltas[key] = deltas.get(key, 0) + event.type.endswith(".delta")
        items = []
        for index, plan in enumerate(self.items):
            if index not in added:
                break
            if index in done:
                items.append(plan)
            else:
                items.append(plan.partial([deltas.get((index, s)) for s in range(len(plan.pieces))]))
        output = [plan.item for plan in items]
        usage = self.response["usage"]
        if usage is not None:
            produced = sum(_output_tokens(plan.item) for plan in items)
            reasoning = sum(_output_tokens(plan.item) for plan in items if plan.kind.reasoning)
            usage = {
                **usage,
                "output_tokens": produced,
                "total_tokens": usage["input_tokens"] + produced,
                "output_tokens_details": {**usage["output_tokens_details"], "reasoning_tokens": reasoning},
            }
        response = {
            **self.response,
            "status": "cancelled" if cancelled else "incomplete" if error is None else "failed",
            "incomplete_details": {"reason": DISCONNECTED} if error is None and not cancelled else None,
            "completed_at": completed_at,
            "output": output,
            "usage": usage,
            "error": error,
        }
        return Plan(response, items, self.conversation, chunked=self.chunked)


def _output_tokens(item: dict[str, Any]) -> int:
    """As the planner counts them: only the streams the item's kind bills."""
    kind = kind_of(item["type"])
    return sum(tokens.count(t) for t in kind.texts(item)[: kind.billed(item)])


def item_texts(item: dict[str, Any]) -> list[str]:
    """The final text of each of an item's streams, in stream order."""
    return kind_of(item["type"]).texts(item)
