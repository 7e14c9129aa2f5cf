"""The OpenAI Agents SDK (pinned), unmodified, against a real server with no scenario, beyond its
conformance cells (tests/test_conformance.py: text, errors, a function_tool loop and a simple
output_type, with Runner.run and Runner.run_streamed): a nested output_type, and the bare string
model names the SDK sends (contract decision 16)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, RunConfig, Runner, set_tracing_disabled
from agents.models.multi_provider import MultiProvider

from emulator.testing import ServedEmulator
from tests.structured_models import Report
from tests.support import make_config

set_tracing_disabled(True)  # the SDK would export traces to OpenAI


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config()) as emulator:
        yield emulator


def test_a_nested_output_type_with_run_and_run_streamed(served: ServedEmulator) -> None:
    async def both() -> tuple[object, object]:
        model = OpenAIResponsesModel(model="openai/gpt-4o", openai_client=served.async_openai_client())
        agent = Agent(name="reporter", model=model, output_type=Report)
        ran = await Runner.run(agent, "Report on a city")
        streamed = Runner.run_streamed(agent, "Report on a city")
        async for _ in streamed.stream_events():
            pass
        return ran.final_output, streamed.final_output

    ran, streamed = asyncio.run(both())
    assert isinstance(ran, Report) and ran == streamed


def run_with_string_model(emulator: ServedEmulator, model: str) -> Any:
    """An agent named by a string, as the SDK's docs write it: its provider layer picks the
    client and strips the `openai/` prefix before sending."""
    provider = MultiProvider(openai_client=emulator.async_openai_client(), openai_use_responses=True)
    agent = Agent(name="plain", model=model)
    return asyncio.run(Runner.run(agent, "Say hi", run_config=RunConfig(model_provider=provider)))


def test_a_bare_model_name_is_a_400_that_tells_the_fix(served: ServedEmulator) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        run_with_string_model(served, "openai/gpt-4o")
    sent = served.last_request
    assert sent.body["model"] == "gpt-4o"  # what the SDK sent: the prefix stripped
    assert "openai/openai/gpt-4o" in str(raised.value)  # decision 16: the message says what works


def test_default_provider_takes_the_bare_name_with_a_warning() -> None:
    with ServedEmulator.running(make_config(default_provider="openai")) as emulator:
        result = run_with_string_model(emulator, "openai/gpt-4o")
        assert isinstance(result.final_output, str) and result.final_output
        entry = emulator.last_request
        assert entry.status == 200 and entry.body["model"] == "gpt-4o"
        assert any("openai/gpt-4o" in str(w) for w in entry.warnings), entry.warnings
    # and the name written twice works with no setting at all
    with ServedEmulator.running(make_config()) as emulator:
        assert run_with_string_model(emulator, "openai/openai/gpt-4o").final_output
