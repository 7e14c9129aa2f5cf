"""Stored responses: retrieval, store:false, previous_response_id chains, the cap."""

from __future__ import annotations

import httpx
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import InProcessEmulator
from tests.support import AUTH, make_config

URL = "/v3/router/responses"
HI = {"model": "openai/gpt-4o", "input": "hi"}


def test_store_false_is_not_retrievable_nor_continuable(client: httpx.Client) -> None:
    created = client.post(URL, json={**HI, "store": False}).json()
    assert created["store"] is False
    assert client.get(f"{URL}/{created['id']}").status_code == 404
    follow = client.post(URL, json={**HI, "previous_response_id": created["id"]})
    assert follow.status_code == 400
    assert follow.json()["error"]["code"] == "previous_response_not_found"
    assert "store:false" in follow.json()["error"]["message"]


def test_chain_carries_context(client: httpx.Client) -> None:
    first = client.post(URL, json=HI).json()
    second = client.post(URL, json={**HI, "previous_response_id": first["id"]}).json()
    third = client.post(URL, json={**HI, "previous_response_id": second["id"]}).json()
    assert [len(r["input"]) for r in (first, second, third)] == [1, 1, 1]
    assert first["usage"]["input_tokens"] < second["usage"]["input_tokens"] < third["usage"]["input_tokens"]
    assert client.get(f"{URL}/{second['id']}").json() == second


def test_function_call_output_answers_a_call_in_the_chain(client: httpx.Client) -> None:
    call = {"type": "function_call", "call_id": "call_42", "name": "get_weather", "arguments": "{}"}
    first = client.post(URL, json={**HI, "input": [{"role": "user", "content": "weather?"}, call]})
    assert first.status_code == 200
    answer = {"type": "function_call_output", "call_id": "call_42", "output": "sunny"}
    second = client.post(URL, json={**HI, "input": [answer], "previous_response_id": first.json()["id"]})
    assert second.status_code == 200, second.text
    assert second.json()["input"][0]["call_id"] == "call_42"
    stray = client.post(
        URL,
        json={**HI, "input": [{**answer, "call_id": "call_43"}], "previous_response_id": first.json()["id"]},
    )
    assert (stray.status_code, stray.json()["error"]["param"]) == (400, "/input/0/call_id")


def test_oldest_responses_are_evicted_at_the_cap() -> None:
    with TestClient(create_app(make_config(max_stored=2)), headers=AUTH) as client:
        ids = [client.post(URL, json=HI).json()["id"] for _ in range(3)]
        assert [client.get(f"{URL}/{i}").status_code for i in ids] == [404, 200, 200]
        assert len(client.app.store) == 2


def test_failed_requests_store_nothing(responses_emulator: InProcessEmulator, client: httpx.Client) -> None:
    before = len(responses_emulator.app.store)
    assert client.post(URL, json={**HI, "temperature": 9}).status_code == 400
    assert client.post(URL, json={**HI, "previous_response_id": "resp_x"}).status_code == 400
    assert len(responses_emulator.app.store) == before
