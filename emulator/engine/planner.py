"""Turns a validated request into a Plan: resolve state, ask the backend, count tokens, pace.

The backend (emulator.engine.backend) says what the model outputs; the planner does the rest the
same way for every backend: ids, the `previous_response_id` history, `max_output_tokens`
truncation, usage, the echo of the request, and the timing of every piece.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from emulator.clock import Clock
from emulator.contract.echo import TEMPLATE, echo
from emulator.contract.errors import ApiError, bad_field
from emulator.engine import function_calls, logprobs, tokens
from emulator.engine import items as kinds
from emulator.engine.backend import Call, Turn
from emulator.engine.items import ItemPlan, normalise_input
from emulator.engine.plan import Plan
from emulator.engine.textgen import request_digest
from emulator.engine.timing import PROFILES, Timing, parse_timing
from emulator.engine.world import World, Worlds
from emulator.ids import UNCOUNTED, IdSource
from emulator.state.responses import Conversation

NEW_CONVERSATION = Conversation()
INSTANT = PROFILES["instant"]
NO_HEADERS: Mapping[str, str] = {}


class Planner:
    """Ids, history, truncation, usage, the echo and pacing: the same for every backend's turn."""

    def __init__(
        self,
        *,
        seed: int,
        clock: Clock,
        worlds: Worlds,
        function_call_status: str = "auto",
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.worlds = worlds  # each session's state: its ids, its stored responses...
        self.function_call_status = function_call_status  # contract decision 4

    def call(
        self,
        request: dict[str, Any],
        headers: Mapping[str, str] = NO_HEADERS,
        timing: Timing = INSTANT,
        shape: str | None = None,
        world: World | None = None,
    ) -> Call:
        """The request as a backend sees it, in its session's `world` (None: the default one): its
        history resolved, its input items given ids, and the response's id and creation time taken
        (before the output's, as ids always come)."""
        world = world or self.worlds.default
        history = _history(request, world)
        created_at = int(self.clock.now())
        ids = world.ids
        response_id = ids.prefixed("resp")
        input_items = normalise_input(request.get("input"), ids)
        _check_call_ids(input_items, history)
        digest = request_digest(self.seed, request)
        call = Call(request, headers, history, digest, input_items, timing, response_id, created_at)
        call.shape = shape
        call.world = world
        return call

    def input_tokens(self, request: dict[str, Any], world: World) -> int:
        """What a create with this body would count as input tokens (`usage.input_tokens`), without
        creating anything: no ids are drawn."""
        history = _history(request, world)
        return _input_tokens(
            request, history, kinds.input_tokens(normalise_input(request.get("input"), UNCOUNTED))
        )

    def plan(self, call: Call, turn: Turn, adjust: str | None = None) -> Plan:
        """The Plan for a backend's turn, paced by the call's timing unless the turn says
        otherwise; `adjust` (the request's x-emulator-timing spec) has the last word."""
        request, history, input_items = call.request, call.history, call.input_items
        items, cut, truncated = _within(turn.items, request.get("max_output_tokens"))
        ids = call.world.ids if call.world is not None else self.worlds.default.ids
        output = [_complete(item, n == cut, ids) for n, item in enumerate(items)]
        if (alternatives := logprobs.asked(request)) is not None:
            logprobs.attach(items, alternatives)
        status, incomplete = turn.status, None
        if truncated:
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        elif status == "incomplete":
            incomplete = {"reason": turn.incomplete_reason or "max_output_tokens"}
        elif status == "completed" and output and items[-1].kind.awaits_client:
            status = function_calls.status_for(self.function_call_status, call.headers)

        turn_tokens = kinds.input_tokens(input_items)
        input_tokens = _input_tokens(request, history, turn_tokens)
        reasoning_tokens = output_tokens = context_tokens = 0
        for item in items:
            kind = item.kind
            billed, pieces = kind.billed(item.item), item.pieces
            counted = sum(map(len, pieces if billed >= len(pieces) else pieces[:billed]))
            if kind.reasoning:
                reasoning_tokens += counted
            else:
                context_tokens += tokens.ITEM_OVERHEAD + counted
            output_tokens += counted
        trace_id, span_id = ids.trace()
        response = TEMPLATE | echo(request)
        response["id"] = call.response_id
        response["created_at"] = response["completed_at"] = call.created_at
        response["status"] = status
        response["incomplete_details"] = incomplete
        response["error"] = turn.error if status == "failed" else None
        response["input"] = input_items
        response["output"] = output
        response["usage"] = usage(input_tokens, output_tokens, reasoning_tokens, turn.usage)
        response["telemetry"] = {"trace_id": trace_id, "span_id": span_id}
        conversation = history.extended((input_items, output), turn_tokens + context_tokens)
        plan = Plan(
            response=response,
            items=items,
            conversation=conversation,
        )
        timing = turn.timing or call.timing
        if adjust is not None:
            timing = parse_timing(adjust, timing)
        if timing is not INSTANT:
            _pace(plan, timing, random.Random(call.digest))
        return plan


def _complete(plan: ItemPlan, cut: bool, ids: IdSource) -> dict[str, Any]:
    """The item with its ids and, if the output budget cut it, its shortened texts."""
    kind = plan.kind
    if cut:
        plan.item = kind.with_texts(plan.item, ["".join(stream) for stream in plan.pieces])
        plan.item["status"] = "incomplete"
    item = plan.item
    if item["id"] is None:  # a cached answer's items keep theirs
        item["id"] = ids.prefixed(kind.id_prefix)
    if kind.mints_call_id and "call_id" not in item:
        item["call_id"] = ids.call_id()
    return item


def _history(request: dict[str, Any], world: World) -> Conversation:
    """What the turn continues: the `previous_response_id` chain, or its `conversation`."""
    previous_id = request.get("previous_response_id")
    if previous_id is None:
        conversation = request.get("conversation")
        if conversation is not None:
            return world.conversations.context_of(conversation["id"])
        return NEW_CONVERSATION
    stored = world.store.get(previous_id)
    if stored is not None and stored.conversation is not None:  # None while in progress
        return stored.conversation
    if stored is not None:
        why = "is still in progress; continue it once it has finished"
    elif world.store.was_unstored(previous_id):
        why = "was created with store:false, so it cannot be continued"
    else:
        why = "was not found (never created here, or evicted)"
    raise ApiError(
        400, "previous_response_not_found",
        f"Previous response with id '{previous_id}' {why}.", "/previous_response_id",
    )  # fmt: skip


def _input_tokens(request: dict[str, Any], history: Conversation, turn_tokens: int) -> int:
    """usage.input_tokens: the instructions, the conversation so far, this turn's input, the tools."""
    return (
        tokens.count_recurring(request.get("instructions", ""))
        + history.tokens
        + turn_tokens
        + tokens.count_tools(request.get("tools", []))
    )


def _within(items: list[ItemPlan], limit: int | None) -> tuple[list[ItemPlan], int | None, bool]:
    """The items as far as `max_output_tokens` allows, which of them it cut (if one), and whether
    it stopped the output short. Streams spend the budget in order; the streams an item's kind
    does not bill (a reasoning summary) are free."""
    if limit is None:
        return items, None, False
    kept: list[ItemPlan] = []
    budget = limit
    for n, plan in enumerate(items):
        billed = plan.kind.billed(plan.item)
        streams: list[list[str]] = []
        for s, stream in enumerate(plan.pieces):
            if s >= billed:
                streams.append(stream)
                continue
            streams.append(stream[:budget])
            budget -= len(streams[-1])
            if len(stream) > len(streams[-1]):
                rest: list[list[str]] = [[] for _ in plan.pieces[s + 1 :]]
                kept.append(ItemPlan(plan.item, streams + rest, delay_before=plan.delay_before))
                return kept, n, True
        kept.append(ItemPlan(plan.item, streams, delay_before=plan.delay_before))
        if budget == 0 and n + 1 < len(items):
            return kept, None, True
    return kept, None, False


def _pace(plan: Plan, timing: Timing, rng: random.Random) -> None:
    """Chunks every stream of the Plan and draws every wait from `timing`."""
    plan.first_delay = timing.first_delay(rng)
    if plan.response["background"]:
        plan.queued = timing.queue
    if timing.chunk_tokens > 1:
        plan.chunked = True
        for item in plan.items:
            item.pieces = [timing.chunks(s) for s in item.pieces]
    gaps = timing.gaps([s for item in plan.items for s in item.pieces], rng)
    at = 0
    for item in plan.items:
        item.delays = gaps[at : at + len(item.pieces)]
        at += len(item.pieces)


def usage(
    input_tokens: int, output_tokens: int, reasoning_tokens: int = 0, overrides: dict[str, int] | None = None
) -> dict[str, Any]:
    """Usage with every counter any client requires (contract decision 3); `overrides` (a
    scenario's) replace input, output, reasoning or cached token counts."""
    cached = 0
    if overrides:
        input_tokens = overrides.get("input_tokens", input_tokens)
        output_tokens = overrides.get("output_tokens", output_tokens)
        reasoning_tokens = overrides.get("reasoning_tokens", reasoning_tokens)
        cached = overrides.get("cached_tokens", 0)
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_tokens_details": {
            "cached_tokens": cached,
            "cache_creation_tokens": 0,
            "cache_write_tokens": 0,
        },
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }


def _check_call_ids(items: list[dict[str, Any]], history: Conversation) -> None:
    """Every function_call_output must answer a function_call of this conversation (decision 4)."""
    answers = [(n, i["call_id"]) for n, i in enumerate(items) if i["type"] == "function_call_output"]
    if not answers:
        return
    known = history.calls.keys() | {i["call_id"] for i in items if i["type"] == "function_call"}
    for index, call_id in answers:
        if call_id not in known:
            raise bad_field(
                f"/input/{index}/call_id",
                f"/input/{index}/call_id '{call_id}' answers no function_call of this "
                "conversation; send the function_call item too, or continue with previous_response_id",
            )
