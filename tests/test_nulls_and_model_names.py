"""Contract decisions 15 (explicit nulls mean "not given") and 16 (bare model names: a 400 that
tells the fix, or --default-provider)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import ServedEmulator
from tests.support import AUTH, assert_contract_error, assert_contract_response, make_config

URL = "/v3/router/responses"
# What llama-index sends on every call: each optional field it leaves unset, as null.
LLAMA_INDEX = {
    "model": "openai/gpt-4o", "input": "hi", "include": None, "instructions": None, "metadata": None,
    "max_output_tokens": None, "previous_response_id": None, "store": None, "temperature": None,
    "top_p": None, "tools": None, "tool_choice": None, "parallel_tool_calls": None, "truncation": None,
    "user": None, "text": None, "reasoning": {"effort": None, "summary": None},
}  # fmt: skip


def client(**settings: Any) -> TestClient:
    return TestClient(create_app(make_config(**settings)), headers=AUTH)


def warnings_of(answer: Any) -> list[str]:
    return json.loads(answer.headers.get("x-emulator-contract-warnings", "[]"))


def test_all_null_optional_fields_are_taken_as_not_given_with_a_warning_each() -> None:
    answer = client().post(URL, json=LLAMA_INDEX)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert_contract_response(body)
    # Echoed with the defaults, as if never sent (values written by hand from the contract).
    assert (body["temperature"], body["top_p"], body["metadata"], body["tools"]) == (1.0, 1.0, {}, [])
    assert (body["store"], body["tool_choice"], body["parallel_tool_calls"]) == (True, "auto", True)
    assert body["instructions"] is None and body["max_output_tokens"] is None
    warned = warnings_of(answer)
    for field in ("include", "instructions", "metadata", "store", "temperature", "top_p", "tools",
                  "tool_choice", "parallel_tool_calls", "text", "max_output_tokens", "previous_response_id",
                  "reasoning/effort"):  # fmt: skip
        assert any(w.startswith(f"/{field} is null") for w in warned), (field, warned)
    # OpenAI's fields that orq does not have are warned as unknown, null or not.
    for field in ("truncation", "user"):
        assert f"/{field} is not a field of the orq Responses API" in warned


def test_strict_mode_refuses_a_null_where_the_schema_has_none() -> None:
    answer = client(strict=True).post(URL, json={"model": "openai/gpt-4o", "input": "hi", "include": None})
    assert answer.status_code == 400
    assert_contract_error(answer.json())
    assert answer.json()["error"]["param"] == "/include"


@pytest.mark.parametrize(
    ("field", "message"), [("model", "provider/model"), ("input", "must be a string or an array")]
)
def test_a_required_field_is_never_taken_as_not_given(field: str, message: str) -> None:
    answer = client().post(URL, json={"model": "openai/gpt-4o", "input": "hi", field: None})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == f"/{field}"
    assert message in answer.json()["error"]["message"]


def test_a_null_beside_a_real_problem_reports_the_problem() -> None:
    answer = client().post(URL, json={**LLAMA_INDEX, "top_p": 7})
    assert (answer.status_code, answer.json()["error"]["param"]) == (400, "/top_p")


def test_a_bare_model_name_is_a_400_that_tells_the_fix() -> None:
    answer = client().post(URL, json={"model": "gpt-4o", "input": "hi"})
    assert (answer.status_code, answer.json()["error"]["param"]) == (400, "/model")
    message = answer.json()["error"]["message"]
    assert "'openai/openai/gpt-4o'" in message and "--default-provider" in message


def test_default_provider_takes_bare_names_through_a_real_client() -> None:
    with ServedEmulator.running(make_config(default_provider="openai")) as emulator:
        created = emulator.openai_client().responses.create(model="gpt-4o", input="hi")
        assert created.model == "openai/gpt-4o"
        entry = list(emulator.app.journal)[-1]
        assert entry.warnings == (
            "/model 'gpt-4o' has no provider; taken as 'openai/gpt-4o' (--default-provider)",
        )
        # a name that has a provider is left alone
        assert (
            emulator.openai_client().responses.create(model="anthropic/claude", input="hi").model
            == "anthropic/claude"
        )
