"""The Plan's event sequence (what the streaming renderer will send) agrees with its final snapshot."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from emulator.clock import FrozenClock
from emulator.contract import schemas
from emulator.engine.events import PlanEvent
from emulator.engine.items import ItemPlan
from emulator.engine.lorem import LoremBackend
from emulator.engine.plan import Plan
from emulator.engine.planner import Planner
from emulator.engine.textgen import TextGenerator
from emulator.engine.world import Caps, Worlds
from emulator.state.responses import Conversation
from tests.support import T0


def plan_of(request: dict[str, Any]) -> Plan:
    """The Plan of one request, answered by the default backend."""
    clock = FrozenClock(T0)
    planner = Planner(seed=0, clock=clock, worlds=Worlds(0, clock, Caps(), list))
    call = planner.call(request)
    return planner.plan(call, LoremBackend(TextGenerator()).turn(call))


def texts_from(events: list[PlanEvent]) -> dict[tuple[int, int], str]:
    streamed: dict[tuple[int, int], str] = {}
    for event in events:
        if event.type == "response.output_text.delta":
            key = (event.data["output_index"], event.data["content_index"])
            streamed[key] = streamed.get(key, "") + event.data["delta"]
    return streamed


@pytest.mark.parametrize(
    "request_",
    [
        {"model": "openai/gpt-4o", "input": "hi"},
        {"model": "openai/gpt-4o", "input": "hi", "max_output_tokens": 3},
    ],
)
def test_events_agree_with_the_final_snapshot(request_: dict[str, Any]) -> None:
    plan = plan_of(request_)
    events = list(plan.events())
    kinds = [e.type for e in events]
    terminal = "response.incomplete" if "max_output_tokens" in request_ else "response.completed"
    deltas = len(plan.items[0].pieces[0])
    assert kinds == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done", "response.content_part.done", "response.output_item.done", terminal,
    ]  # fmt: skip
    final_text = plan.response["output"][0]["content"][0]["text"]
    assert texts_from(events) == {(0, 0): final_text}
    assert events[-1].data["response"] is plan.response
    message_id = plan.response["output"][0]["id"]
    assert all(e.data["item_id"] == message_id for e in events if "item_id" in e.data)
    for snapshot in (events[0].data["response"], events[1].data["response"], events[-1].data["response"]):
        schemas.validator(schemas.RESPONSE).validate(snapshot)
    assert events[0].data["response"]["status"] == "in_progress"
    assert events[0].data["response"]["output"] == [] and events[0].data["response"]["usage"] is None


def test_function_call_items_stream_their_arguments() -> None:
    call = {
        "type": "function_call",
        "id": "fc_1",
        "call_id": "fc_x",
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
        "status": "completed",
    }
    base = plan_of({"model": "openai/gpt-4o", "input": "hi"}).response
    plan = Plan(
        {**base, "output": [call]},
        [ItemPlan(call, pieces=[['{"city":', '"Paris"}']], delays=[[0.1, 0.2]])],
        Conversation(),
        first_delay=0.5,
    )
    events = list(plan.events())
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert "".join(e.data["delta"] for e in deltas) == call["arguments"]
    assert [e.delay for e in deltas] == [0.6, 0.2]  # time to first token lands on the first delta
    assert plan.total_delay() == pytest.approx(0.8)
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert (done.data["name"], done.data["arguments"]) == ("get_weather", call["arguments"])
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.data["item"]["arguments"] == "" and added.data["item"]["status"] == "in_progress"


@pytest.mark.parametrize(
    "request_",
    [
        {"model": "openai/gpt-4o", "input": "hi"},
        {"model": "openai/gpt-4o", "input": "hi", "reasoning": {"effort": "low", "summary": "auto"}},
    ],
)
def test_a_plan_cut_anywhere_is_a_sound_incomplete_response(request_: dict[str, Any]) -> None:
    from emulator.engine.plan import item_texts
    from emulator.testing.streams import stream_problems

    plan = plan_of(request_)
    full = [t for item in plan.response["output"] for t in item_texts(item)]
    events = list(plan.events())
    for sent in range(len(events)):
        cut = plan.cut(sent, completed_at=int(T0) + 1)
        response = cut.response
        schemas.validator(schemas.RESPONSE).validate(response)
        assert (response["status"], response["incomplete_details"]) == (
            "incomplete",
            {"reason": "client_disconnected"},
        )
        texts = [t for item in response["output"] for t in item_texts(item)]
        assert all(full_text.startswith(text) for text, full_text in zip(texts, full, strict=False))
        assert all(item["status"] in ("incomplete", "completed") for item in response["output"])
        replay = [{"type": e.type, "sequence_number": n, **e.data} for n, e in enumerate(cut.events())]
        assert stream_problems(replay) == []
        usage = response["usage"]
        assert usage["output_tokens"] <= plan.response["usage"]["output_tokens"]
        assert usage["input_tokens"] == plan.response["usage"]["input_tokens"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert plan.cut(0, completed_at=None).response["output"] == []


def test_explicit_delays_before_items_and_pieces_are_kept() -> None:
    from emulator.engine.events import numbered
    from emulator.render.sse import EventStream

    base = plan_of({"model": "openai/gpt-4o", "input": "hi"})
    message = base.items[0]
    plan = Plan(
        base.response,
        [
            ItemPlan(
                message.item, pieces=message.pieces, delays=[[0.5] * len(message.pieces[0])], delay_before=2.0
            )
        ],
        Conversation(),
        first_delay=1.0,
    )
    clock = FrozenClock(0.0)
    times: dict[str, list[float]] = {}

    async def write(chunk: bytes) -> None:
        kind = chunk.split(b"\n", 1)[0].removeprefix(b"event: ").decode()
        times.setdefault(kind, []).append(clock.monotonic())

    asyncio.run(EventStream(clock, keepalive=60, done=False).run(numbered(plan.events()), write))
    assert times["response.output_item.added"] == [2.0]
    deltas = times["response.output_text.delta"]
    assert deltas[0] == pytest.approx(2.0 + 1.0 + 0.5)
    assert all(b - a == pytest.approx(0.5) for a, b in itertools.pairwise(deltas))
    assert times["response.completed"] == [pytest.approx(plan.total_delay())]
