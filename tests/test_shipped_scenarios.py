"""The shipped scenario library, and the examples of scenarios/README.md, do what they say."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from orq_ai_sdk import Orq

from emulator.config import DEV_API_KEY
from emulator.scenarios.loader import load
from emulator.testing import ServedEmulator
from tests.support import AUTH, make_config

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "scenarios" / "README.md").read_text()
EXAMPLES = re.findall(r"```yaml\n(.*?)```", GUIDE, flags=re.DOTALL)
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}  # fmt: skip


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{n}" for n in range(len(EXAMPLES))])
def test_every_guide_example_is_a_valid_scenario_file(tmp_path: Path, example: str) -> None:
    (tmp_path / "example.yaml").write_text(example)
    _, problems = load([tmp_path])
    assert problems == []


@pytest.fixture(scope="module")
def library() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(
        make_config(scenarios=(str(ROOT / "scenarios"),), reasoning_events="openai")
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_sequences(library: ServedEmulator) -> None:
    """Each test starts every scenario's sequence (and each model's failures) from the first turn."""
    httpx.post(f"{library.base_url}/_emulator/reset", headers=AUTH).raise_for_status()


@pytest.fixture
def oai(library: ServedEmulator) -> openai.OpenAI:
    return openai.OpenAI(api_key=DEV_API_KEY, base_url=f"{library.base_url}/v3/router", max_retries=0)


def test_weather_tool_loop(oai: openai.OpenAI) -> None:
    called = oai.responses.create(
        model="openai/gpt-4o", input="What's the weather in Paris?", tools=[WEATHER]
    )
    call = called.output[0]
    assert (called.status, call.name, json.loads(call.arguments)["city"]) == (
        "requires_action",
        "get_weather",
        "Paris",
    )
    answered = oai.responses.create(
        model="openai/gpt-4o", previous_response_id=called.id, tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 21}'}],
    )  # fmt: skip
    assert answered.output_text == 'Here is the forecast: {"temp_c": 21}.'


def test_orq_sees_the_same_loop_completed(library: ServedEmulator) -> None:
    orq = Orq(api_key=DEV_API_KEY, server_url=library.base_url)
    called = orq.responses.create(model="openai/gpt-4o", input="weather in Paris?", tools=[WEATHER])
    assert called.status == "completed" and called.output[0]["name"] == "get_weather"


def test_refusal_structured_output_and_reasoning(oai: openai.OpenAI) -> None:
    refused = oai.responses.create(model="openai/gpt-4o", input="Tell me her password")
    assert refused.output[0].content[0].type == "refusal"
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    structured = oai.responses.create(
        model="openai/gpt-4o", input="answer in json",
        text={"format": {"type": "json_schema", "name": "c", "schema": schema}},
    )  # fmt: skip
    assert isinstance(json.loads(structured.output_text)["city"], str)
    with oai.responses.stream(model="openai/gpt-4o", input="a riddle for you") as stream:
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.output_text == "The answer is 42."


def test_rate_limit_then_success(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as limited:
        oai.responses.create(model="openai/gpt-4o", input="are you busy?")
    assert limited.value.response.headers["retry-after"] == "1"
    assert oai.responses.create(model="openai/gpt-4o", input="are you busy?").output_text.startswith("Thanks")


def test_slow_stream_and_requires_action(library: ServedEmulator, oai: openai.OpenAI) -> None:
    clock = library.app.clock
    before = clock.now()
    oai.responses.create(model="openai/gpt-4o", input="tell it slowly")
    assert clock.now() - before > 1.5  # the scenario's time to first token, on the frozen clock
    invoice = {"type": "function", "name": "send_invoice", "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}}}  # fmt: skip
    forced = oai.responses.create(model="openai/gpt-4o", input="bill them", tools=[invoice])
    assert forced.status == "requires_action" and forced.output[1].name == "send_invoice"


def test_fallback_chain(library: ServedEmulator) -> None:
    gateway = {"retry": {"count": 1, "on_codes": [503]}, "fallbacks": [{"model": "demo/steady-backup"}]}
    request = {"model": "demo/flaky-primary", "input": "hi", "extra_body": gateway}  # orq fields
    session = {"X-Emulator-Session": "fallback-demo"}
    clock = library.app.clock
    before = clock.now()
    oai = openai.OpenAI(
        api_key=DEV_API_KEY, base_url=f"{library.base_url}/v3/router", max_retries=0, default_headers=session
    )
    fell_back = oai.responses.with_raw_response.create(**request)
    answer = fell_back.parse()
    assert (answer.model, answer.output_text) == ("demo/steady-backup", "demo/steady-backup answered.")
    assert fell_back.headers["x-emulator-attempts"] == "3"
    assert fell_back.headers["x-emulator-attempt-log"] == (
        "demo/flaky-primary 503, demo/flaky-primary 503, demo/steady-backup ok"
    )
    waited = clock.now() - before
    assert 0.75 <= waited - 0.4 - (answer.usage.output_tokens - 1) / 60 <= 1.25  # one backoff, ±25 %
    recovered = oai.responses.create(**request)
    assert (recovered.model, recovered.output_text) == ("demo/flaky-primary", "demo/flaky-primary answered.")
