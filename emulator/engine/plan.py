"""The Plan: everything one response will say, decided before a byte is sent.

A Plan is the final response snapshot plus, for each output item, the pieces it streams in and
the delay before each piece. Every rendering reads the same Plan: JSON renders `response` (the
final snapshot), server-sent events and WebSocket frames render `events()`. So the concatenated
deltas always equal the final text, and the terminal event always carries what GET returns.

An item streams one text per part, in this order (its "streams"): a message, each content part
(`output_text` or `refusal`); a function call, its arguments; a reasoning item, each `content`
text, then each `summary` text. Other items (platform tool calls) stream nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

from emulator.contract.errors import error_event
from emulator.engine import tokens
from emulator.state.responses import Conversation

if TYPE_CHECKING:
    from emulator.engine.backend import Call, Miss

TERMINAL_EVENT = {
    "completed": "response.completed",
    "requires_action": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}

# How reasoning text is streamed (contract decision 5): orq's names by default; OpenAI's for
# clients that know only those (Node's responses.stream() throws on the orq names).
REASONING_EVENTS = {
    "orq": ("response.reasoning.delta", "response.reasoning.done"),
    "openai": ("response.reasoning_text.delta", "response.reasoning_text.done"),
}

DISCONNECTED = "client_disconnected"


class PlanEvent(NamedTuple):  # a tuple: built per streamed event, so it must be cheap
    type: str
    data: dict[str, Any]
    delay: float = 0.0  # seconds to wait before this event is emitted
    item: int = -1  # output_index of the item this event belongs to, if any
    stream: int = -1  # which of that item's streams, if any


@dataclass(slots=True)
class ItemPlan:
    """One output item: its final form, and the pieces each of its streams is sent in.

    `pieces[s]` are the deltas of the item's stream `s` (see the module docstring);
    `delays[s][j]` is the wait before `pieces[s][j]` (missing delays mean no waiting);
    `delay_before` is an explicit wait before the item is announced.
    """

    item: dict[str, Any]
    pieces: list[list[str]] = field(default_factory=list)
    delays: list[list[float]] = field(default_factory=list)
    delay_before: float = 0.0

    def stream(self, index: int) -> Iterator[tuple[str, float]]:
        pieces = self.pieces[index] if index < len(self.pieces) else []
        delays = self.delays[index] if index < len(self.delays) else [0.0] * len(pieces)
        return zip(pieces, delays, strict=True)

    def partial(self, sent: list[int | None]) -> ItemPlan:
        """This item as far as it got: `sent[s]` pieces of stream s (None: never started).
        Parts never started are left out; a text cut short loses its annotations."""
        pieces = self.pieces
        item = with_texts(self.item, ["".join(p[: n or 0]) for p, n in zip(pieces, sent, strict=True)])
        kind = item["type"]
        if kind == "message":
            item["content"] = [
                {**p, "annotations": []} if "annotations" in p and n < len(pieces[s]) else p
                for s, (p, n) in enumerate(zip(item["content"], sent, strict=True))
                if n is not None
            ]
        elif kind == "reasoning":
            contents = len(item.get("content") or [])  # content streams come first
            if "content" in item:
                item["content"] = [p for p, n in zip(item["content"], sent, strict=False) if n is not None]
            item["summary"] = [
                p for p, n in zip(item["summary"], sent[contents:], strict=True) if n is not None
            ]
        item["status"] = "incomplete"
        return ItemPlan(item, [p[:n] for p, n in zip(pieces, sent, strict=True) if n is not None])


@dataclass(slots=True)
class Plan:
    response: dict[str, Any]
    items: list[ItemPlan]
    conversation: Conversation  # the conversation including this response, for continuing it
    first_delay: float = 0.0  # time before the first content delta (time to first token)
    scenario: str | None = None  # the scenario that answered, if one did
    misses: tuple[Miss, ...] = ()  # the scenarios tried before it, and why each missed
    call: Call | None = None  # the request as its backend saw it (for the journal)
    # False while each stream's pieces are exactly its text's tokens (emulator.engine.tokens),
    # which can then be worked out again from the text instead of being kept.
    chunked: bool = False

    @property
    def terminal_type(self) -> str:
        return TERMINAL_EVENT[self.response["status"]]

    def total_delay(self) -> float:
        total = self.first_delay
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
        yield PlanEvent("response.in_progress", {"response": {**opening, "status": "in_progress"}})
        pending_delay = self.first_delay
        for index, plan in enumerate(self.items):
            for event in _item_events(index, plan, REASONING_EVENTS[reasoning]):
                if pending_delay and event.type.endswith(".delta"):
                    event = event._replace(delay=event.delay + pending_delay)
                    pending_delay = 0.0
                yield event
        error = self.response["error"]
        if self.response["status"] == "failed" and error is not None:
            yield PlanEvent("error", error_event(error), pending_delay)
            pending_delay = 0.0
        yield PlanEvent(self.terminal_type, {"response": self.response}, pending_delay)

    def cut(self, sent: int, *, completed_at: int | None, error: dict[str, str] | None = None) -> Plan:
        """The Plan as far as its first `sent` events went: what a client that went away saw,
        recorded as `incomplete` with reason `client_disconnected`; or, given an `error`
        (`response_error`), what a stream that broke off sent, recorded as `failed`."""
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
            reasoning = sum(_output_tokens(plan.item) for plan in items if plan.item["type"] == "reasoning")
            usage = {
                **usage,
                "output_tokens": produced,
                "total_tokens": usage["input_tokens"] + produced,
                "output_tokens_details": {**usage["output_tokens_details"], "reasoning_tokens": reasoning},
            }
        response = {
            **self.response,
            "status": "incomplete" if error is None else "failed",
            "incomplete_details": {"reason": DISCONNECTED} if error is None else None,
            "completed_at": completed_at,
            "output": output,
            "usage": usage,
            "error": error,
        }
        return Plan(response, items, self.conversation, chunked=self.chunked)


def _output_tokens(item: dict[str, Any]) -> int:
    """As the planner counts them: a reasoning summary restates its reasoning, so it is free."""
    texts = (
        [p["text"] for p in item.get("content") or []] if item["type"] == "reasoning" else item_texts(item)
    )
    return sum(tokens.count(t) for t in texts)


def with_texts(item: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """A copy of the item with its streams' texts set, in `item_texts` order (its inverse)."""
    kind = item["type"]
    if kind == "message":
        content = [
            {**p, "refusal": t} if p["type"] == "refusal" else {**p, "text": t}
            for p, t in zip(item["content"], texts, strict=True)
        ]
        return {**item, "content": content}
    if kind == "function_call":
        return {**item, "arguments": texts[0]}
    if kind == "reasoning":
        parts = iter(texts)  # content first, then summary
        changed = {}
        if "content" in item:
            changed["content"] = [{**p, "text": next(parts)} for p in item["content"]]
        changed["summary"] = [{**p, "text": next(parts)} for p in item["summary"]]
        return {**item, **changed}
    return dict(item)


