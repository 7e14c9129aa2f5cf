"""The request journal: what it records, what it never gives out, its bound, and its routes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.scenarios.files import SourceFile
from tests.support import AUTH, make_config

SCENARIOS = {
    "scenarios": [
        {
            "name": "weather",
            "match": {"last_user_message": "weather"},
            "reply": {"output": [{"text": "Sunny"}]},
        },
        {"name": "busy", "match": {"last_user_message": "busy"}, "reply": {"http_error": {"status": 429}}},
    ]
}


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_app(make_config(journal=3))
    with TestClient(app, headers=AUTH, raise_server_exceptions=False) as test_client:
        yield test_client


def entries(client: TestClient) -> list[dict]:
    answer = client.get("/_emulator/requests")
    assert answer.status_code == 200
    return answer.json()["requests"]


def test_each_request_and_its_answer(client: TestClient) -> None:
    client.app.scenarios.add(documents={"t": _source(SCENARIOS)})
    made = client.post(
        "/v3/router/responses", json={"model": "openai/gpt-4o", "input": "weather?", "stream": True}
    )
    client.get(f"/v3/router/responses/{_id(made.text)}?stream=true")
    client.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "busy"})
    seen = entries(client)
    assert [(e["method"], e["status"], e["stream"], e["scenario"]) for e in seen] == [
        ("POST", 200, True, "weather"),
        ("GET", 200, True, None),
        ("POST", 429, False, "busy"),
    ]
    assert seen[0]["body"] == {"model": "openai/gpt-4o", "input": "weather?", "stream": True}
    assert seen[1]["query"] == "stream=true" and seen[1]["response_id"] == seen[0]["response_id"]
    assert seen[2]["error"]["code"] == "rate_limit_exceeded"
    assert [m["scenario"] for m in seen[2]["misses"]] == ["weather"]
    assert seen[2]["misses"][0]["reasons"] == ["the last user message 'busy' does not contain 'weather'"]


def test_bad_requests_are_recorded_with_their_problem(client: TestClient) -> None:
    client.post("/v3/router/responses", content=b"{not json", headers={"content-type": "application/json"})
    client.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "x", "temperature": 9})
    client.get("/v3/router/responses/resp_missing")
    seen = entries(client)
    assert [(e["status"], e["error"]["code"], e["error"]["param"]) for e in seen] == [
        (400, "invalid_request_body", None),
        (400, "invalid_request_body", "/temperature"),
        (404, "response_not_found", "response_id"),
    ]
    assert seen[0]["body"] is None and seen[1]["body"]["temperature"] == 9


def test_it_never_gives_out_a_secret(client: TestClient) -> None:
    body = {
        "model": "openai/gpt-4o",
        "input": "Hi {{name}}",
        "variables": {"name": "Ada", "token": {"secret": True, "value": "sk-very-secret"}},
    }
    secrets = {
        "x-api-key": "another-secret",
        "api-key": "azure-style-secret",
        "cookie": "session=cookie-secret",
    }
    client.post("/v3/router/responses", json=body, headers=secrets)
    raw = client.get("/_emulator/requests").text
    for secret in (
        "sk-very-secret",
        "emulator-dev-key",
        "another-secret",
        "azure-style-secret",
        "cookie-secret",
    ):
        assert secret not in raw
    (entry,) = entries(client)
    assert entry["headers"]["authorization"] == "Bearer [REDACTED]"
    assert entry["headers"]["x-api-key"] == "[REDACTED]"
    assert entry["headers"]["api-key"] == "[REDACTED]"
    assert entry["headers"]["cookie"] == "[REDACTED]"
    assert entry["body"]["variables"] == {"name": "Ada", "token": {"secret": True, "value": "[REDACTED]"}}
    assert repr(list(client.app.journal)).count("sk-very-secret") == 0


def test_it_is_bounded_and_can_be_emptied(client: TestClient) -> None:
    for n in range(5):
        client.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": f"n{n}"})
    assert [e["index"] for e in entries(client)] == [2, 3, 4]  # journal=3: the oldest went first
    assert client.delete("/_emulator/requests").status_code == 204
    assert entries(client) == []
    client.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "again"})
    assert [e["index"] for e in entries(client)] == [5]


def test_journal_zero_keeps_nothing() -> None:
    with TestClient(create_app(make_config(journal=0)), headers=AUTH) as test_client:
        test_client.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "x"})
        assert test_client.get("/_emulator/requests").json() == {"requests": []}


def test_the_journal_routes_need_the_key(client: TestClient) -> None:
    assert client.get("/_emulator/requests", headers={"Authorization": ""}).status_code == 401


def _id(stream_text: str) -> str:
    return stream_text.split('"id":"', 1)[1].split('"', 1)[0]


def _source(data: dict) -> SourceFile:
    return SourceFile("test", data, {})


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        # the key written as a JSON escape: the journal must read the parsed body, not the bytes
        (
            b'{"model": "openai/gpt-4o", "input": "hi", "\\u0076ariables": {"t": {"secret": true, "value": "sk-escaped"}}}',
            {"t": {"secret": True, "value": "[REDACTED]"}},
        ),
        # the key twice: the parsed body keeps the last, and the first's secret is not kept either
        (
            b'{"model": "openai/gpt-4o", "input": "hi", "variables": {"t": {"secret": true, "value": "sk-escaped"}}, "variables": {"n": "Ada"}}',
            {"n": "Ada"},
        ),
        # malformed: a list where a map belongs (a 400), its secret-shaped items still redacted
        (
            b'{"model": "openai/gpt-4o", "input": "hi", "variables": [{"secret": true, "value": "sk-escaped"}]}',
            [{"secret": True, "value": "[REDACTED]"}],
        ),
    ],
    ids=["escaped-key", "duplicate-key", "list-form"],
)
def test_secrets_are_redacted_however_the_body_writes_them(
    client: TestClient, raw: bytes, redacted: object
) -> None:
    client.post("/v3/router/responses", content=raw, headers={"content-type": "application/json"})
    assert "sk-escaped" not in client.get("/_emulator/requests").text
    (entry,) = entries(client)
    assert entry["body"]["variables"] == redacted
    assert all(
        "sk-escaped" not in repr(e) and b"sk-escaped" not in (e.raw_body or b"") for e in client.app.journal
    )


def test_the_other_routes_are_journaled_but_not_the_testers_own() -> None:
    app = create_app(make_config(journal=50))
    with TestClient(app, headers=AUTH, raise_server_exceptions=False) as client:
        client.post("/v1/chat/completions", json={"model": "openai/gpt-4o"})
        client.post("/v1/conversations", json={"metadata": {"topic": "x"}})
        client.get("/v1/conversations/conv_missing", headers={"Authorization": "Bearer wrong-key"})
        client.get("/health")
        client.get("/openapi.json")
        client.get("/_emulator/config")
        kept = entries(client)
    assert [(e["method"], e["path"], e["status"]) for e in kept] == [
        ("POST", "/v1/chat/completions", 404),
        ("POST", "/v1/conversations", 200),
        ("GET", "/v1/conversations/conv_missing", 401),
    ]
    assert kept[0]["error"]["code"] == "not_found" and kept[0]["body"] == {"model": "openai/gpt-4o"}
    assert kept[1]["body"] == {"metadata": {"topic": "x"}} and kept[1]["error"] is None
    assert kept[2]["error"]["code"] == "invalid_api_key"
    assert kept[2]["headers"]["authorization"] == "Bearer [REDACTED]"  # the wrong key is not kept either
