"""Item kinds: everything that differs between one type of item and another, one class per kind.

An output item streams one text per part, its "streams", in this order: a message, each content
part (`output_text` or `refusal`); a function call, its arguments; a reasoning item, each `content`
text, then each `summary` text; an MCP call, its arguments. Platform tool items (`orq:*`), MCP
tool listings and web searches stream nothing but their progress events. A kind says how its
item is announced and streamed, which of its streams cost output tokens, how it reads when a stream
is cut short, and the prefix of its id. Adding a kind of item is adding a class here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.engine import tokens
from emulator.engine.events import PlanEvent
from emulator.ids import IdSource

Item = dict[str, Any]


@dataclass(slots=True, init=False)
class ItemPlan:
    """One output item: its final form, and the pieces each of its streams is sent in.

    `pieces[s]` are the deltas of the item's stream `s` (see the module docstring);
    `delays[s][j]` is the wait before `pieces[s][j]` (missing delays mean no waiting);
    `delay_before` is an explicit wait before the item is announced.
    """

    item: Item
    pieces: list[list[str]]
    delays: list[list[float]]
    delay_before: float
    kind: ItemKind  # of the item's type, which never changes

    def __init__(
        self,
        item: Item,
        pieces: list[list[str]] | None = None,
        delays: list[list[float]] | None = None,
        delay_before: float = 0.0,
    ) -> None:  # written out: built for every item of every response, so no __post_init__ call
        self.item = item
        self.pieces = [] if pieces is None else pieces
        self.delays = [] if delays is None else delays
        self.delay_before = delay_before
        self.kind = kind_of(item["type"])

    def stream(self, index: int) -> Iterator[tuple[str, float]]:
        pieces = self.pieces[index] if index < len(self.pieces) else []
        delays = self.delays[index] if index < len(self.delays) else [0.0] * len(pieces)
        return zip(pieces, delays, strict=True)

    def partial(self, sent: list[int | None]) -> ItemPlan:
        """This item as far as it got: `sent[s]` pieces of stream s (None: never started)."""
        item = self.kind.cut(self.item, self.pieces, sent)
        return ItemPlan(item, [p[:n] for p, n in zip(self.pieces, sent, strict=True) if n is not None])

    def events(self, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        """This item's events at `output_index` `index`: announced, streamed, done."""
        item = self.item
        kind = self.kind
        added = {"output_index": index, "item": kind.announced(item)}
        yield PlanEvent("response.output_item.added", added, self.delay_before, index)
        yield from kind.stream_events(self, index, reasoning)
        yield PlanEvent("response.output_item.done", {"output_index": index, "item": item}, 0.0, index)


