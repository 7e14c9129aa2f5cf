"""Real clients, unmodified, against a real uvicorn server: the orq Python SDK and the OpenAI SDK."""

from __future__ import annotations

import openai
import pytest
from orq_ai_sdk import Orq, models

from emulator.config import DEV_API_KEY
from emulator.testing import ServedEmulator
from tests.support import assert_contract_response


def test_orq_create_and_get(orq: Orq) -> None:
    created = orq.responses.create(
        model="openai/gpt-4o-mini",
        input="Say hi",
        instructions="be nice",
        metadata={"team": "web"},
        temperature=0.2,
    )
    assert created.status == "completed"
    assert created.model == "openai/gpt-4o-mini"
    assert created.instructions == "be nice"
    assert created.metadata == {"team": "web"}
    assert created.temperature == 0.2
    assert created.usage.input_tokens > 0 and created.usage.output_tokens > 0
    assert created.output[0]["content"][0]["text"]
    fetched = orq.responses.get(response_id=created.id)
    assert fetched.model_dump() == created.model_dump()


def test_orq_structured_input_and_tools(orq: Orq) -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}]
    unrelated = orq.responses.create(
        model="anthropic/claude-sonnet-4-5",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Tell me a story."}]}],
        tools=tools,
        tool_choice="auto",
        max_output_tokens=5,
    )
    assert unrelated.status == "incomplete"
    assert unrelated.incomplete_details.reason == "max_output_tokens"
    assert unrelated.usage.output_tokens == 5
    assert unrelated.tools[0]["name"] == "get_weather"
    # A question the tool answers gets a call, `completed` for the orq SDK (decision 4).
    called = orq.responses.create(
        model="anthropic/claude-sonnet-4-5",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "weather?"}]}],
        tools=tools,
    )
    assert called.status == "completed"
    assert [(o["type"], o["name"]) for o in called.output] == [("function_call", "get_weather")]


def test_orq_typed_errors(orq: Orq) -> None:
    with pytest.raises(models.APIErrorResponse) as bad:
        orq.responses.create(model="gpt-4o", input="hi")
    assert bad.value.data.error.param == "/model"
    assert bad.value.data.error.code == "invalid_request_body"
    with pytest.raises(models.APIErrorResponse) as unauthorised:
        orq.responses.create(
            model="openai/gpt-4o", input="hi", http_headers={"Authorization": "Bearer wrong"}
        )
    assert unauthorised.value.data.error.code == "invalid_api_key"
    with pytest.raises(models.RetrieveResponseResponsesResponseBody) as missing:
        orq.responses.get(response_id="resp_0000000000000000000000NONE")
    assert missing.value.data.error.code == "response_not_found"


def test_orq_missing_key(live: ServedEmulator) -> None:
    with pytest.raises(models.APIErrorResponse) as unauthorised:
        Orq(server_url=live.base_url, api_key=None).responses.create(model="openai/gpt-4o", input="hi")
    assert unauthorised.value.data.error.code == "authentication_required"


def test_openai_create_and_retrieve(oai: openai.OpenAI) -> None:
    created = oai.responses.create(model="openai/gpt-4o", input="Write a haiku", metadata={"k": "v"})
    assert created.status == "completed"
    assert created.output_text
    assert created.metadata == {"k": "v"}
    fetched = oai.responses.retrieve(created.id)
    assert fetched.output_text == created.output_text
    assert fetched.id == created.id
    assert_contract_response(created.model_dump(mode="json", exclude_unset=True))


def test_openai_strict_parsing(live: ServedEmulator) -> None:
    strict = openai.OpenAI(
        api_key=DEV_API_KEY,
        base_url=f"{live.base_url}/v3/router",
        _strict_response_validation=True,
        max_retries=0,
    )
    created = strict.responses.create(model="openai/gpt-4o", input=[{"role": "user", "content": "hello"}])
    assert created.output[0].type == "message"
    assert strict.responses.retrieve(created.id).id == created.id


def test_openai_continues_a_conversation(oai: openai.OpenAI) -> None:
    first = oai.responses.create(model="openai/gpt-4o", input="My name is Ada.")
    second = oai.responses.create(
        model="openai/gpt-4o", input="What is my name?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    echoed = second.to_dict()["input"]  # the new turn echoes only its own input (decision 8)
    assert [item["content"][0]["text"] for item in echoed] == ["What is my name?"]
    # the first turn is context: it is counted in the second turn's input tokens
    assert second.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens


def test_openai_typed_errors(oai: openai.OpenAI, live: ServedEmulator) -> None:
    with pytest.raises(openai.BadRequestError) as bad:
        oai.responses.create(model="openai/gpt-4o", input="hi", temperature=5)
    assert bad.value.code == "invalid_request_body"
    assert bad.value.param == "/temperature"
    with pytest.raises(openai.BadRequestError) as gone:
        oai.responses.create(model="openai/gpt-4o", input="hi", previous_response_id="resp_nope")
    assert gone.value.code == "previous_response_not_found"
    with pytest.raises(openai.NotFoundError) as missing:
        oai.responses.retrieve("resp_0000000000000000000000NONE")
    assert missing.value.code == "response_not_found"
    wrong_key = openai.OpenAI(api_key="sk-wrong", base_url=f"{live.base_url}/v3/router", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as unauthorised:
        wrong_key.responses.create(model="openai/gpt-4o", input="hi")
    assert unauthorised.value.code == "invalid_api_key"


def test_openai_default_base_path(live: ServedEmulator) -> None:
    """The same handlers answer under /v1 (the OpenResponses default base path)."""
    v1 = openai.OpenAI(api_key=DEV_API_KEY, base_url=f"{live.base_url}/v1", max_retries=0)
    created = v1.responses.create(model="openai/gpt-4o", input="hi")
    assert v1.responses.retrieve(created.id).output_text == created.output_text
