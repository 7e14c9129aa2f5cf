"""The exact event sequence of each kind of output item, written out by hand (contract section 4.3).

The project's own `stream_problems` checks ordering rules in general; these tests pin the whole
sequence, so that moving one event (a summary part closed before its text, an annotation after its
text's `done`) fails here whatever the ordering checks say. Each sequence is checked on the wire and
again through OpenAI's `responses.stream()` helper, which builds the final response from the events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from orq_ai_sdk import Orq

from emulator.config import DEV_API_KEY
from emulator.contract.errors import response_error
from emulator.testing import ServedEmulator
from tests.support import AUTH, assert_contract_stream, make_config, script_output

MODEL = "openai/gpt-4o-mini"
URL = "/v3/router/responses"

# Texts whose tokens are easy to count by hand: "Hi." is "Hi" + "."; "No." is "No" + "."
CITATION = {
    "type": "url_citation",
    "start_index": 0,
    "end_index": 2,
    "url": "https://example.com",
    "title": "Hi",
}


def message(ids: Any, *parts: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "id": ids.prefixed("msg"), "status": "completed", "role": "assistant",
            "content": list(parts)}  # fmt: skip


def text(value: str, *annotations: dict[str, Any]) -> dict[str, Any]:
    return {"type": "output_text", "text": value, "annotations": list(annotations), "logprobs": []}


def refusal(value: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": value}


def function_call(ids: Any) -> dict[str, Any]:
    return {"type": "function_call", "id": ids.prefixed("fc"), "call_id": ids.call_id(), "name": "f",
            "arguments": '{"a":1}', "status": "completed"}  # fmt: skip


def reasoning(ids: Any) -> dict[str, Any]:
    return {"type": "reasoning", "id": ids.prefixed("rs"), "status": "completed",
            "content": [{"type": "reasoning_text", "text": "Think."}],
            "summary": [{"type": "summary_text", "text": "Sum."}]}  # fmt: skip


Shape = tuple[str, int | None, int | None]
OPEN: list[Shape] = [("response.created", None, None), ("response.in_progress", None, None)]
COMPLETED: list[Shape] = [("response.completed", None, None)]


def sequence(*parts: list[Shape]) -> list[Shape]:
    return [event for part in parts for event in part]


def message_events(at: int, *parts: tuple[str, int, int]) -> list[Shape]:
    """A message at output index `at`; each part is (kind, deltas, annotations)."""
    events: list[Shape] = [("response.output_item.added", at, None)]
    for index, (kind, deltas, cited) in enumerate(parts):
        events.append(("response.content_part.added", at, index))
        events += [(f"response.{kind}.delta", at, index)] * deltas
        events += [("response.output_text.annotation.added", at, index)] * cited
        events += [(f"response.{kind}.done", at, index), ("response.content_part.done", at, index)]
    return [*events, ("response.output_item.done", at, None)]


CASES: dict[str, tuple[Any, list[Shape]]] = {
    "message": (
        lambda ids: [message(ids, text("Hi."))],
        sequence(OPEN, message_events(0, ("output_text", 2, 0)), COMPLETED),
    ),
    "refusal": (
        lambda ids: [message(ids, refusal("No."))],
        sequence(OPEN, message_events(0, ("refusal", 2, 0)), COMPLETED),
    ),
    "annotations": (
        lambda ids: [message(ids, text("Hi.", CITATION, CITATION), refusal("No."))],
        sequence(OPEN, message_events(0, ("output_text", 2, 2), ("refusal", 2, 0)), COMPLETED),
    ),
    "function_call": (
        lambda ids: [function_call(ids)],
        sequence(OPEN, [
            ("response.output_item.added", 0, None),
            *[("response.function_call_arguments.delta", 0, None)] * 7,  # { " a " : 1 }
            ("response.function_call_arguments.done", 0, None),
            ("response.output_item.done", 0, None),
        ], COMPLETED),
    ),
    "reasoning_with_summary": (
        lambda ids: [reasoning(ids)],
        sequence(OPEN, [
            ("response.output_item.added", 0, None),
            ("response.reasoning_text.delta", 0, 0), ("response.reasoning_text.delta", 0, 0),
            ("response.reasoning_text.done", 0, 0),
            ("response.reasoning_summary_part.added", 0, 0),
            ("response.reasoning_summary_text.delta", 0, 0), ("response.reasoning_summary_text.delta", 0, 0),
            ("response.reasoning_summary_text.done", 0, 0),
            ("response.reasoning_summary_part.done", 0, 0),
            ("response.output_item.done", 0, None),
        ], COMPLETED),
    ),
    "several_items": (
        lambda ids: [message(ids, text("Hi.")), function_call(ids), message(ids, refusal("No."))],
        sequence(OPEN, message_events(0, ("output_text", 2, 0)), [
            ("response.output_item.added", 1, None),
            *[("response.function_call_arguments.delta", 1, None)] * 7,
            ("response.function_call_arguments.done", 1, None),
            ("response.output_item.done", 1, None),
        ], message_events(2, ("refusal", 2, 0)), COMPLETED),
    ),
}  # fmt: skip


def shape(event: dict[str, Any]) -> Shape:
    """An event as the expectations write it: type, output index, content or summary index."""
    index = event.get("content_index", event.get("summary_index"))
    return event["type"], event.get("output_index"), index


def parsed_shape(event: Any) -> Shape:
    """`shape` of an event a client parsed into its own model."""
    index = getattr(event, "content_index", getattr(event, "summary_index", None))
    return event.type, getattr(event, "output_index", None), index


@pytest.fixture(scope="module")
def live() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(
        make_config(reasoning_events="openai", function_call_status="completed")
    ) as server:
        yield server


@pytest.mark.parametrize("case", CASES)
def test_the_wire_sequence_of_each_item_kind(live: ServedEmulator, case: str) -> None:
    items, expected = CASES[case]
    script_output(live.app, items)
    body = {"model": MODEL, "input": "hello", "stream": True}
    events = assert_contract_stream(
        httpx.post(f"{live.base_url}{URL}", json=body, headers=AUTH).content
    ).events
    assert [shape(e) for e in events] == expected
    assert [e["sequence_number"] for e in events] == list(range(len(expected)))


@pytest.mark.parametrize("case", CASES)
def test_openai_stream_helper_sees_the_same_sequence(live: ServedEmulator, case: str) -> None:
    items, expected = CASES[case]
    script_output(live.app, items)
    client = openai.OpenAI(api_key=DEV_API_KEY, base_url=f"{live.base_url}/v3/router", max_retries=0)
    with client.responses.stream(model=MODEL, input="hello") as stream:
        seen = [parsed_shape(event) for event in stream]
        final = stream.get_final_response()
    assert seen == expected
    # The helper rebuilt each item from its events: the texts it holds are the items' texts.
    assert [built_texts(o) for o in final.output] == [sent_texts(i) for i in items(_Ids())]


def built_texts(item: Any) -> tuple[str, list[str]]:
    if item.type == "message":
        return item.type, [getattr(p, "text", None) or p.refusal for p in item.content]
    if item.type == "function_call":
        return item.type, [item.arguments]
    return item.type, [p.text for p in item.content or []] + [p.text for p in item.summary]


def sent_texts(item: dict[str, Any]) -> tuple[str, list[str]]:
    if item["type"] == "message":
        return item["type"], [p.get("text") or p["refusal"] for p in item["content"]]
    if item["type"] == "function_call":
        return item["type"], [item["arguments"]]
    return item["type"], [p["text"] for p in item["content"] + item["summary"]]


def test_orq_reasoning_names_in_the_same_places(live: ServedEmulator) -> None:
    """With orq's names, reasoning text events take the same places as OpenAI's."""
    script_output(live.app, CASES["reasoning_with_summary"][0])
    orq = Orq(api_key=DEV_API_KEY, server_url=live.base_url)
    headers = {"x-emulator-reasoning-events": "orq"}
    seen = [
        parsed_shape(w.data)
        for w in orq.responses.create(model=MODEL, input="hello", stream=True, http_headers=headers)
    ]
    expected = [
        (t.replace("reasoning_text", "reasoning"), o, i) for t, o, i in CASES["reasoning_with_summary"][1]
    ]
    assert seen == expected


def test_failed_and_incomplete_end_their_streams_exactly(live: ServedEmulator) -> None:
    script_output(
        live.app, lambda ids: [message(ids, text("Hi."))], status="failed",
        error=response_error("server_error", "gone"),
    )  # fmt: skip
    body = {"model": MODEL, "input": "hello", "stream": True}
    failed = assert_contract_stream(
        httpx.post(f"{live.base_url}{URL}", json=body, headers=AUTH).content
    ).events
    assert [shape(e) for e in failed] == sequence(
        OPEN,
        message_events(0, ("output_text", 2, 0)),
        [("error", None, None), ("response.failed", None, None)],
    )
    script_output(live.app, lambda ids: [message(ids, text("Hi there friend."))])
    cut = {**body, "max_output_tokens": 2}  # "Hi" + " there"
    incomplete = assert_contract_stream(
        httpx.post(f"{live.base_url}{URL}", json=cut, headers=AUTH).content
    ).events
    assert [shape(e) for e in incomplete] == sequence(
        OPEN, message_events(0, ("output_text", 2, 0)), [("response.incomplete", None, None)]
    )
    assert incomplete[-1]["response"]["output"][0]["content"][0]["text"] == "Hi there"


class _Ids:
    """Ids for building the expected item list again (their values do not matter here)."""

    def prefixed(self, prefix: str) -> str:
        return f"{prefix}_x"

    def call_id(self) -> str:
        return "call_x"
