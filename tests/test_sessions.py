"""Sessions (X-Emulator-Session): two tests sharing one served emulator do not see each other's
stored responses, conversations, memories, scenario sequences or journal entries, and each
session's bodies are byte-for-byte what they would be with the server to itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from emulator.app import create_app
from emulator.testing import InProcessEmulator, ServedEmulator
from tests.support import make_config

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"
TURNS = {
    "scenarios": [
        {"name": "first", "match": {"turn": 0, "last_user_message": "count"}, "reply": {"output": [{"text": "one"}]}},
        {"name": "second", "match": {"turn": 1, "last_user_message": "count"}, "reply": {"output": [{"text": "two"}]}},
        {"name": "seq", "match": {"last_user_message": "next"}, "turns": [{"output": [{"text": "a"}]}, {"output": [{"text": "b"}]}]},
    ]
}  # fmt: skip


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config()) as live:
        live.load(TURNS)
        yield live


def session_client(served: ServedEmulator, session: str) -> openai.OpenAI:
    return served.openai_client(default_headers={"X-Emulator-Session": session})


def test_interleaved_sessions_do_not_see_each_other(served: ServedEmulator) -> None:
    a, b = session_client(served, "a"), session_client(served, "b")
    a1 = a.responses.create(model=MODEL, input="count", extra_body={"conversation": {"id": "shared"}})
    b1 = b.responses.create(model=MODEL, input="count", extra_body={"conversation": {"id": "shared"}})
    a2 = a.responses.create(model=MODEL, input="count", extra_body={"conversation": {"id": "shared"}})
    b2 = b.responses.create(model=MODEL, input="count", extra_body={"conversation": {"id": "shared"}})
    # the same conversation id, a conversation of its own in each session
    assert [a1.output_text, b1.output_text, a2.output_text, b2.output_text] == ["one", "one", "two", "two"]
    assert [a.responses.create(model=MODEL, input="next").output_text for _ in "xy"] == ["a", "b"]
    assert b.responses.create(model=MODEL, input="next").output_text == "a"  # b's sequence is its own
    assert a.responses.retrieve(a1.id).id == a1.id
    with pytest.raises(openai.NotFoundError):
        b.responses.retrieve(a1.id)
    with pytest.raises(openai.NotFoundError):
        served.openai_client().responses.retrieve(a1.id)  # nor the default session
    with pytest.raises(openai.BadRequestError, match=r"Previous response with id .* was not found"):
        b.responses.create(model=MODEL, input="more", previous_response_id=a1.id)
    with pytest.raises(openai.NotFoundError):
        b.responses.delete(a1.id)
    assert a.responses.retrieve(a1.id).id == a1.id  # b's delete did not touch it
    conversation = a.conversations.create()
    with pytest.raises(openai.NotFoundError):
        b.conversations.retrieve(conversation.id)
    admin = httpx.Client(base_url=served.base_url, headers=served.auth_headers)
    journal = admin.get("/_emulator/requests", params={"session": "b"}).json()["requests"]
    assert {e["headers"]["x-emulator-session"] for e in journal} == {"b"} and len(journal) == 7
    assert [
        c["id"]
        for c in admin.get("/_emulator/conversations", params={"session": "a"}).json()["conversations"]
    ] == ["shared", conversation.id]


def test_memories_are_per_session(served: ServedEmulator) -> None:
    admin = httpx.Client(base_url=served.base_url, headers=served.auth_headers)
    assert (
        admin.post("/_emulator/memories/u1", params={"session": "a"}, json={"text": "a's"}).status_code == 201
    )
    assert admin.get("/_emulator/memories/u1", params={"session": "b"}).status_code == 404
    assert [
        e["entity_id"] for e in admin.get("/_emulator/memories", params={"session": "a"}).json()["entities"]
    ] == ["u1"]


def test_resetting_one_session_keeps_the_others(served: ServedEmulator) -> None:
    a, b = session_client(served, "a"), session_client(served, "b")
    kept, dropped = b.responses.create(model=MODEL, input="hi"), a.responses.create(model=MODEL, input="hi")
    admin = httpx.Client(base_url=served.base_url, headers=served.auth_headers)
    assert admin.post("/_emulator/reset", params={"session": "a"}).status_code == 204
    assert b.responses.retrieve(kept.id).id == kept.id
    with pytest.raises(openai.NotFoundError):
        a.responses.retrieve(dropped.id)


def bodies(client: httpx.Client, session: str, interleave: bool) -> list[bytes]:
    """Session's bodies for a fixed sequence of requests, with another session's in between or not."""
    out = []
    for text in ("hello", "tell me more", "and then?"):
        if interleave:
            client.post(
                URL, json={"model": MODEL, "input": f"noise {text}"}, headers={"x-emulator-session": "noise"}
            )
            client.post(URL, json={"model": MODEL, "input": "default noise"})
        body: dict[str, Any] = {"model": MODEL, "input": text}
        if out:
            body["previous_response_id"] = httpx.Response(200, content=out[-1]).json()["id"]
        out.append(client.post(URL, json=body, headers={"x-emulator-session": session}).content)
    return out


def test_a_sessions_bodies_do_not_depend_on_other_sessions() -> None:
    alone, shared = (InProcessEmulator(create_app(make_config())) for _ in range(2))
    try:
        assert bodies(alone.httpx_client(), "mine", False) == bodies(shared.httpx_client(), "mine", True)
        other = bodies(alone.httpx_client(), "theirs", False)
        assert (
            httpx.Response(200, content=other[0]).json()["id"]
            != httpx.Response(200, content=bodies(shared.httpx_client(), "mine2", False)[0]).json()["id"]
        )  # each session's ids are its own
    finally:
        alone.close()
        shared.close()


def test_the_least_recently_used_session_is_forgotten_past_the_cap() -> None:
    handle = InProcessEmulator(create_app(make_config(max_sessions=2)))
    try:
        client = handle.httpx_client()

        def create(session: str) -> str:
            return str(
                client.post(
                    URL, json={"model": MODEL, "input": "hi"}, headers={"x-emulator-session": session}
                ).json()["id"]
            )

        def found(session: str, response_id: str) -> bool:
            return (
                client.get(f"{URL}/{response_id}", headers={"x-emulator-session": session}).status_code == 200
            )

        first, second, default = create("s1"), create("s2"), create("")
        assert found("s1", first)  # s1 used again: s2 is now the least recently used
        create("s3")
        assert handle.app.service.worlds.sessions() == ["", "s1", "s3"]
        assert found("s1", first) and not found("s2", second) and found("", default)
    finally:
        handle.close()
