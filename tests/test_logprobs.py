"""Logprobs: asked with top_logprobs > 0 or include, one entry per streamed piece, JSON and stream
agreeing (through the OpenAI SDK), alternatives as many as asked, trimmed with the text."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import ServedEmulator
from emulator.testing.streams import read_sse
from tests.support import AUTH, assert_contract_response, make_config

URL = "/v1/responses"


@pytest.fixture(scope="module")
def served() -> ServedEmulator:
    with ServedEmulator.running(make_config()) as emulator:
        yield emulator


def part_of(body: dict[str, Any]) -> dict[str, Any]:
    return body["output"][0]["content"][0]


def test_json_and_stream_agree_through_the_openai_sdk(served: ServedEmulator) -> None:
    client = served.openai_client()
    created = client.responses.create(model="openai/gpt-4o", input="hi", top_logprobs=3)
    entries = [e.model_dump() for e in created.output[0].content[0].logprobs]
    with client.responses.stream(model="openai/gpt-4o", input="hi", top_logprobs=3) as stream:
        deltas = [
            (e.delta, [x.model_dump() for x in e.logprobs])
            for e in stream
            if e.type == "response.output_text.delta"
        ]
        final = stream.get_final_response()
    assert [x for _, d in deltas for x in d] == entries  # each delta carries its piece's entry
    assert all(len(d) == 1 and d[0]["token"] == delta for delta, d in deltas)
    assert "".join(e["token"] for e in entries) == created.output_text  # the tokens are the text
    assert [e.model_dump() for e in final.output[0].content[0].logprobs] == entries
    for e in entries:
        assert len(e["top_logprobs"]) == 3 and e["top_logprobs"][0]["token"] == e["token"]
        assert e["bytes"] == list(e["token"].encode())
        assert 0 >= e["logprob"] >= -2.5
        listed = [t["logprob"] for t in e["top_logprobs"]]
        assert listed == sorted(listed, reverse=True) and len({t["token"] for t in e["top_logprobs"]}) == 3


def test_include_asks_for_them_without_alternatives_and_a_cut_trims_them() -> None:
    c = TestClient(create_app(make_config()), headers=AUTH)
    body = c.post(
        URL,
        json={
            "model": "openai/gpt-4o",
            "input": "hi",
            "include": ["message.output_text.logprobs"],
            "max_output_tokens": 3,
        },
    ).json()
    assert_contract_response(body)
    part = part_of(body)
    assert len(part["logprobs"]) == 3 and all(e["top_logprobs"] == [] for e in part["logprobs"])
    assert "".join(e["token"] for e in part["logprobs"]) == part["text"]
    plain = c.post(URL, json={"model": "openai/gpt-4o", "input": "hi"}).json()
    assert part_of(plain)["logprobs"] == []


def test_a_replay_carries_them_too() -> None:
    c = TestClient(create_app(make_config()), headers=AUTH)
    body = c.post(URL, json={"model": "openai/gpt-4o", "input": "hi", "top_logprobs": 2}).json()
    replay = read_sse(c.get(f"{URL}/{body['id']}", params={"stream": "true"}).content).events
    deltas = [e["logprobs"][0] for e in replay if e["type"] == "response.output_text.delta"]
    assert deltas == part_of(body)["logprobs"]


@pytest.mark.parametrize("top", [1, 7, 20])
def test_every_allowed_number_of_alternatives(top: int) -> None:
    c = TestClient(create_app(make_config()), headers=AUTH)
    answer = c.post(URL, json={"model": "openai/gpt-4o", "input": "hi", "top_logprobs": top})
    assert answer.status_code == 200, answer.text
    for entry in part_of(answer.json())["logprobs"]:
        assert len({t["token"] for t in entry["top_logprobs"]}) == top
