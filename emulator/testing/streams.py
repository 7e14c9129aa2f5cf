"""Reading and checking a Responses event stream, for tests (ours, and those of our users).

`read_sse` parses the bytes of a `text/event-stream` body as the clients do; `stream_problems`
lists every way a sequence of events breaks the ordering rules of contract section 4.3, which no
per-event schema can see: contiguous sequence numbers, items announced before their deltas,
`output_index` counting from 0 in emission order, exactly one terminal event, item ids that match
their item, deltas that add up to the final text, and a terminal response that agrees with the
items streamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

LIFECYCLE = frozenset({"response.created", "response.queued", "response.in_progress"})
TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

# delta type -> (done type, the done event's text field, the key naming the stream within its item)
_TEXT_STREAMS = {
    "response.output_text.delta": ("response.output_text.done", "text", "content_index"),
    "response.refusal.delta": ("response.refusal.done", "refusal", "content_index"),
    "response.function_call_arguments.delta": ("response.function_call_arguments.done", "arguments", None),
    "response.reasoning.delta": ("response.reasoning.done", "text", "content_index"),
    "response.reasoning_text.delta": ("response.reasoning_text.done", "text", "content_index"),
    "response.reasoning_summary_text.delta": (
        "response.reasoning_summary_text.done",
        "text",
        "summary_index",
    ),
}
_DONE_TYPES = {done: (field_, key) for done, field_, key in _TEXT_STREAMS.values()}


@dataclass
class SseStream:
    events: list[dict[str, Any]] = field(default_factory=list)
    event_names: list[str | None] = field(default_factory=list)  # each frame's `event:` line
    done: bool = False  # a `data: [DONE]` frame was seen
    comments: int = 0  # `:` comment frames (keep-alives)
    problems: list[str] = field(default_factory=list)  # framing problems


def read_sse(body: bytes) -> SseStream:
    """Parses a stream as decision 5 frames it: LF-only `event:`/`data:` frames, one JSON line each."""
    stream = SseStream()
    if b"\r" in body:
        stream.problems.append("the stream contains CR characters; frames must be LF-only")
    blocks = body.split(b"\n\n")
    if blocks[-1]:
        stream.problems.append("the stream does not end with a complete frame")
    for block in blocks[:-1]:
        lines = block.split(b"\n")
        if all(line.startswith(b":") for line in lines):
            stream.comments += 1
            continue
        fields = dict(line.split(b": ", 1) for line in lines if b": " in line)
        if len(fields) != len(lines):
            stream.problems.append(f"malformed frame {block[:80]!r}")
            continue
        if stream.done:
            stream.problems.append("a frame follows data: [DONE]")
        if fields.get(b"data") == b"[DONE]":
            stream.done = True
            continue
        event = orjson.loads(fields[b"data"])
        stream.events.append(event)
        name = fields.get(b"event")
        stream.event_names.append(name.decode() if name is not None else None)
        if name is not None and name.decode() != event.get("type"):
            stream.problems.append(f"event: {name.decode()} differs from its data's type {event.get('type')}")
    return stream


def stream_problems(events: list[dict[str, Any]], *, replay_from: int = 0) -> list[str]:
    """Every ordering rule the events break; empty when the stream is sound. `replay_from` is the
    first sequence number expected (a replay with starting_after=N starts at N+1); rules that need
    the events before it are checked only for a whole stream."""
    if not events:
        return ["the stream has no events"]
    whole = replay_from == 0
    problems = _stream_level_problems(events, replay_from, whole)
    items = _ItemRules(whole)
    for n, event in enumerate(events):
        following = events[n + 1]["type"] if n + 1 < len(events) else None
        items.check(f"event {event.get('sequence_number', n)} ({event['type']})", event, following)
    problems += items.problems
    if whole and events[-1]["type"] in TERMINAL:
        problems += items.closing_problems(events[-1]["response"])
    return problems


def _stream_level_problems(events: list[dict[str, Any]], replay_from: int, whole: bool) -> list[str]:
    """Sequence numbers, the first and the terminal event, one response throughout."""
    problems: list[str] = []
    numbers = [e.get("sequence_number") for e in events]
    if numbers != list(range(replay_from, replay_from + len(events))):
        problems.append(f"sequence numbers are not contiguous from {replay_from}: {numbers[:12]}...")
    if whole and events[0]["type"] != "response.created":
        problems.append(f"the first event is {events[0]['type']}, not response.created")
    terminals = [n for n, e in enumerate(events) if e["type"] in TERMINAL]
    if len(terminals) != 1 or terminals[0] != len(events) - 1:
        problems.append(f"expected exactly one terminal event, last; found them at {terminals}")
    response_ids = {e["response"]["id"] for e in events if "response" in e}
    if len(response_ids) > 1:
        problems.append(f"lifecycle events name different responses: {sorted(response_ids)}")
    return problems


class _ItemRules:
    """The rules of the item events, checked one event at a time."""

    def __init__(self, whole: bool) -> None:
        self.whole = whole
        self.problems: list[str] = []
        self.items: dict[int, dict[str, Any]] = {}  # output_index -> the item announced
        self.finished: dict[int, dict[str, Any]] = {}
        self.texts: dict[tuple[int, str, int], str] = {}

    def check(self, where: str, event: dict[str, Any], following: str | None) -> None:
        kind = event["type"]
        if kind == "error" and following is not None and following != "response.failed":
            self.problems.append(f"{where}: an error event must be followed by response.failed")
        if kind in LIFECYCLE or kind in TERMINAL or kind == "error":
            return
        index = event.get("output_index")
        if not isinstance(index, int):
            self.problems.append(f"{where}: {kind} has no output_index")
        elif kind == "response.output_item.added":
            if self.whole and index != len(self.items):
                self.problems.append(
                    f"{where}: output_index {index}, expected {len(self.items)} (contiguous from 0)"
                )
            self.items[index] = event["item"]
        elif index not in self.items:
            if self.whole:
                self.problems.append(
                    f"{where}: output_index {index} was never announced by output_item.added"
                )
        else:
            self._announced_item_event(where, kind, index, event)

    def _announced_item_event(self, where: str, kind: str, index: int, event: dict[str, Any]) -> None:
        if index in self.finished:
            self.problems.append(f"{where}: output_index {index} was already done")
        item = self.items[index]
        if "item_id" in event and event["item_id"] != item.get("id"):
            self.problems.append(
                f"{where}: item_id {event['item_id']} is not the announced item's id {item.get('id')}"
            )
        if kind == "response.output_item.done":
            done_item = event["item"]
            if (done_item.get("id"), done_item.get("type")) != (item.get("id"), item.get("type")):
                self.problems.append(f"{where}: the finished item is not the one announced")
            self.finished[index] = done_item
        elif kind in _TEXT_STREAMS:
            key = _TEXT_STREAMS[kind][2]
            slot = (index, _TEXT_STREAMS[kind][0], event[key] if key else 0)
            self.texts[slot] = self.texts.get(slot, "") + event["delta"]
        elif kind in _DONE_TYPES:
            field_, key = _DONE_TYPES[kind]
            streamed = self.texts.get((index, kind, event[key] if key else 0), "")
            if self.whole and streamed != event[field_]:
                self.problems.append(
                    f"{where}: the deltas add up to {streamed[:40]!r}, not {event[field_][:40]!r}"
                )

    def closing_problems(self, response: dict[str, Any]) -> list[str]:
        """What the terminal event of a whole stream shows about the items streamed."""
        problems = []
        unfinished = sorted(set(self.items) - set(self.finished))
        if unfinished:
            problems.append(f"items {unfinished} were announced but never done")
        final = response.get("output")
        if final is not None and final != [self.finished[i] for i in sorted(self.finished)]:
            problems.append("the terminal response's output differs from the items streamed")
        return problems
