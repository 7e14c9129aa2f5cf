"""The OpenAI extras (contract decision 2) through the OpenAI SDKs, Python and Node: DELETE
/responses/{id}, GET /responses/{id}/input_items (limit, order, after, before, include),
POST /responses/input_tokens; and the routes around them."""

from __future__ import annotations

import httpx
import openai
import pytest

from emulator.testing import InProcessEmulator, ServedEmulator
from tests.support import make_config
from tests.test_conformance import run_node

MODEL = "openai/gpt-4o"
INPUT = [
    {"role": "user", "content": "first"},
    {"role": "assistant", "content": "second"},
    {"role": "user", "content": "third"},
]


def texts(items: list[object]) -> list[str]:
    return [item.content[0].text for item in items]  # type: ignore[attr-defined]


def test_input_items_page_through_with_the_sdk(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    created = oai.responses.create(model=MODEL, input=INPUT)
    newest_first = oai.responses.input_items.list(created.id)
    assert texts(newest_first.data) == ["third", "second", "first"]  # desc by default
    assert newest_first.has_more is False
    ids = [item["id"] for item in created.input]  # type: ignore[attr-defined]  (orq's echo: an extra to the SDK)
    assert (newest_first.first_id, newest_first.last_id) == (ids[2], ids[0])
    page = oai.responses.input_items.list(created.id, order="asc", limit=2)
    assert texts(page.data) == ["first", "second"] and page.has_more is True
    assert texts(list(oai.responses.input_items.list(created.id, order="asc", limit=1))) == [
        "first",
        "second",
        "third",
    ]  # fmt: skip  (the SDK's auto-pagination follows `after`)
    before = oai.responses.input_items.list(created.id, order="asc", extra_query={"before": ids[2]})
    assert texts(before.data) == ["first", "second"]
    with_include = oai.responses.input_items.list(created.id, include=["message.input_image.image_url"])
    assert len(with_include.data) == 3


def test_input_items_of_a_continuation_are_its_own(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    first = oai.responses.create(model=MODEL, input="one")
    second = oai.responses.create(model=MODEL, input="two", previous_response_id=first.id)
    assert texts(oai.responses.input_items.list(second.id).data) == ["two"]


def test_bad_queries_and_unknown_ids(client: httpx.Client) -> None:
    created = client.post("/v3/router/responses", json={"model": MODEL, "input": INPUT}).json()
    url = f"/v3/router/responses/{created['id']}/input_items"
    for query, param in (({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"order": "up"}, "order"),
                         ({"after": "msg_nope"}, "after"), ({"before": "msg_nope"}, "before")):  # fmt: skip
        refused = client.get(url, params=query)
        assert (refused.status_code, refused.json()["error"]["param"]) == (400, param), query
    assert client.get("/v3/router/responses/resp_nope/input_items").status_code == 404
    assert client.delete("/v3/router/responses/resp_nope").status_code == 404


def test_input_tokens_count_what_a_create_would(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    tools = [{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]
    body = {"model": MODEL, "input": INPUT, "instructions": "Be brief.", "tools": tools}
    counted = oai.responses.input_tokens.count(**body)  # type: ignore[arg-type]
    created = oai.responses.create(**body)  # type: ignore[arg-type]
    assert counted.input_tokens == created.usage.input_tokens > 0
    chained = oai.responses.input_tokens.count(model=MODEL, input="and more", previous_response_id=created.id)
    follow = oai.responses.create(model=MODEL, input="and more", previous_response_id=created.id)
    alone = oai.responses.input_tokens.count(model=MODEL, input="and more")
    assert chained.input_tokens == follow.usage.input_tokens > alone.input_tokens  # the chain counts


def test_counting_draws_no_ids(responses_emulator: InProcessEmulator) -> None:
    from emulator.app import create_app
    from emulator.testing import InProcessEmulator as Handle

    quiet = Handle(create_app(make_config()))
    try:
        plain = quiet.openai_client().responses.create(model=MODEL, input="hi")
    finally:
        quiet.close()
    oai = responses_emulator.openai_client()
    oai.responses.input_tokens.count(model=MODEL, input=INPUT)
    assert oai.responses.create(model=MODEL, input="hi").id == plain.id


def test_a_bad_body_to_count_is_a_400(client: httpx.Client) -> None:
    refused = client.post("/v3/router/responses/input_tokens", json={"model": MODEL, "temperature": 9})
    assert (refused.status_code, refused.json()["error"]["param"]) == (400, "/temperature")


def test_delete_then_it_is_gone(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    created = oai.responses.create(model=MODEL, input="hi")
    assert oai.responses.delete(created.id) is None  # the SDK returns nothing for the deleted object
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError):  # nor can it be continued
        oai.responses.create(model=MODEL, input="more", previous_response_id=created.id)


def test_delete_answers_the_deleted_object(client: httpx.Client) -> None:
    created = client.post("/v3/router/responses", json={"model": MODEL, "input": "hi"}).json()
    deleted = client.delete(f"/v1/responses/{created['id']}")
    assert deleted.json() == {"id": created["id"], "object": "response", "deleted": True}
    assert deleted.headers["x-orq-trace-id"] == created["telemetry"]["trace_id"]


def test_the_node_sdk_extras() -> None:
    with ServedEmulator.running(make_config()) as live:
        seen = run_node("extras.mjs", live)
    assert seen["page"] == ["first", "second"] and seen["hasMore"] is True
    assert seen["all"] == ["first", "second", "third"]
    assert seen["inputTokens"] == seen["usageInputTokens"] > 0
    assert seen["afterwards"] == 404
