"""Conversations: orq's `conversation: {id}` and OpenAI's Conversations API on one store; each
turn's context is the conversation so far (tokens, function calls, the turn scenarios match on)."""

from __future__ import annotations

import httpx
import openai
import pytest

from emulator.testing import InProcessEmulator, ServedEmulator
from tests.support import assert_contract_response, make_config
from tests.test_conformance import run_node

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"


def test_orq_conversation_accumulates_and_is_the_context(client: httpx.Client) -> None:
    first = client.post(URL, json={"model": MODEL, "input": "one", "conversation": {"id": "chat-1"}}).json()
    second = client.post(URL, json={"model": MODEL, "input": "two", "conversation": {"id": "chat-1"}}).json()
    alone = client.post(URL, json={"model": MODEL, "input": "two"}).json()
    assert_contract_response(second)
    assert second["conversation"] == {"id": "chat-1"}
    assert [i["content"][0]["text"] for i in second["input"]] == ["two"]  # its own input only
    # the context: the first turn's input and output count as input tokens of the second
    assert second["usage"]["input_tokens"] > alone["usage"]["input_tokens"]
    assert (
        first["usage"]["input_tokens"] == alone["usage"]["input_tokens"] - 0
    )  # "one" and "two" weigh the same
    other = client.post(URL, json={"model": MODEL, "input": "two", "conversation": {"id": "chat-2"}}).json()
    assert other["usage"]["input_tokens"] == alone["usage"]["input_tokens"]


def test_scenarios_match_on_the_conversations_turn(responses_emulator: InProcessEmulator) -> None:
    responses_emulator.on(turn=1).reply("second turn")
    client = responses_emulator.httpx_client()
    body = {"model": MODEL, "input": "hi", "conversation": {"id": "c"}}
    assert client.post(URL, json=body).json()["output"][0]["content"][0]["text"] != "second turn"
    assert client.post(URL, json=body).json()["output"][0]["content"][0]["text"] == "second turn"


def test_a_function_call_is_answered_in_the_conversation(client: httpx.Client) -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]
    body = {
        "model": MODEL,
        "input": "weather?",
        "tools": tools,
        "tool_choice": "required",
        "conversation": {"id": "w"},
    }
    called = client.post(URL, json=body).json()
    call = next(i for i in called["output"] if i["type"] == "function_call")
    answer = {"type": "function_call_output", "call_id": call["call_id"], "output": "sunny"}
    followed = client.post(URL, json={"model": MODEL, "input": [answer], "conversation": {"id": "w"}})
    assert followed.status_code == 200, followed.text
    unknown = client.post(URL, json={"model": MODEL, "input": [answer], "conversation": {"id": "elsewhere"}})
    assert unknown.status_code == 400


def test_openai_conversations_api(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    conversation = oai.conversations.create(
        items=[{"type": "message", "role": "user", "content": "Remember: blue."}],
        metadata={"topic": "colours"},
    )
    assert conversation.id.startswith("conv_") and conversation.metadata == {"topic": "colours"}
    assert oai.conversations.retrieve(conversation.id).id == conversation.id
    updated = oai.conversations.update(conversation.id, metadata={"topic": "paint"})
    assert updated.metadata == {"topic": "paint"}

    response = oai.responses.create(model=MODEL, input="What colour?", conversation=conversation.id)
    assert response.conversation is not None and response.conversation.id == conversation.id
    listed = oai.conversations.items.list(conversation.id, order="asc")
    kinds = [(item.type, getattr(item, "role", None)) for item in listed.data]
    assert kinds == [("message", "user"), ("message", "user"), ("message", "assistant")]
    added = oai.conversations.items.create(
        conversation.id, items=[{"type": "message", "role": "user", "content": "And green."}]
    )
    assert len(added.data) == 1
    item_id = added.data[0].id
    assert oai.conversations.items.retrieve(item_id, conversation_id=conversation.id).id == item_id
    oai.conversations.items.delete(item_id, conversation_id=conversation.id)
    assert len(oai.conversations.items.list(conversation.id).data) == 3
    deleted = oai.conversations.delete(conversation.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        oai.conversations.retrieve(conversation.id)
    with pytest.raises(openai.NotFoundError):
        oai.responses.create(model=MODEL, input="hi", conversation=conversation.id)


def test_the_api_context_counts_what_was_added(client: httpx.Client) -> None:
    made = client.post(
        "/v1/conversations", json={"items": [{"role": "user", "content": "a long memory " * 20}]}
    )
    conversation = made.json()["id"]
    seeded = client.post(URL, json={"model": MODEL, "input": "hi", "conversation": conversation}).json()
    alone = client.post(URL, json={"model": MODEL, "input": "hi"}).json()
    assert seeded["usage"]["input_tokens"] > alone["usage"]["input_tokens"] + 40


def test_bad_conversation_requests(client: httpx.Client) -> None:
    both = client.post(URL, json={"model": MODEL, "input": "hi", "conversation": {"id": "c"},
                                  "previous_response_id": "resp_x"})  # fmt: skip
    assert (both.status_code, both.json()["error"]["param"]) == (400, "/conversation")
    bad_items = client.post("/v1/conversations", json={"items": [{"role": "tool", "content": "x"}]})
    assert bad_items.status_code == 400 and bad_items.json()["error"]["param"].startswith("/items/0")
    assert client.get("/v1/conversations/conv_nope").status_code == 404
    assert client.get("/v3/router/conversations/conv_nope/items").status_code == 404
    bad_meta = client.post("/v1/conversations", json={"metadata": {"k": 1}})
    assert bad_meta.status_code == 400


def test_conversations_are_bounded() -> None:
    from emulator.app import create_app
    from emulator.testing import InProcessEmulator as Handle
    from tests.support import make_config

    handle = Handle(create_app(make_config(max_conversations=2)))
    try:
        client = handle.httpx_client()
        for name in ("a", "b", "c"):
            client.post(URL, json={"model": MODEL, "input": "hi", "conversation": {"id": name}})
        assert handle.app.service.worlds.default.conversations.ids() == ["b", "c"]  # the oldest went
    finally:
        handle.close()


def test_the_node_sdk_conversations_api() -> None:
    with ServedEmulator.running(make_config()) as live:
        live.on(turn=0, message="count").reply("one")
        live.on(turn=1, message="count").reply("two")
        seen = run_node("conversations.mjs", live)
    assert seen["id"].startswith("conv_") and seen["metadata"] == {"topic": "demo"}
    # the created items are turn 0's context; each turn's input and output join the conversation
    assert (seen["firstText"], seen["secondText"]) == ("one", "two")
    assert seen["secondInputTokens"] > seen["firstInputTokens"]
    assert seen["items"] == [
        "user:My name is Ada.",
        "user:count",
        "assistant:one",
        "user:count",
        "assistant:two",
    ]
    assert seen["added"] == ["An aside."] and seen["updated"] == {"topic": "changed"}
    assert seen["deleted"] == {"id": seen["id"], "object": "conversation.deleted", "deleted": True}
    assert seen["afterwards"] == 404
