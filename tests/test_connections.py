"""Issue 11: connections are bounded (time to send headers and body, connections at once), HTTP that
is not HTTP gets the envelope, a JSON-mode client that leaves is noticed, and a shutdown ends within
its grace, storing what it cut off. Real uvicorn, raw sockets; waits have wide margins."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from emulator.config import DEV_API_KEY
from emulator.testing import ServedEmulator
from emulator.testing.streams import read_sse
from tests.support import assert_contract_error, make_config

REQUEST = json.dumps({"model": "openai/gpt-4o", "input": "hi"}).encode()


@contextmanager
def served(**settings: Any) -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config(**settings)) as emulator:
        yield emulator


def connect(emulator: ServedEmulator) -> socket.socket:
    address = urlsplit(emulator.base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def envelope_of(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), head
    error = json.loads(body)
    assert_contract_error(error)
    return status, error


def post(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Authorization: Bearer {DEV_API_KEY}",
             "Content-Type: application/json", f"Content-Length: {len(body)}", *headers]  # fmt: skip
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def dechunked(body: bytes) -> bytes:
    """A chunked transfer-encoded body's bytes."""
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        out, body = out + body[:size], body[size + 2 :]
        if size == 0:
            break
    return out


def wait_until(condition: Callable[[], Any], seconds: float = 10) -> Any:
    """Polls `condition` until it is truthy; fails after `seconds` (a wide margin, not a sleep)."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)
    return result


def test_a_silent_connection_is_closed_after_the_header_timeout() -> None:
    with served(header_timeout=0.3) as emulator:
        sock = connect(emulator)
        started = time.monotonic()
        assert read_all(sock) == b""  # closed, with nothing to say: no request had begun
        assert 0.2 < time.monotonic() - started < 5


def test_headers_sent_too_slowly_get_a_408() -> None:
    with served(header_timeout=0.3) as emulator:
        sock = connect(emulator)
        sock.sendall(b"POST /v3/router/responses HTTP/1.1\r\nHost: x\r\n")  # and then nothing
        status, error = envelope_of(read_all(sock))
        assert (status, error["error"]["code"]) == (408, "request_timeout")
        assert "headers" in error["error"]["message"]


def test_a_body_sent_too_slowly_gets_a_408_and_the_server_goes_on() -> None:
    with served(body_timeout=0.3) as emulator:
        sock = connect(emulator)
        sock.sendall(post("/v3/router/responses", REQUEST)[:-5])  # five bytes short, for ever
        status, error = envelope_of(read_all(sock))
        assert (status, error["error"]["code"]) == (408, "request_timeout")
        assert "body" in error["error"]["message"]
        assert httpx.post(f"{emulator.base_url}/v3/router/responses", content=REQUEST,
                          headers={"Authorization": f"Bearer {DEV_API_KEY}"}).status_code == 200  # fmt: skip


def test_a_flood_of_idle_connections_is_cut_off_and_health_keeps_answering() -> None:
    with served(max_connections=20, header_timeout=1) as emulator, ExitStack() as stack:
        idle = [stack.enter_context(connect(emulator)) for _ in range(20)]
        wait_until(lambda: len(emulator.server.server.server_state.connections) == 20)
        refused = [stack.enter_context(connect(emulator)) for _ in range(10)]
        for sock in refused:  # past the cap: told so at once, and closed
            status, error = envelope_of(read_all(sock))
            assert (status, error["error"]["code"]) == (503, "service_unavailable")
        for sock in idle:  # the silent ones are cut off at the header timeout
            assert read_all(sock) == b""
        started = time.monotonic()
        assert httpx.get(f"{emulator.base_url}/health").status_code == 200
        assert time.monotonic() - started < 2


def test_malformed_http_gets_the_envelope_not_plain_text() -> None:
    with served() as emulator:
        for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
                    b"POST /v1/responses HTTP/1.1\r\nContent-Length: -1\r\n\r\n"):  # fmt: skip
            sock = connect(emulator)
            sock.sendall(raw)
            status, error = envelope_of(read_all(sock))
            assert (status, error["error"]["code"]) == (400, "invalid_request_body")
            assert "not valid HTTP" in error["error"]["message"]


def test_a_json_mode_client_that_leaves_is_noticed() -> None:
    with served(frozen_time=None) as emulator:
        sock = connect(emulator)
        sock.sendall(post("/v3/router/responses", REQUEST, "x-emulator-timing: ttft_ms=30000"))
        stored = wait_until(lambda: emulator.app.store.ids())
        sock.close()
        entry = wait_until(lambda: list(emulator.app.journal))[0]
        assert (entry.status, entry.error["code"], entry.response_id) == (
            499,
            "client_closed_request",
            stored[0],
        )
        response = json.loads(emulator.app.store.get(stored[0]).body)
        assert response["status"] == "incomplete"
        assert response["incomplete_details"] == {"reason": "client_disconnected"}
        # Only what was due before the first token: the message opened, with no text in it.
        assert [part["text"] for item in response["output"] for part in item["content"]] in ([], [""])


def test_shutdown_ends_within_its_grace_and_stores_what_it_cut_off() -> None:
    with ExitStack() as stack:
        emulator = stack.enter_context(served(frozen_time=None, shutdown_grace=0.3))
        waiting = connect(emulator)
        waiting.sendall(post("/v3/router/responses", REQUEST, "x-emulator-timing: ttft_ms=50000"))
        streaming = connect(emulator)
        streamed = json.dumps({"model": "openai/gpt-4o", "input": "hi", "stream": True}).encode()
        streaming.sendall(post("/v1/responses", streamed, "x-emulator-timing: realistic,ttft_ms=50000"))
        wait_until(lambda: len(emulator.app.store.ids()) == 2)
        started = time.monotonic()
        stack.close()  # stops the server
        assert time.monotonic() - started < 5
        # Each client is told, in the envelope or with the stream's terminal events.
        status, error = envelope_of(read_all(waiting))
        assert (status, error["error"]["code"]) == (503, "service_unavailable")
        assert "shut down" in error["error"]["message"]
        events = read_sse(dechunked(read_all(streaming).partition(b"\r\n\r\n")[2]))
        assert [e["type"] for e in events.events][-2:] == ["error", "response.failed"]
        assert events.done
        for response_id in emulator.app.store.ids():
            response = json.loads(emulator.app.store.get(response_id).body)
            assert response["status"] == "failed", response
            assert response["error"]["code"] == "server_error"
            assert "shut down" in response["error"]["message"]


def test_streams_past_the_cap_get_a_503_and_other_requests_go_on() -> None:
    with served(frozen_time=None, max_streams=1) as emulator:
        streamed = json.dumps({"model": "openai/gpt-4o", "input": "hi", "stream": True}).encode()
        holding = connect(emulator)
        holding.sendall(post("/v1/responses", streamed, "x-emulator-timing: ttft_ms=30000"))
        wait_until(lambda: emulator.app.responses.streams == 1)
        second = connect(emulator)
        second.sendall(post("/v1/responses", streamed, "Connection: close"))
        raw = read_all(second)
        status, error = envelope_of(raw)
        assert (status, error["error"]["code"]) == (503, "service_unavailable")
        assert b"retry-after: 1" in raw.lower()
        assert "--max-streams" in error["error"]["message"]
        plain = httpx.post(f"{emulator.base_url}/v1/responses", content=REQUEST,
                           headers={"Authorization": f"Bearer {DEV_API_KEY}"})  # fmt: skip
        assert plain.status_code == 200  # JSON mode is not a stream
        holding.close()
        wait_until(lambda: emulator.app.responses.streams == 0)
        again = connect(emulator)
        again.sendall(post("/v1/responses", streamed, "Connection: close"))
        assert read_all(again).startswith(b"HTTP/1.1 200")
