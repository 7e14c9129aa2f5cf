"""The admin API's state routes: config, clock, reset (everything, or a session), the journal's
filters, and the conversations, threads and identities listings."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from emulator.app import create_app
from emulator.config import DEV_API_KEY
from emulator.testing import InProcessEmulator, ServedEmulator
from tests.support import make_config

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"


def test_config_shows_the_settings_with_keys_redacted() -> None:
    handle = InProcessEmulator(create_app(make_config(api_keys=("secret-one",), admin_keys=("secret-two",))))
    try:
        shown = handle.httpx_client(headers={"Authorization": "Bearer secret-two"}).get("/_emulator/config")
        assert shown.status_code == 200
        body = shown.json()
        assert body["api_keys"] == ["[REDACTED]"] and body["admin_keys"] == ["[REDACTED]"]
        assert "secret" not in shown.text
        assert body["max_stored"] == 10_000 and body["seed"] == 0
    finally:
        handle.close()
    dev = InProcessEmulator(create_app(make_config()))
    try:
        assert dev.httpx_client().get("/_emulator/config").json()["api_keys"] == [DEV_API_KEY]
    finally:
        dev.close()


def test_the_clock_freezes_advances_and_thaws(client: httpx.Client) -> None:
    state = client.get("/_emulator/clock").json()
    assert state == {"now": 1767225600.0, "iso": "2026-01-01T00:00:00Z", "frozen": True}
    moved = client.post("/_emulator/clock", json={"advance": 90}).json()
    assert moved["iso"] == "2026-01-01T00:01:30Z"
    assert client.post(URL, json={"model": MODEL, "input": "hi"}).json()["created_at"] == 1767225690
    frozen = client.post("/_emulator/clock", json={"freeze": "2030-06-01T12:00:00Z"}).json()
    assert frozen["iso"] == "2030-06-01T12:00:00Z" and frozen["frozen"] is True
    thawed = client.post("/_emulator/clock", json={"thaw": True}).json()
    assert thawed["frozen"] is False and thawed["now"] >= 1906459200  # real time, from 2030-06-01
    time.sleep(0.05)
    assert client.get("/_emulator/clock").json()["now"] > thawed["now"]  # it runs
    for bad in ({"advance": -1}, {"advance": "1"}, {"freeze": "yesterday"}, {"stop": True}, [1]):
        refused = client.post("/_emulator/clock", json=bad)
        assert refused.status_code == 400, bad


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config()) as live:
        yield live


def test_reset_forgets_everything(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    stored = client.post(URL, json={"model": MODEL, "input": "hi", "conversation": {"id": "c"}}).json()["id"]
    cached = {"model": MODEL, "input": "cached", "cache": {"type": "exact_match"}}
    client.post(URL, json=cached)
    background = client.post(URL, json={"model": MODEL, "input": "bg", "background": True},
                             headers={"x-emulator-timing": "queue_ms=5000"}).json()["id"]  # fmt: skip
    assert client.post("/_emulator/reset").status_code == 204
    assert client.get(f"{URL}/{stored}").status_code == 404
    assert client.get(f"{URL}/{background}").status_code == 404
    assert client.get("/_emulator/conversations").json() == {"conversations": []}
    assert client.post(URL, json=cached).headers["x-emulator-cache"] == "miss"
    posts = [e.body["input"] for e in responses_emulator.requests if e.method == "POST"]
    assert posts == ["cached"]  # the journal began again


def test_reset_of_one_session_keeps_the_others(responses_emulator: InProcessEmulator) -> None:
    responses_emulator.on(message="count").reply("one").reply("two")
    client = responses_emulator.httpx_client()

    def said(session: str) -> str:
        body = {"model": MODEL, "input": "count"}
        answer = client.post(URL, json=body, headers={"x-emulator-session": session}).json()
        return str(answer["output"][0]["content"][0]["text"])

    assert [said("a"), said("b")] == ["one", "one"]
    assert client.post("/_emulator/reset", params={"session": "a"}).status_code == 204
    assert [said("a"), said("b")] == ["one", "two"]
    sessions = [e.headers.get("x-emulator-session") for e in responses_emulator.requests]
    assert sessions == ["b", "a", "b"]  # a's first request left the journal with the reset


def test_the_journal_filters(client: httpx.Client, responses_emulator: InProcessEmulator) -> None:
    responses_emulator.on(message="scripted").reply("yes")
    client.post(
        URL,
        json={"model": MODEL, "input": "scripted", "thread": {"id": "t1"}},
        headers={"x-emulator-session": "s1"},
    )
    client.post(URL, json={"model": MODEL, "input": "plain"})
    client.post(URL, json={"model": MODEL, "temperature": 9, "input": "bad"})
    client.get(f"{URL}/resp_missing")

    def inputs(**query: str) -> list[object]:
        listed = client.get("/_emulator/requests", params=query).json()["requests"]
        return [entry["body"]["input"] if entry["body"] else entry["path"] for entry in listed]

    assert inputs(session="s1") == ["scripted"]
    assert inputs(thread="t1") == ["scripted"]
    assert inputs(scenario="on-message-scripted") == ["scripted"]
    assert inputs(status="400") == ["bad"]
    assert inputs(path=f"{URL}/resp_missing") == [f"{URL}/resp_missing"]
    assert len(inputs()) == 4


def test_threads_identities_and_conversations_are_listed(client: httpx.Client) -> None:
    first = client.post(URL, json={"model": MODEL, "input": "a", "thread": {"id": "t", "tags": ["x"]},
                                   "identity": {"id": "u1", "display_name": "Ann"}}).json()["id"]  # fmt: skip
    second = client.post(URL, json={"model": MODEL, "input": "b", "thread": {"id": "t"},
                                    "conversation": {"id": "conv-1"}}).json()["id"]  # fmt: skip
    assert client.get("/_emulator/threads").json() == {
        "threads": [{"id": "t", "tags": ["x"], "responses": [first, second]}]
    }
    assert client.get("/_emulator/identities").json() == {
        "identities": [{"id": "u1", "display_name": "Ann", "responses": [first]}]
    }
    listed = client.get("/_emulator/conversations").json()["conversations"]
    assert [(c["id"], c["items"], c["turns"]) for c in listed] == [("conv-1", 2, 1)]


def test_the_admin_routes_need_the_key(served: ServedEmulator) -> None:
    for path in ("/_emulator/config", "/_emulator/clock", "/_emulator/threads", "/_emulator/conversations"):
        assert httpx.get(served.base_url + path).status_code == 401
