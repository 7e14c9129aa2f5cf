"""Same scenario, same seed, same requests: byte-identical bodies. Different seed: different text."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.engine.textgen import TextGenerator, request_digest
from emulator.testing import ServedEmulator
from tests.support import AUTH, make_config

SEQUENCE: list[dict[str, Any]] = [
    {"model": "openai/gpt-4o", "input": "hello"},
    {"model": "openai/gpt-4o", "input": "hello", "metadata": {"run": "2"}},
    {
        "model": "anthropic/claude-sonnet-4-5",
        "input": [{"role": "user", "content": "plan a trip"}],
        "max_output_tokens": 8,
    },
    {"model": "openai/gpt-4o", "input": "bad", "temperature": 7},
]


def run(seed: int, path: str = "/v3/router/responses") -> list[bytes]:
    bodies = []
    with TestClient(create_app(make_config(seed=seed)), headers=AUTH) as client:
        for request in SEQUENCE:
            bodies.append(client.post(path, json=request).content)
        first_id = client.post(path, json=SEQUENCE[0]).json()["id"]
        follow_up = {"model": "openai/gpt-4o", "input": "and then?", "previous_response_id": first_id}
        bodies.append(client.post(path, json=follow_up).content)
        bodies.append(client.get(f"{path}/{first_id}").content)
    return bodies


def test_same_seed_gives_byte_identical_bodies() -> None:
    assert run(seed=7) == run(seed=7)


def test_same_over_real_http() -> None:
    def over_http() -> list[bytes]:
        import httpx

        with (
            ServedEmulator.running(make_config(seed=3)) as server,
            httpx.Client(base_url=server.base_url, headers=AUTH) as http,
        ):
            return [http.post("/v3/router/responses", json=r).content for r in SEQUENCE]

    assert over_http() == over_http()


def text_of(body: dict[str, Any]) -> str:
    return body["output"][0]["content"][0]["text"]


def test_different_seed_gives_different_text_and_ids() -> None:
    import orjson

    a, b = ([orjson.loads(x) for x in run(seed)] for seed in (1, 2))
    assert text_of(a[0]) != text_of(b[0])
    assert a[0]["id"] != b[0]["id"]


def test_same_request_same_text_new_ids(client: httpx.Client) -> None:
    first = client.post("/v3/router/responses", json=SEQUENCE[0]).json()
    again = client.post("/v3/router/responses", json=SEQUENCE[0]).json()
    other = client.post("/v3/router/responses", json={**SEQUENCE[0], "input": "goodbye"}).json()
    assert text_of(first) == text_of(again)
    assert first["id"] != again["id"]
    assert text_of(first) != text_of(other)


def test_transport_does_not_change_the_words() -> None:
    request = {"model": "openai/gpt-4o", "input": "hi"}
    assert request_digest(0, request) == request_digest(
        0, {**request, "stream": True, "stream_options": {"include_obfuscation": False}}
    )
    assert request_digest(0, request) == request_digest(
        0, dict(reversed(request.items()))
    )  # key order is not meaning
    assert request_digest(0, request) != request_digest(0, {**request, "temperature": 0.5})
    assert request_digest(0, request) != request_digest(1, request)


def test_replies_are_plausible_sentences_made_of_their_tokens() -> None:
    from emulator.engine import tokens

    generator = TextGenerator()
    for n in range(200):
        pieces = generator.reply(request_digest(n, {"model": "openai/gpt-4o", "input": "hi"}))
        text = "".join(pieces)
        assert tokens.tokenize(text) == pieces  # the pieces are exactly the text's tokens
        sentences = text.split(". ")
        assert 1 <= len(sentences) <= 4 and text.endswith(".")
        assert all(s[0].isupper() and 4 <= len(s.rstrip(".").split()) <= 12 for s in sentences)


def test_clock_drives_timestamps() -> None:
    app = create_app(make_config())
    with TestClient(app, headers=AUTH) as client:
        before = client.post("/v3/router/responses", json=SEQUENCE[0]).json()
        app.clock.advance(90)
        after = client.post("/v3/router/responses", json=SEQUENCE[0]).json()
    assert after["created_at"] - before["created_at"] == 90
    assert after["id"] > before["id"]  # ULIDs sort by time


def test_each_app_renders_faker_text_with_a_faker_of_its_own() -> None:
    """Two apps in one process (the in-process fixture's portal thread and a served fixture's
    thread) must not share a Faker: each seeds it before each use, so a shared one could be
    reseeded by the other app between its seeding and its use."""
    document = {"scenarios": [{"name": "fake", "reply": {"output": [{"text": {"faker": "paragraph"}}]}}]}
    ask = {"model": "openai/gpt-4o", "input": "hello"}

    def answers(emulator: ServedEmulator, n: int) -> list[bytes]:
        http = emulator.httpx_client()
        return [
            http.post("/v3/router/responses", json={**ask, "input": f"hello {i}"}).content for i in range(n)
        ]

    with ServedEmulator.running(make_config()) as alone:
        alone.load(document)
        expected = answers(alone, 40)
    with ServedEmulator.running(make_config()) as first, ServedEmulator.running(make_config()) as second:
        first.load(document)
        second.load(document)
        assert first.app.scenarios.backend.faker is not second.app.scenarios.backend.faker
        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads as often as possible: a shared Faker's race shows
        try:
            with ThreadPoolExecutor(2) as pool:
                together = list(pool.map(lambda e: answers(e, 40), (first, second)))
        finally:
            sys.setswitchinterval(interval)
    assert together == [expected, expected]
