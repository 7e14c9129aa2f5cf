"""Agents (`model: agent/<key>`, contract 2.6): defined in scenario files, their settings apply
unless the request overrides them; an unknown agent is a 404, a memory agent without memory a 400."""

from __future__ import annotations

import pytest

from emulator.testing import InProcessEmulator
from tests.support import assert_contract_error, assert_contract_response

URL = "/v3/router/responses"
AGENTS = {
    "agents": [
        {"key": "support-bot", "model": "anthropic/claude-sonnet-4-5", "instructions": "Help {{customer}} kindly.",
         "variables": {"customer": "a customer"},
         "tools": [{"type": "function", "name": "lookup_order", "parameters": {"type": "object", "properties": {}}}]},
        {"key": "remembering", "model": "openai/gpt-4o", "memory": "required"},
    ]
}  # fmt: skip


@pytest.fixture
def agents(responses_emulator: InProcessEmulator) -> InProcessEmulator:
    return responses_emulator.load(AGENTS)


def test_the_agents_settings_apply_and_the_response_names_its_model(agents: InProcessEmulator) -> None:
    answered = agents.httpx_client().post(
        URL, json={"model": "agent/support-bot", "input": "Where is my order?"}
    )
    body = answered.json()
    assert_contract_response(body)
    assert body["model"] == "anthropic/claude-sonnet-4-5"
    assert body["instructions"] == "Help a customer kindly."
    assert [t["name"] for t in body["tools"]] == ["lookup_order"]


def test_the_request_overrides_the_agent(agents: InProcessEmulator) -> None:
    body = {"model": "agent/support-bot", "input": "hi", "instructions": "Be brief, {{customer}}.",
            "variables": {"customer": "Ann"}, "tools": []}  # fmt: skip
    answered = agents.httpx_client().post(URL, json=body).json()
    assert answered["instructions"] == "Be brief, Ann."
    assert answered["tools"] == []


def test_scenarios_match_the_agent(agents: InProcessEmulator) -> None:
    agents.on(agent="support-bot").reply("Order 42 ships today.")
    answered = agents.httpx_client().post(URL, json={"model": "agent/support-bot", "input": "hi"}).json()
    assert answered["output"][0]["content"][0]["text"] == "Order 42 ships today."


def test_an_unknown_agent_and_a_missing_memory(agents: InProcessEmulator) -> None:
    client = agents.httpx_client()
    unknown = client.post(URL, json={"model": "agent/nobody", "input": "hi"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "agent_not_found")
    assert_contract_error(unknown.json())
    forgetful = client.post(URL, json={"model": "agent/remembering", "input": "hi"})
    assert (forgetful.status_code, forgetful.json()["error"]["code"]) == (400, "memory_entity_id_required")
    assert forgetful.json()["error"]["param"] == "/memory"
    remembered = client.post(
        URL, json={"model": "agent/remembering", "input": "hi", "memory": {"entity_id": "u1"}}
    )
    assert remembered.status_code == 200 and remembered.json()["memory"] == {"entity_id": "u1"}


def test_without_agent_definitions_an_agent_model_is_answered_as_any(
    responses_emulator: InProcessEmulator,
) -> None:
    answered = responses_emulator.httpx_client().post(URL, json={"model": "agent/anyone", "input": "hi"})
    assert answered.status_code == 200 and answered.json()["model"] == "agent/anyone"


def test_a_bad_agent_definition_is_a_file_problem(responses_emulator: InProcessEmulator) -> None:
    from emulator.scenarios.source import ScenarioFilesInvalid

    with pytest.raises(ScenarioFilesInvalid, match="model"):
        responses_emulator.load({"agents": [{"key": "x", "model": "no-provider"}]})
