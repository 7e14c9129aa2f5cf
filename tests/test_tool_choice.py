"""Tool calls with no scenario: which functions the default backend calls under tool_choice,
parallel_tool_calls, max_tool_calls and allowed_tools (expected calls written by hand from the
README's rule), and the whole loop through the OpenAI SDK, JSON and stream, both ways of
continuing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from emulator.engine.platform_tools import about
from emulator.engine.tool_choice import chosen
from emulator.testing import ServedEmulator
from tests.support import make_config

WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a location",
           "parameters": {"type": "object", "properties": {"location": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
                          "required": ["location", "unit"], "additionalProperties": False}, "strict": True}  # fmt: skip
FORECAST = {"type": "function", "name": "weather_forecast", "description": "Forecast for the coming days",
            "parameters": {"type": "object", "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 7}}}}  # fmt: skip
FLIGHT = {"type": "function", "name": "bookFlight", "description": "Book a flight between two airports",
          "parameters": {"type": "object", "properties": {}}}  # fmt: skip
TOOLS = [WEATHER, FORECAST, FLIGHT]
QUESTION = "What's the weather like in San Francisco?"


def names(request: dict[str, Any], text: str = QUESTION) -> list[str]:
    return [t["name"] for t in chosen({"tools": TOOLS, **request}, text, about)]


@pytest.mark.parametrize(
    ("request_", "text", "expected"),
    [
        ({}, QUESTION, ["get_weather", "weather_forecast"]),  # auto: both share "weather"
        ({}, "Tell me a joke", []),  # auto: nothing shared, a text answer
        ({}, "Book me some flights", ["bookFlight"]),  # camelCase split, plural to singular
        ({"tool_choice": "none"}, QUESTION, []),
        ({"tool_choice": "auto"}, "weather forecast for Oslo", ["weather_forecast", "get_weather"]),  # most shared first
        ({"tool_choice": "required"}, "Tell me a joke", ["get_weather"]),  # no match: the first offered
        ({"tool_choice": "required"}, "flight to Rome", ["bookFlight"]),
        ({"tool_choice": {"type": "function", "name": "bookFlight"}}, QUESTION, ["bookFlight"]),
        ({"tool_choice": {"type": "function", "name": "not_offered"}}, QUESTION, []),
        ({"parallel_tool_calls": False}, QUESTION, ["get_weather"]),
        ({"max_tool_calls": 1}, QUESTION, ["get_weather"]),
        ({"max_tool_calls": 5}, QUESTION, ["get_weather", "weather_forecast"]),
        ({"tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "weather_forecast"}]}}, QUESTION, ["weather_forecast"]),
        ({"tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "bookFlight"}]}}, QUESTION, []),
        ({"tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "bookFlight"}]}}, QUESTION, ["bookFlight"]),
        ({"tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "bookFlight"}]}, "parallel_tool_calls": False}, QUESTION, ["bookFlight"]),
        ({"tool_choice": {"type": "web_search"}}, QUESTION, []),
    ],
)  # fmt: skip
def test_the_choice_matrix(request_: dict[str, Any], text: str, expected: list[str]) -> None:
    assert names(request_, text) == expected


@pytest.fixture(scope="module")
def served() -> ServedEmulator:
    with ServedEmulator.running(make_config()) as emulator:
        yield emulator


def test_the_weather_question_gets_a_get_weather_call_with_no_scenario(served: ServedEmulator) -> None:
    client = served.openai_client()
    first = client.responses.create(model="openai/gpt-4o", input=QUESTION, tools=[WEATHER, FLIGHT])
    assert [(o.type, o.name) for o in first.output] == [("function_call", "get_weather")]
    arguments = json.loads(first.output[0].arguments)
    assert set(arguments) == {"location", "unit"} and arguments["unit"] in ("c", "f")
    # continued with previous_response_id: the answer uses the function's output
    second = client.responses.create(
        model="openai/gpt-4o", previous_response_id=first.id, tools=[WEATHER, FLIGHT],
        input=[{"type": "function_call_output", "call_id": first.output[0].call_id, "output": "18C and sunny"}],
    )  # fmt: skip
    assert second.output_text == "Here is what I found: get_weather returned 18C and sunny."
    # continued by sending the whole conversation again: the same answer
    resent = client.responses.create(
        model="openai/gpt-4o", tools=[WEATHER, FLIGHT],
        input=[{"role": "user", "content": QUESTION}, first.output[0].model_dump(exclude_none=True),
               {"type": "function_call_output", "call_id": first.output[0].call_id, "output": "18C and sunny"}],
    )  # fmt: skip
    assert resent.output_text == second.output_text


def test_parallel_calls_stream_and_match_json_mode(served: ServedEmulator) -> None:
    client = served.openai_client()
    created = client.responses.create(model="openai/gpt-4o", input=QUESTION, tools=TOOLS)
    with client.responses.stream(model="openai/gpt-4o", input=QUESTION, tools=TOOLS) as stream:
        final = stream.get_final_response()
    expected = [(o.name, o.arguments) for o in created.output]
    assert [(o.name, o.arguments) for o in final.output] == expected
    assert [name for name, _ in expected] == ["get_weather", "weather_forecast"]
    days = json.loads(expected[1][1]).get("days", 1)
    assert 1 <= days <= 7


def test_a_text_answer_when_no_tool_relates(served: ServedEmulator) -> None:
    answer = served.openai_client().responses.create(
        model="openai/gpt-4o", input="Tell me a joke", tools=TOOLS
    )
    assert [o.type for o in answer.output] == ["message"] and answer.status == "completed"


@pytest.mark.parametrize(
    ("parameters", "param"),
    [
        (
            {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 9, "maximum": 1}},
                "required": ["n"],
            },
            "/tools/1/parameters",
        ),
        (
            {"type": "object", "properties": {"n": {"type": "nonsense"}}},
            "/tools/1/parameters/properties/n/type",
        ),
    ],
    ids=["unsatisfiable", "not-a-schema"],
)
def test_parameters_that_cannot_be_met_are_a_400_naming_the_place(
    served: ServedEmulator, parameters: dict[str, Any], param: str
) -> None:

    tools = [FLIGHT, {"type": "function", "name": "get_weather", "parameters": parameters}]
    answer = httpx.post(f"{served.base_url}/v1/responses", json={"model": "openai/gpt-4o", "input": QUESTION, "tools": tools},
                        headers={"Authorization": f"Bearer {served.api_key}"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param
