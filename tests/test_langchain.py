"""LangChain (langchain-openai, pinned) with the Responses API, unmodified, against a real server
with no scenario: `with_structured_output` and `bind_tools`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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


def test_with_structured_output(llm: ChatOpenAI) -> None:
    report = llm.with_structured_output(Report).invoke("Report on a city")
    assert isinstance(report, Report)


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return "18C"


def test_bind_tools_gets_a_call_of_the_related_tool(llm: ChatOpenAI) -> None:
    message = llm.bind_tools([get_weather]).invoke("What's the weather in Paris?")
    assert [call["name"] for call in message.tool_calls] == ["get_weather"]
    assert isinstance(message.tool_calls[0]["args"]["city"], str)
