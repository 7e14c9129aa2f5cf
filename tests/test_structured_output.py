"""Structured output with no scenario: `text.format` json_schema gives JSON its schema accepts,
through the OpenAI SDK's parse and stream helpers (pydantic is the judge), JSON and stream alike."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import InProcessEmulator, ServedEmulator
from tests.structured_models import Report
from tests.support import AUTH, assert_contract_error, assert_contract_response, make_config


@pytest.fixture(scope="module")
def served() -> ServedEmulator:
    with ServedEmulator.running(make_config()) as emulator:
        yield emulator


@pytest.mark.parametrize("question", ["Tell me about Paris.", "And Oslo?", "Lyon"])
def test_parse_and_stream_give_the_same_valid_model(served: ServedEmulator, question: str) -> None:
    client = served.openai_client()
    parsed = client.responses.parse(model="openai/gpt-4o", input=question, text_format=Report)
    assert isinstance(parsed.output_parsed, Report)
    with client.responses.stream(model="openai/gpt-4o", input=question, text_format=Report) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) > 5  # streamed in pieces, like any text
    assert final.output_parsed == parsed.output_parsed  # the same request, the same JSON


def test_json_object_gives_a_json_object() -> None:
    c = TestClient(create_app(make_config()), headers=AUTH)
    answer = c.post(
        "/v1/responses",
        json={"model": "openai/gpt-4o", "input": "json please", "text": {"format": {"type": "json_object"}}},
    )
    assert answer.status_code == 200
    assert_contract_response(answer.json())
    assert isinstance(json.loads(answer.json()["output"][0]["content"][0]["text"]), dict)


@pytest.mark.parametrize(
    ("schema", "param", "said"),
    [
        (
            {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 4}},
                "required": ["n"],
            },
            "/text/format/schema",
            "no value satisfies",
        ),
        (
            {"type": "object", "properties": {"n": {"type": 12}}},
            "/text/format/schema/properties/n/type",
            "not a valid JSON Schema",
        ),
    ],
    ids=["unsatisfiable", "not-a-schema"],
)
def test_a_schema_that_cannot_be_met_is_a_400_naming_it(
    schema: dict[str, object], param: str, said: str
) -> None:
    c = TestClient(create_app(make_config()), headers=AUTH)
    body = {
        "model": "openai/gpt-4o",
        "input": "x",
        "text": {"format": {"type": "json_schema", "name": "s", "schema": schema}},
    }
    answer = c.post("/v1/responses", json=body)
    assert answer.status_code == 400
    assert_contract_error(answer.json())
    assert answer.json()["error"]["param"] == param
    assert said in answer.json()["error"]["message"]


def test_a_scripted_reply_that_breaks_the_schema_is_a_contract_warning(
    responses_emulator: InProcessEmulator,
) -> None:
    responses_emulator.on(input_contains="city", name="city-json").reply('{"city": 12}')
    responses_emulator.on(input_contains="fine", name="fine-json").reply('{"city": "Oslo"}')
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    text = {"format": {"type": "json_schema", "name": "c", "schema": schema}}
    http = responses_emulator.httpx_client()
    broken = http.post("/v1/responses", json={"model": "openai/gpt-4o", "input": "which city", "text": text})
    assert broken.status_code == 200
    assert broken.json()["output"][0]["content"][0]["text"] == '{"city": 12}'  # sent as written
    warned = json.loads(broken.headers["x-emulator-contract-warnings"])
    assert warned == [
        "scenario 'city-json' replied with text that /text/format rejects: 12 is not of type 'string' (at /city)"
    ]
    fine = http.post("/v1/responses", json={"model": "openai/gpt-4o", "input": "fine", "text": text})
    assert "x-emulator-contract-warnings" not in fine.headers


ZIP = {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"},
       "floors": {"type": "integer", "minimum": 2, "maximum": 9}}, "required": ["zip", "floors"],
       "additionalProperties": False}  # fmt: skip


def test_a_scenario_file_may_carry_its_own_schema(responses_emulator: InProcessEmulator) -> None:
    """`from_schema` and `function_call.generate` take a schema written in the file."""
    responses_emulator.load({"scenarios": [
        {"name": "own-text", "match": {"last_user_message": "text"}, "reply": {"output": [{"text": {"from_schema": ZIP}}]}},
        {"name": "own-call", "match": {"last_user_message": "call"},
         "reply": {"output": [{"function_call": {"name": "building", "generate": ZIP}}]}},
    ]})  # fmt: skip
    http = responses_emulator.httpx_client()
    text = http.post("/v1/responses", json={"model": "openai/gpt-4o", "input": "text"}).json()
    call = http.post("/v1/responses", json={"model": "openai/gpt-4o", "input": "call"}).json()
    for value in (
        json.loads(text["output"][0]["content"][0]["text"]),
        json.loads(call["output"][0]["arguments"]),
    ):
        assert set(value) == {"zip", "floors"}
        assert len(value["zip"]) == 5 and value["zip"].isdigit() and 2 <= value["floors"] <= 9
