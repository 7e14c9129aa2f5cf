"""Turns a validated request into a Plan: resolve state, generate the reply, count tokens."""

from __future__ import annotations

import hashlib
import random
from typing import Any

from emulator.clock import Clock
from emulator.contract.echo import TEMPLATE, echo, normalise_input
from emulator.contract.errors import ApiError, bad_field
from emulator.engine import tokens
from emulator.engine.plan import ItemPlan, Plan
from emulator.engine.textgen import TextGenerator, request_digest
from emulator.engine.timing import PROFILES, Timing
from emulator.ids import IdSource
from emulator.state.responses import Conversation, ResponseStore

NEW_CONVERSATION = Conversation()
INSTANT = PROFILES["instant"]


class Planner:
    def __init__(
        self, *, seed: int, clock: Clock, ids: IdSource, store: ResponseStore, text: TextGenerator
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.ids = ids
        self.store = store
        self.text = text

    def plan(self, request: dict[str, Any], timing: Timing = INSTANT) -> Plan:
        """The Plan for one create request, paced by `timing`."""
        history = self._history(request.get("previous_response_id"))
        created_at = int(self.clock.now())
        response_id = self.ids.prefixed("resp")
        input_items = normalise_input(request.get("input"), self.ids)
        _check_call_ids(input_items, history)

        digest = request_digest(self.seed, request)
        limit = request.get("max_output_tokens")
        budget = limit if limit is not None else -1
        thinking = self._reasoning(request, digest, budget)
        if thinking is not None:
            budget = max(budget - len(thinking[0]), 0) if limit is not None else -1
        pieces = self.text.reply(digest)
        status, incomplete = "completed", None
        if limit is not None and (len(pieces) > budget or (thinking and thinking[2])):
            pieces = pieces[:budget]
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        streams: list[tuple[dict[str, Any], list[list[str]]]] = []
        if thinking is not None:
            streams.append((thinking[1], [thinking[0], *([thinking[3]] if thinking[3] else [])]))
        message = None
        if pieces or thinking is None:
            message = {
                "type": "message",
                "id": self.ids.prefixed("msg"),
                "status": status,
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": "".join(pieces), "annotations": [], "logprobs": []}
                ],
            }
            streams.append((message, [pieces]))
        output = [item for item, _ in streams]

        turn_tokens = tokens.count_items(input_items)
        input_tokens = (
            tokens.count_recurring(request.get("instructions", ""))
            + history.tokens
            + turn_tokens
            + tokens.count_tools(request.get("tools", []))
        )
        reasoning_tokens = len(thinking[0]) if thinking is not None else 0
        output_tokens = len(pieces) + reasoning_tokens
        trace_id, span_id = self.ids.trace()
        response = TEMPLATE | echo(request)
        response.update(
            id=response_id,
            created_at=created_at,
            completed_at=created_at,
            status=status,
            incomplete_details=incomplete,
            input=input_items,
            output=output,
            usage=usage(input_tokens, output_tokens, reasoning_tokens),
            telemetry={"trace_id": trace_id, "span_id": span_id},
        )
        context_tokens = tokens.ITEM_OVERHEAD + len(pieces) if message is not None else 0
        conversation = history.extended([*input_items, *output], turn_tokens + context_tokens)
        if timing is INSTANT:
            items = [ItemPlan(item, pieces=item_pieces) for item, item_pieces in streams]
            return Plan(response=response, items=items, conversation=conversation)
        return _paced(response, streams, conversation, timing, random.Random(digest))

    def _reasoning(
        self, request: dict[str, Any], digest: bytes, budget: int
    ) -> tuple[list[str], dict[str, Any], bool, list[str]] | None:
        """A reasoning item when the request asks for reasoning: (its tokens, the item, whether
        the output budget cut it, its summary's tokens)."""
        asked = request.get("reasoning")
        if not asked or asked.get("effort") in (None, "none"):
            return None
        thought = self.text.reply(hashlib.shake_128(b"reasoning" + digest).digest(len(digest)))
        cut = 0 <= budget < len(thought)
        if cut:
            thought = thought[:budget]
        summary: list[str] = []
        if asked.get("summary") and thought:
            end = thought.index(".") + 1 if "." in thought else len(thought)
            summary = thought[:end]
        item: dict[str, Any] = {
            "type": "reasoning",
            "id": self.ids.prefixed("rs"),
            "status": "incomplete" if cut else "completed",
            "summary": [{"type": "summary_text", "text": "".join(summary)}] if summary else [],
            "content": [{"type": "reasoning_text", "text": "".join(thought)}],
        }
        return thought, item, cut, summary

    def _history(self, previous_id: str | None) -> Conversation:
        if previous_id is None:
            return NEW_CONVERSATION
        stored = self.store.get(previous_id)
        if stored is not None and stored.conversation is not None:
            return stored.conversation
        if stored is not None:
            why = "is still in progress; continue it once it has finished"
        elif self.store.was_unstored(previous_id):
            why = "was created with store:false, so it cannot be continued"
        else:
            why = "was not found (never created here, or evicted)"
        raise ApiError(
            400, "previous_response_not_found",
            f"Previous response with id '{previous_id}' {why}.", "/previous_response_id",
        )  # fmt: skip


def _paced(
    response: dict[str, Any],
    streams: list[tuple[dict[str, Any], list[list[str]]]],
    conversation: Conversation,
    timing: Timing,
    rng: random.Random,
) -> Plan:
    """The Plan with each stream chunked and every wait drawn from `timing`."""
    first_delay = timing.first_delay(rng)
    chunked = [(item, [timing.chunks(s) for s in item_streams]) for item, item_streams in streams]
    gaps = timing.gaps([s for _, item_streams in chunked for s in item_streams], rng)
    items, at = [], 0
    for item, item_streams in chunked:
        items.append(ItemPlan(item, pieces=item_streams, delays=gaps[at : at + len(item_streams)]))
        at += len(item_streams)
    return Plan(response=response, items=items, conversation=conversation, first_delay=first_delay)


def usage(input_tokens: int, output_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
    """Usage with every counter any client requires (contract decision 3)."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_creation_tokens": 0, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def _check_call_ids(items: list[dict[str, Any]], history: Conversation) -> None:
    """Every function_call_output must answer a function_call of this conversation (decision 4)."""
    answers = [(n, i["call_id"]) for n, i in enumerate(items) if i["type"] == "function_call_output"]
    if not answers:
        return
    known = history.call_ids | {i["call_id"] for i in items if i["type"] == "function_call"}
    for index, call_id in answers:
        if call_id not in known:
            raise bad_field(
                f"/input/{index}/call_id",
                f"/input/{index}/call_id '{call_id}' answers no function_call of this "
                "conversation; send the function_call item too, or continue with previous_response_id",
            )