class ItemKind:
    """An item type that streams nothing (input items, and the base of every kind)."""

    id_prefix = "item"
    mints_call_id = False  # the planner gives the item a call_id when it has none
    awaits_client = False  # a turn ending with it waits for the client (decision 4)
    reasoning = False  # its billed tokens are reasoning tokens, not context

    def texts(self, item: Item) -> list[str]:
        """The final text of each of the item's streams, in stream order."""
        return []

    def input_tokens(self, item: Item) -> int:
        """What the item costs as input, framing aside (`input_tokens` adds it)."""
        return tokens.count(orjson.dumps(item).decode())

    def with_texts(self, item: Item, texts: list[str]) -> Item:
        """A copy of the item with its streams' texts set, in `texts` order (their inverse)."""
        return dict(item)

    def billed(self, item: Item) -> int:
        """How many of the leading streams cost output tokens; the rest restate them, free."""
        return len(self.texts(item))

    def announced(self, item: Item) -> Item:
        """The item as `output_item.added` shows it, before any of its text."""
        return {**item, "status": "in_progress"}

    def stream_events(self, plan: ItemPlan, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        return iter(())

    def cut(self, item: Item, pieces: list[list[str]], sent: list[int | None]) -> Item:
        """The item as a client saw it when its streams stopped after `sent[s]` pieces."""
        texts = ["".join(p[: n or 0]) for p, n in zip(pieces, sent, strict=True)]
        cut = self.unstarted_dropped(self.with_texts(item, texts), pieces, sent)
        cut["status"] = "incomplete"
        return cut

    def unstarted_dropped(self, item: Item, pieces: list[list[str]], sent: list[int | None]) -> Item:
        """The item without the parts whose streams never started."""
        return item


class MessageKind(ItemKind):
    id_prefix = "msg"

    def input_tokens(self, item: Item) -> int:
        return tokens.count_content(item.get("content"))

    def texts(self, item: Item) -> list[str]:
        return [p.get("text") or p.get("refusal") or "" for p in item["content"]]

    def with_texts(self, item: Item, texts: list[str]) -> Item:
        content = [
            {**p, "refusal": t} if p["type"] == "refusal" else {**p, "text": t}
            for p, t in zip(item["content"], texts, strict=True)
        ]
        return {**item, "content": content}

    def billed(self, item: Item) -> int:
        return len(item["content"])  # every part: without building their texts

    def announced(self, item: Item) -> Item:
        return {**item, "status": "in_progress", "content": []}

    def unstarted_dropped(self, item: Item, pieces: list[list[str]], sent: list[int | None]) -> Item:
        # A text cut short loses its annotations: they may point past its end.
        item["content"] = [
            {**p, "annotations": [], "logprobs": p.get("logprobs", [])[:n]}
            if "annotations" in p and n < len(pieces[s])
            else p
            for s, (p, n) in enumerate(zip(item["content"], sent, strict=True))
            if n is not None
        ]
        return item

    def stream_events(self, plan: ItemPlan, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        item = plan.item
        at = {"item_id": item["id"], "output_index": index}
        for s, part in enumerate(item["content"]):
            where = {**at, "content_index": s}
            if part["type"] == "refusal":
                added = {**where, "part": {"type": "refusal", "refusal": ""}}
                yield PlanEvent("response.content_part.added", added, 0.0, index, s)
                for piece, delay in plan.stream(s):
                    yield PlanEvent("response.refusal.delta", {**where, "delta": piece}, delay, index, s)
                yield PlanEvent("response.refusal.done", {**where, "refusal": part["refusal"]}, 0.0, index, s)
            else:
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                yield PlanEvent("response.content_part.added", {**where, "part": empty}, 0.0, index, s)
                entries = part.get("logprobs") or []
                for k, (piece, delay) in enumerate(plan.stream(s)):
                    delta = {**where, "delta": piece, "logprobs": entries[k : k + 1] if entries else []}
                    yield PlanEvent("response.output_text.delta", delta, delay, index, s)
                for n, annotation in enumerate(part["annotations"]):
                    cited = {**where, "annotation_index": n, "annotation": annotation}
                    yield PlanEvent("response.output_text.annotation.added", cited, 0.0, index, s)
                done = {**where, "text": part["text"], "logprobs": entries}
                yield PlanEvent("response.output_text.done", done, 0.0, index, s)
            yield PlanEvent("response.content_part.done", {**where, "part": part}, 0.0, index, s)


class FunctionCallKind(ItemKind):
    id_prefix = "fc"
    mints_call_id = True
    awaits_client = True

    def input_tokens(self, item: Item) -> int:
        return tokens.count(item.get("name", "")) + tokens.count(item.get("arguments", ""))

    def texts(self, item: Item) -> list[str]:
        return [item["arguments"]]

    def with_texts(self, item: Item, texts: list[str]) -> Item:
        return {**item, "arguments": texts[0]}

    def billed(self, item: Item) -> int:
        return 1

    def announced(self, item: Item) -> Item:
        return {**item, "status": "in_progress", "arguments": ""}

    def stream_events(self, plan: ItemPlan, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        item = plan.item
        at = {"item_id": item["id"], "output_index": index}
        for piece, delay in plan.stream(0):
            yield PlanEvent("response.function_call_arguments.delta", {**at, "delta": piece}, delay, index, 0)
        done = {**at, "name": item["name"], "arguments": item["arguments"]}
        yield PlanEvent("response.function_call_arguments.done", done, 0.0, index, 0)


class ReasoningKind(ItemKind):
    id_prefix = "rs"
    reasoning = True

    def texts(self, item: Item) -> list[str]:
        return [p["text"] for p in (item.get("content") or [])] + [p["text"] for p in item["summary"]]

    def with_texts(self, item: Item, texts: list[str]) -> Item:
        parts = iter(texts)  # content first, then summary
        changed = {}
        if "content" in item:
            changed["content"] = [{**p, "text": next(parts)} for p in item["content"]]
        changed["summary"] = [{**p, "text": next(parts)} for p in item["summary"]]
        return {**item, **changed}

    def billed(self, item: Item) -> int:
        return len(item.get("content") or [])  # a summary restates the reasoning: it is free

    def announced(self, item: Item) -> Item:
        announced = {**item, "status": "in_progress", "summary": []}
        if "content" in item:
            announced["content"] = []
        return announced

    def unstarted_dropped(self, item: Item, pieces: list[list[str]], sent: list[int | None]) -> Item:
        contents = len(item.get("content") or [])  # content streams come first
        if "content" in item:
            item["content"] = [p for p, n in zip(item["content"], sent, strict=False) if n is not None]
        item["summary"] = [p for p, n in zip(item["summary"], sent[contents:], strict=True) if n is not None]
        return item

    def stream_events(self, plan: ItemPlan, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        item = plan.item
        at = {"item_id": item["id"], "output_index": index}
        content = item.get("content") or []
        delta_type, done_type = reasoning
        for s, part in enumerate(content):
            where = {**at, "content_index": s}
            for piece, delay in plan.stream(s):
                yield PlanEvent(delta_type, {**where, "delta": piece}, delay, index, s)
            yield PlanEvent(done_type, {**where, "text": part["text"]}, 0.0, index, s)
        for n, part in enumerate(item["summary"]):
            s = len(content) + n
            where = {**at, "summary_index": n}
            empty = {"type": "summary_text", "text": ""}
            yield PlanEvent("response.reasoning_summary_part.added", {**where, "part": empty}, 0.0, index, s)
            for piece, delay in plan.stream(s):
                delta = {**where, "delta": piece}
                yield PlanEvent("response.reasoning_summary_text.delta", delta, delay, index, s)
            done = {**where, "text": part["text"]}
            yield PlanEvent("response.reasoning_summary_text.done", done, 0.0, index, s)
            yield PlanEvent("response.reasoning_summary_part.done", {**where, "part": part}, 0.0, index, s)


class PlatformToolKind(ItemKind):
    """orq's platform tool results (`orq:*`, contract section 3.2): `msg_` ids, as orq's docs show."""

    id_prefix = "msg"
    mints_call_id = True


class McpListToolsKind(ItemKind):
    """The tools an MCP server offers, listed before the first call of them (OpenAI's shape)."""

    id_prefix = "mcpl"

    def announced(self, item: Item) -> Item:
        return {**item, "tools": []}

    def stream_events(self, plan: ItemPlan, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        at = {"item_id": plan.item["id"], "output_index": index}
        yield PlanEvent("response.mcp_list_tools.in_progress", at, 0.0, index)
        yield PlanEvent("response.mcp_list_tools.completed", at, 0.0, index)


class McpCallKind(FunctionCallKind):
    """A call of an MCP server's tool, run inside the turn: its arguments stream as a function's
    do, and the item is done with the server's output."""

    id_prefix = "mcp"
    mints_call_id = False
    awaits_client = False

    def announced(self, item: Item) -> Item:
        return {**item, "status": "in_progress", "arguments": "", "output": None}

    def stream_events(self, plan: ItemPlan, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        item = plan.item
        at = {"item_id": item["id"], "output_index": index}
        yield PlanEvent("response.mcp_call.in_progress", at, 0.0, index)
        for piece, delay in plan.stream(0):
            yield PlanEvent("response.mcp_call_arguments.delta", {**at, "delta": piece}, delay, index, 0)
        done = {**at, "arguments": item["arguments"]}
        yield PlanEvent("response.mcp_call_arguments.done", done, 0.0, index, 0)
        yield PlanEvent("response.mcp_call.completed", at, 0.0, index)


class WebSearchCallKind(ItemKind):
    """OpenAI's hosted web search (`web_search`, `web_search_preview`): announced, searching, done."""

    id_prefix = "ws"

    def stream_events(self, plan: ItemPlan, index: int, reasoning: tuple[str, str]) -> Iterator[PlanEvent]:
        at = {"item_id": plan.item["id"], "output_index": index}
        for step in ("in_progress", "searching", "completed"):
            yield PlanEvent(f"response.web_search_call.{step}", at, 0.0, index)


class FunctionCallOutputKind(ItemKind):
    id_prefix = "fco"

    def input_tokens(self, item: Item) -> int:
        return tokens.count_content(item.get("output"))


KINDS: dict[str, ItemKind] = {
    "message": MessageKind(),
    "function_call": FunctionCallKind(),
    "reasoning": ReasoningKind(),
    "function_call_output": FunctionCallOutputKind(),
    "mcp_list_tools": McpListToolsKind(),
    "mcp_call": McpCallKind(),
    "web_search_call": WebSearchCallKind(),
}
PLATFORM_TOOL = PlatformToolKind()
OTHER = ItemKind()


def kind_of(item_type: str) -> ItemKind:
    found = KINDS.get(item_type)
    if found is not None:
        return found
    return PLATFORM_TOOL if item_type.startswith("orq:") else OTHER


# Constructors for the items backends produce: ids are left to the planner (`"id": None` after the
# type, so the id lands second), each stream's pieces are its text's tokens.


def message_plan(parts: list[tuple[str, list[str], list[Item]]], delay_before: float = 0.0) -> ItemPlan:
    """An assistant message from (part type, tokens, annotations) parts: output_text or refusal."""
    content: list[Item] = [
        {"type": "refusal", "refusal": "".join(pieces)}
        if part_type == "refusal"
        else _output_text("".join(pieces), cited)
        for part_type, pieces, cited in parts
    ]
    return ItemPlan(_assistant(content), [pieces for _, pieces, _ in parts], delay_before=delay_before)


def text_message_plan(pieces: list[str]) -> ItemPlan:
    """An assistant message of one text, from its tokens: `message_plan`'s commonest case (the
    default backend's every answer), built without its general machinery."""
    return ItemPlan(_assistant([_output_text("".join(pieces), [])]), [pieces])


def _assistant(content: list[Item]) -> Item:
    return {"type": "message", "id": None, "status": "completed", "role": "assistant", "content": content}


def _output_text(text: str, annotations: list[Item]) -> Item:
    return {"type": "output_text", "text": text, "annotations": annotations, "logprobs": []}


def reasoning_plan(
    content: list[str] | None, summary: list[str] | None, delay_before: float = 0.0
) -> ItemPlan:
    """A reasoning item from the tokens of its content text and/or its summary."""
    item: Item = {"type": "reasoning", "id": None, "status": "completed", "summary": []}
    streams = []
    if content is not None:
        item["content"] = [{"type": "reasoning_text", "text": "".join(content)}]
        streams.append(content)
    if summary is not None:
        item["summary"] = [{"type": "summary_text", "text": "".join(summary)}]
        streams.append(summary)
    return ItemPlan(item, streams, delay_before=delay_before)


def function_call_plan(name: str, arguments: list[str], delay_before: float = 0.0) -> ItemPlan:
    """A call of the user's function `name`, from the tokens of its arguments (the planner mints
    its call_id)."""
    item = {"type": "function_call", "id": None, "name": name, "arguments": "".join(arguments),
            "status": "completed"}  # fmt: skip
    return ItemPlan(item, [arguments], delay_before=delay_before)


def platform_tool_plan(tool: str, arguments: str | None, result: Any, delay_before: float = 0.0) -> ItemPlan:
    """The result of an orq platform tool (`orq:<name>`) the router ran itself."""
    item: Item = {"type": tool, "id": None, "name": tool.removeprefix("orq:"), "status": "completed"}
    if arguments is not None:
        item["arguments"] = arguments
    item["result"] = result
    return ItemPlan(item, [], delay_before=delay_before)


def mcp_plans(label: str, listed: list[Item], name: str, arguments: list[str], output: str) -> list[ItemPlan]:
    """An MCP server's tools listed, then one of them called with `arguments` (its tokens)."""
    listing = {"type": "mcp_list_tools", "id": None, "server_label": label, "tools": listed}
    call = {"type": "mcp_call", "id": None, "server_label": label, "name": name,
            "arguments": "".join(arguments), "output": output, "error": None,
            "status": "completed"}  # fmt: skip
    return [ItemPlan(listing), ItemPlan(call, [arguments])]


def web_search_plan(query: str, urls: list[str]) -> ItemPlan:
    """A web search for `query` that found `urls`."""
    action = {"type": "search", "query": query, "sources": [{"type": "url", "url": u} for u in urls]}
    return ItemPlan({"type": "web_search_call", "id": None, "status": "completed", "action": action})


def input_tokens(items: Iterable[Item]) -> int:
    """Tokens of input items: each one's own, and the framing chat formats add around each."""
    total = 0
    for item in items:  # a loop, not sum() over a generator: this runs on every request
        total += tokens.ITEM_OVERHEAD + kind_of(item.get("type", "message")).input_tokens(item)
    return total


def content_text(content: Any) -> str:
    """A message's content (a string, or parts) as one text."""
    if isinstance(content, str):
        return content
    return "\n".join(p.get("text", "") for p in content or () if isinstance(p, dict))


def last_user_message(items: list[Item]) -> str:
    """The text of the last user message among normalised input items ("" when there is none)."""
    for item in reversed(items):
        if item["type"] == "message" and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, list) and len(content) == 1 and isinstance(part := content[0], dict):
                text: str = part.get("text", "")  # one part (most messages): no join, no call
                return text
            return content_text(content)
    return ""


def normalise_input(raw: str | list[Item] | None, ids: IdSource) -> list[Item]:
    """Input as typed items with ids: a string becomes one user message; string content becomes
    one text part (`output_text` for assistant turns, `input_text` otherwise)."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    items = []
    for item in raw:
        kind = item.get("type", "message")
        normalised = {"type": kind, "id": None, **item}  # type and id first, whatever was sent
        if not normalised["id"]:
            normalised["id"] = ids.prefixed(kind_of(kind).id_prefix)
        if kind == "message" and isinstance(item["content"], str):
            part = "output_text" if item["role"] == "assistant" else "input_text"
            text_part: Item = {"type": part, "text": item["content"]}
            if part == "output_text":
                text_part.update(annotations=[], logprobs=[])
            normalised["content"] = [text_part]
        items.append(normalised)
    return items
