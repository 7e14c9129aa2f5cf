"""Streams read by the real clients, unmodified, from a real uvicorn server: orq-ai-sdk and openai."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from orq_ai_sdk import Orq

from emulator.contract.errors import response_error
from emulator.testing import ServedEmulator
from tests.support import AUTH, assert_contract_stream, make_config, script_output

MODEL = "openai/gpt-4o-mini"
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def live() -> Iterator[ServedEmulator]:
    # The OpenAI naming for reasoning by default here, since openai's helpers know only that.
    with ServedEmulator.running(make_config(reasoning_events="openai")) as server:
        yield server


@pytest.fixture
def scripted(live: ServedEmulator) -> Iterator[Any]:
    """`script_output` on the shared server, undone after the test."""
    service = live.app.service
    original = service.backend
    yield lambda *args, **kwargs: script_output(live.app, *args, **kwargs)
    service.backend = original


def json_text(oai: openai.OpenAI, **request: Any) -> str:
    return oai.responses.create(model=MODEL, **request).output_text


def test_orq_stream_parses_and_matches_json_mode(orq: Orq, oai: openai.OpenAI) -> None:
    events = [wrapper.data for wrapper in orq.responses.create(model=MODEL, input=QUESTION, stream=True)]
    assert all(event is not None for event in events)
    types = [event.type for event in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == json_text(oai, input=QUESTION)
    assert events[-1].response.output[0]["content"][0]["text"] == text
    assert (
        orq.responses.get(response_id=events[0].response.id).model_dump() == events[-1].response.model_dump()
    )


def test_openai_stream_parses_and_matches_json_mode(oai: openai.OpenAI) -> None:
    events = list(oai.responses.create(model=MODEL, input=QUESTION, stream=True))
    assert type(events[0]).__name__ == "ResponseCreatedEvent"
    assert type(events[-1]).__name__ == "ResponseCompletedEvent"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == json_text(oai, input=QUESTION) == events[-1].response.output_text


def test_openai_stream_helper_final_response(oai: openai.OpenAI) -> None:
    with oai.responses.stream(model=MODEL, input=QUESTION, instructions="be brief") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.status == "completed"
    assert "".join(deltas) == final.output_text == json_text(oai, input=QUESTION, instructions="be brief")
    fetched = oai.responses.retrieve(final.id)  # the helper's ParsedResponse adds `parsed` keys
    assert (fetched.output_text, fetched.usage, fetched.status) == (
        final.output_text,
        final.usage,
        final.status,
    )


def test_incomplete_stream_in_both_clients(orq: Orq, oai: openai.OpenAI) -> None:
    events = list(oai.responses.create(model=MODEL, input=QUESTION, max_output_tokens=4, stream=True))
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    orq_events = [
        w.data for w in orq.responses.create(model=MODEL, input=QUESTION, max_output_tokens=4, stream=True)
    ]
    assert orq_events[-1].type == "response.incomplete"
    assert orq_events[-1].response.usage.output_tokens == 4


def test_reasoning_streams_in_both_clients(orq: Orq, oai: openai.OpenAI) -> None:
    reasoning = {"effort": "low", "summary": "auto"}
    with oai.responses.stream(model=MODEL, input=QUESTION, reasoning=reasoning) as stream:
        types = {e.type for e in stream}
        final = stream.get_final_response()
    assert {"response.reasoning_text.delta", "response.reasoning_summary_text.delta"} <= types
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.usage.output_tokens_details.reasoning_tokens > 0
    orq_events = [
        w.data for w in orq.responses.create(model=MODEL, input=QUESTION, reasoning=reasoning, stream=True)
    ]
    thought = "".join(e.delta for e in orq_events if e.type == "response.reasoning_text.delta")
    assert thought == final.output[0].content[0].text


def test_orq_reads_orq_named_reasoning_events(live: ServedEmulator, orq: Orq) -> None:
    headers = {"x-emulator-reasoning-events": "orq"}
    wrappers = orq.responses.create(
        model=MODEL, input=QUESTION, reasoning={"effort": "high"}, stream=True, http_headers=headers
    )
    types = [w.data.type for w in wrappers]
    assert "response.reasoning.delta" in types and "response.reasoning.done" in types


def test_refusal_annotations_and_function_calls(scripted: Any, oai: openai.OpenAI, orq: Orq) -> None:
    def items(ids: Any) -> list[dict[str, Any]]:
        text = "Paris is the capital of France."
        citation = {"type": "url_citation", "start_index": 0, "end_index": 5, "url": "https://example.com/paris", "title": "Paris"}  # fmt: skip
        return [
            {"type": "message", "id": ids.prefixed("msg"), "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "annotations": [citation], "logprobs": []},
                         {"type": "refusal", "refusal": "I cannot share more than that."}]},
            {"type": "function_call", "id": ids.prefixed("fc"), "call_id": ids.call_id(), "name": "get_weather",
             "arguments": '{"city": "Paris", "unit": "celsius"}', "status": "completed"},
        ]  # fmt: skip

    scripted(items)
    with oai.responses.stream(model=MODEL, input=QUESTION) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert "response.output_text.annotation.added" in types and "response.refusal.delta" in types
    assert types.count("response.function_call_arguments.delta") > 1
    call = final.output[1]
    assert (call.type, call.name, call.arguments) == (
        "function_call",
        "get_weather",
        '{"city": "Paris", "unit": "celsius"}',
    )
    assert final.output[0].content[0].annotations[0].url == "https://example.com/paris"
    assert final.output[0].content[1].refusal == "I cannot share more than that."
    orq_events = [w.data for w in orq.responses.create(model=MODEL, input=QUESTION, stream=True)]
    arguments = "".join(e.delta for e in orq_events if e.type == "response.function_call_arguments.delta")
    assert arguments == '{"city": "Paris", "unit": "celsius"}'


def test_a_failure_mid_stream(scripted: Any, live: ServedEmulator, oai: openai.OpenAI, orq: Orq) -> None:
    def items(ids: Any) -> list[dict[str, Any]]:
        return [{"type": "message", "id": ids.prefixed("msg"), "status": "incomplete", "role": "assistant",
                 "content": [{"type": "output_text", "text": "The capital", "annotations": [], "logprobs": []}]}]  # fmt: skip

    scripted(items, status="failed", error=response_error("server_error", "The provider went away."))
    body = {"model": MODEL, "input": QUESTION, "stream": True}
    raw = httpx.post(f"{live.base_url}/v3/router/responses", json=body, headers=AUTH).content
    events = assert_contract_stream(raw).events
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2]["error"]["code"] == events[-2]["code"] == "server_error"
    assert events[-1]["response"]["error"] == {
        "code": "server_error",
        "message": "The provider went away.",
        "type": "server_error",
    }
    # openai raises at the error event (any data with a top-level "error"), as with OpenAI itself.
    with pytest.raises(openai.APIError, match="The provider went away"):
        list(oai.responses.create(model=MODEL, input=QUESTION, stream=True))
    orq_events = [w.data for w in orq.responses.create(model=MODEL, input=QUESTION, stream=True)]
    assert [e.type for e in orq_events[-2:]] == ["error", "response.failed"]
    assert orq_events[-2].error.code == "server_error"


def test_replay_through_openai(oai: openai.OpenAI) -> None:
    original = [e.model_dump() for e in oai.responses.create(model=MODEL, input=QUESTION, stream=True)]
    response_id = original[-1]["response"]["id"]
    assert [e.model_dump() for e in oai.responses.retrieve(response_id, stream=True)] == original
    tail = [e.sequence_number for e in oai.responses.retrieve(response_id, stream=True, starting_after=5)]
    assert tail == list(range(6, len(original)))
    with oai.responses.stream(response_id=response_id) as again:
        final = again.get_final_response()
    assert final.output_text == original[-1]["response"]["output"][0]["content"][0]["text"]
