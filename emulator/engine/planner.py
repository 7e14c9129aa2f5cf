"""Turns a validated request into a Plan: resolve state, generate the reply, count tokens."""

from __future__ import annotations

from typing import Any

from emulator.clock import Clock
from emulator.contract.echo import TEMPLATE, echo, normalise_input
from emulator.contract.errors import ApiError, bad_field
from emulator.engine import tokens
from emulator.engine.plan import ItemPlan, Plan
from emulator.engine.textgen import TextGenerator, request_digest
from emulator.ids import IdSource
from emulator.state.responses import Conversation, ResponseStore

NEW_CONVERSATION = Conversation()


class Planner:
    def __init__(
        self, *, seed: int, clock: Clock, ids: IdSource, store: ResponseStore, text: TextGenerator
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.ids = ids
        self.store = store
        self.text = text

    def plan(self, request: dict[str, Any]) -> Plan:
        """The Plan for one create request."""
        history = self._history(request.get("previous_response_id"))
        created_at = int(self.clock.now())
        response_id = self.ids.prefixed("resp")
        input_items = normalise_input(request.get("input"), self.ids)
        _check_call_ids(input_items, history)

        pieces = self.text.reply(request_digest(self.seed, request))
        status, incomplete = "completed", None
        limit = request.get("max_output_tokens")
        if limit is not None and len(pieces) > limit:
            pieces = pieces[:limit]
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
        text = "".join(pieces)
        message = {
            "type": "message",
            "id": self.ids.prefixed("msg"),
            "status": status,
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }
        output = [message]

        turn_tokens = tokens.count_items(input_items)
        input_tokens = (
            tokens.count_recurring(request.get("instructions", ""))
            + history.tokens
            + turn_tokens
            + tokens.count_tools(request.get("tools", []))
        )
        output_tokens = len(pieces)
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
            usage=usage(input_tokens, output_tokens),
            telemetry={"trace_id": trace_id, "span_id": span_id},
        )
        output_tokens_in_context = tokens.ITEM_OVERHEAD + output_tokens
        conversation = history.extended([*input_items, *output], turn_tokens + output_tokens_in_context)
        return Plan(response=response, items=[ItemPlan(message, pieces=[pieces])], conversation=conversation)

    def _history(self, previous_id: str | None) -> Conversation:
        if previous_id is None:
            return NEW_CONVERSATION
        stored = self.store.get(previous_id)
        if stored is None:
            why = (
                "was created with store:false, so it cannot be continued"
                if self.store.was_unstored(previous_id)
                else "was not found (never created here, or evicted)"
            )
            raise ApiError(
                400, "previous_response_not_found",
                f"Previous response with id '{previous_id}' {why}.", "/previous_response_id",
            )  # fmt: skip
        return stored.conversation


def usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    """Usage with every counter any client requires (contract decision 3)."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_creation_tokens": 0, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
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
