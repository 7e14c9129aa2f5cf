"""LangChain (langchain-openai, pinned) with the Responses API, unmodified, against a real server
with no scenario, beyond its conformance cells (tests/test_conformance.py: text, errors, a
bind_tools round trip through ToolMessage, a simple with_structured_output): a nested model, and
a tool chosen with no scenario by the word rule."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI

from emulator.testing import ServedEmulator
from tests.structured_models import Report
from tests.support import make_config


@pytest.fixture(scope="module")
def llm() -> Iterator[ChatOpenAI]:
    with ServedEmulator.running(make_config()) as emulator:
        yield ChatOpenAI(
            model="openai/gpt-4o", base_url=emulator.openai_base_url, api_key=emulator.api_key,
            use_responses_api=True,
        )  # fmt: skip


def test_with_structured_output_of_a_nested_model(llm: ChatOpenAI) -> None:
    report = llm.with_structured_output(Report).invoke("Report on a city")
    assert isinstance(report, Report)


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return "18C"


def book_flight(origin: str, destination: str) -> str:
    """Book a flight between two airports."""
    return "booked"


def test_bind_tools_with_no_scenario_calls_the_related_tool_and_reads_its_result(llm: ChatOpenAI) -> None:
    bound = llm.bind_tools([book_flight, get_weather])
    asked = HumanMessage("What's the weather in Paris?")
    first = bound.invoke([asked])
    assert [call["name"] for call in first.tool_calls] == ["get_weather"]
    assert isinstance(first.tool_calls[0]["args"]["city"], str)
    result = ToolMessage(content="18C and sunny", tool_call_id=first.tool_calls[0]["id"])
    second = bound.invoke([asked, first, result])
    assert second.text == "Here is what I found: get_weather returned 18C and sunny."