def item_texts(item: dict[str, Any]) -> list[str]:
    """The final text of each of an item's streams, in stream order."""
    kind = item["type"]
    if kind == "message":
        return [p.get("text") or p.get("refusal") or "" for p in item["content"]]
    if kind == "function_call":
        return [item["arguments"]]
    if kind == "reasoning":
        return [p["text"] for p in (item.get("content") or [])] + [p["text"] for p in item["summary"]]
    return []


def _item_events(index: int, plan: ItemPlan, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
    item = plan.item
    kind = item["type"]
    at = {"item_id": item["id"], "output_index": index}

    def event(type_: str, data: dict[str, Any], stream: int = -1, delay: float = 0.0) -> PlanEvent:
        return PlanEvent(type_, data, delay, index, stream)

    if kind == "message":
        announced = {**item, "status": "in_progress", "content": []}
    elif kind == "function_call":
        announced = {**item, "status": "in_progress", "arguments": ""}
    elif kind == "reasoning":
        announced = {**item, "status": "in_progress", "summary": []}
        if "content" in item:
            announced["content"] = []
    else:
        announced = {**item, "status": "in_progress"}
    yield event(
        "response.output_item.added", {"output_index": index, "item": announced}, delay=plan.delay_before
    )

    if kind == "message":
        for s, part in enumerate(item["content"]):
            where = {**at, "content_index": s}
            if part["type"] == "refusal":
                yield event(
                    "response.content_part.added", {**where, "part": {"type": "refusal", "refusal": ""}}, s
                )
                for piece, delay in plan.stream(s):
                    yield event("response.refusal.delta", {**where, "delta": piece}, s, delay)
                yield event("response.refusal.done", {**where, "refusal": part["refusal"]}, s)
            else:
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                yield event("response.content_part.added", {**where, "part": empty}, s)
                for piece, delay in plan.stream(s):
                    yield event(
                        "response.output_text.delta", {**where, "delta": piece, "logprobs": []}, s, delay
                    )
                for n, annotation in enumerate(part["annotations"]):
                    yield event(
                        "response.output_text.annotation.added",
                        {**where, "annotation_index": n, "annotation": annotation},
                        s,
                    )
                yield event("response.output_text.done", {**where, "text": part["text"], "logprobs": []}, s)
            yield event("response.content_part.done", {**where, "part": part}, s)
    elif kind == "function_call":
        for piece, delay in plan.stream(0):
            yield event("response.function_call_arguments.delta", {**at, "delta": piece}, 0, delay)
        yield event(
            "response.function_call_arguments.done",
            {**at, "name": item["name"], "arguments": item["arguments"]},
            0,
        )
    elif kind == "reasoning":
        content = item.get("content") or []
        delta_type, done_type = reasoning
        for s, part in enumerate(content):
            where = {**at, "content_index": s}
            for piece, delay in plan.stream(s):
                yield event(delta_type, {**where, "delta": piece}, s, delay)
            yield event(done_type, {**where, "text": part["text"]}, s)
        for n, part in enumerate(item["summary"]):
            s = len(content) + n
            where = {**at, "summary_index": n}
            empty = {"type": "summary_text", "text": ""}
            yield event("response.reasoning_summary_part.added", {**where, "part": empty}, s)
            for piece, delay in plan.stream(s):
                yield event("response.reasoning_summary_text.delta", {**where, "delta": piece}, s, delay)
            yield event("response.reasoning_summary_text.done", {**where, "text": part["text"]}, s)
            yield event("response.reasoning_summary_part.done", {**where, "part": part}, s)
    yield event("response.output_item.done", {"output_index": index, "item": item})
