"""Per-key rate limits that really throttle (--rate-limit, --token-limit), on the emulator clock;
and a JSON-mode client that leaves while its answer is being waited for."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from emulator.app import create_app
from emulator.config import Config
from emulator.testing import InProcessEmulator, ServedEmulator
from tests.support import assert_contract_error, make_config

URL = "/v3/router/responses"
BODY = {"model": "openai/gpt-4o", "input": "hi"}


def emulator(**settings: object) -> Iterator[InProcessEmulator]:
    handle = InProcessEmulator(create_app(make_config(**settings)))
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def limited() -> Iterator[InProcessEmulator]:
    yield from emulator(rate_limit="3/min", api_keys=("k1", "k2"))


def test_requests_over_the_limit_get_a_429_until_the_window_resets(limited: InProcessEmulator) -> None:
    client = limited.httpx_client()
    remaining = [client.post(URL, json=BODY).headers["x-ratelimit-remaining-requests"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = client.post(URL, json=BODY)
    assert refused.status_code == 429
    assert_contract_error(refused.json())
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    # The frozen clock starts on a whole minute: the window resets in 60 s.
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["retry-after-ms"] == "60000"
    assert refused.headers["x-should-retry"] == "true"
    assert refused.headers["x-ratelimit-limit-requests"] == "3"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"] == "60s"
    assert limited.last_request.status == 429
    limited.advance(59.5)
    assert client.post(URL, json=BODY).status_code == 429
    limited.advance(0.5)
    assert client.post(URL, json=BODY).status_code == 200


def test_each_key_has_its_own_window(limited: InProcessEmulator) -> None:
    first = limited.httpx_client(headers={"Authorization": "Bearer k1"})
    second = limited.httpx_client(headers={"Authorization": "Bearer k2"})
    for _ in range(3):
        first.post(URL, json=BODY)
    assert first.post(URL, json=BODY).status_code == 429
    assert second.post(URL, json=BODY).status_code == 200


def test_tokens_are_limited_too() -> None:
    for handle in emulator(token_limit="100/min"):
        client = handle.httpx_client()
        spent = 0
        while (answered := client.post(URL, json=BODY)).status_code == 200:
            assert answered.headers["x-ratelimit-remaining-tokens"] == str(max(0, 100 - spent))
            spent += answered.json()["usage"]["total_tokens"]
            assert spent < 1000
        assert spent >= 100  # refused only once the window's tokens are spent
        assert answered.status_code == 429
        assert "100 tokens per 60 s" in answered.json()["error"]["message"]


@pytest.mark.parametrize("rate", ["60", "60/fortnight", "0/min", "many/min"])
def test_a_bad_rate_is_refused_at_start(rate: str) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        Config(rate_limit=rate)


def test_without_limits_no_rate_limit_headers(client: httpx.Client) -> None:
    assert not any(h.startswith("x-ratelimit") for h in client.post(URL, json=BODY).headers)


def test_a_json_client_leaving_during_its_wait_is_a_disconnect() -> None:
    """Real time: the answer is due in 3 s; the client leaves after 0.3 s."""
    with ServedEmulator.running(make_config(frozen_time=None)) as live:
        host, port = live.base_url.removeprefix("http://").split(":")
        body = orjson.dumps(BODY)
        head = (
            f"POST {URL} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {live.api_key}\r\nx-emulator-timing: ttft_ms=3000\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head.encode() + body)
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while not live.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        entry = live.requests[-1]
        assert entry.status == 499
        stored = httpx.get(f"{live.base_url}{URL}/{entry.response_id}", headers=live.auth_headers).json()
        assert stored["status"] == "incomplete"
        assert stored["incomplete_details"] == {"reason": "client_disconnected"}
