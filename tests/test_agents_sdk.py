"""The OpenAI Agents SDK (pinned), unmodified, against a real server with no scenario: structured
output (`output_type=`) and a `@function_tool` loop, with `Runner.run` and `Runner.run_streamed`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

from emulator.testing import ServedEmulator
from tests.structured_models import Report
from tests.support import make_config

set_tracing_disabled(True)  # the SDK would export traces to OpenAI


@function_tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"18C in {city}"


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config()) as emulator:
        yield emulator


def model(served: ServedEmulator) -> OpenAIResponsesModel:
    return OpenAIResponsesModel(model="openai/gpt-4o", openai_client=served.async_openai_client())


def test_output_type_with_run_and_run_streamed(served: ServedEmulator) -> None:
    async def both() -> tuple[object, object]:
        agent = Agent(name="reporter", model=model(served), output_type=Report)
        ran = await Runner.run(agent, "Report on a city")
        streamed = Runner.run_streamed(agent, "Report on a city")
        async for _ in streamed.stream_events():
            pass
        return ran.final_output, streamed.final_output

    ran, streamed = asyncio.run(both())
    assert isinstance(ran, Report) and ran == streamed


def test_a_function_tool_loop_with_run_and_run_streamed(served: ServedEmulator) -> None:
    async def both() -> tuple[object, list[str], object]:
        agent = Agent(name="forecaster", model=model(served), tools=[get_weather])
        ran = await Runner.run(agent, "What's the weather in Paris?")
        streamed = Runner.run_streamed(agent, "What's the weather in Paris?")
        async for _ in streamed.stream_events():
            pass
        return ran.final_output, [type(i).__name__ for i in ran.new_items], streamed.final_output

    final, steps, streamed = asyncio.run(both())
    assert steps == ["ToolCallItem", "ToolCallOutputItem", "MessageOutputItem"]
    assert isinstance(final, str) and final.startswith("Here is what I found: get_weather returned 18C in ")
    assert streamed == final
