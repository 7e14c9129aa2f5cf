"""The bad-input corpus, over raw sockets to a real server (so HTTP itself can be malformed): every
answer is a 4xx in the orq envelope (naming the field by JSON pointer where a field is at fault),
never a 500, never a hang; the server is alive and /health fast afterwards."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from emulator.config import DEV_API_KEY
from emulator.contract import schemas
from emulator.testing import ServedEmulator
from tests.support import assert_contract_error, make_config

OK = {"model": "openai/gpt-4o", "input": "hi"}
AUTH = f"Authorization: Bearer {DEV_API_KEY}"


@pytest.fixture(scope="module")
def server() -> Iterator[ServedEmulator]:
    settings = make_config(header_timeout=1, body_timeout=1, max_header_bytes=8192, max_body_bytes=100_000)
    with ServedEmulator.running(settings) as emulator:
        yield emulator


def exchange(server: ServedEmulator, raw: bytes) -> bytes:
    """Sends `raw` on a new connection; everything the server answers until it closes (each
    request of the corpus asks it to close, or is so broken that it must)."""
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def request(method: str, path: str, body: bytes = b"", *headers: str, auth: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: emulator", "Connection: close", *headers]
    if auth:
        lines.append(AUTH)
    if body and not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    if body and not any(h.lower().startswith("content-type") for h in headers):
        lines.append("Content-Type: application/json")
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body


def refused(raw: bytes) -> tuple[int, dict[str, Any]]:
    """The status and error of a 4xx answer in the envelope (only one answer on the connection)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), raw[:200]
    status = int(head.split(b" ", 2)[1])
    assert 400 <= status < 500, raw[:500]
    assert b"content-type: application/json" in head.lower(), head
    error = json.loads(body)
    assert_contract_error(error)
    assert error["error"]["message"]
    return status, error["error"]


def alive(server: ServedEmulator) -> None:
    started = time.monotonic()
    raw = exchange(server, request("GET", "/health", auth=False))
    assert raw.startswith(b"HTTP/1.1 200"), raw[:200]
    assert time.monotonic() - started < 2


# --- the body: JSON, encodings, duplicates, sizes ----------------------------------------------

# (case, body bytes, status, code, param): each written by hand.
BODIES = [
    ("truncated", b'{"model": "openai/gpt-4o", "input": "hi"', 400, "invalid_request_body", None),
    ("trailing-comma", b'{"model": "openai/gpt-4o", "input": "hi",}', 400, "invalid_request_body", None),
    ("single-quotes", b"{'model': 'openai/gpt-4o'}", 400, "invalid_request_body", None),
    ("comment", b'{"model": "openai/gpt-4o", /* x */ "input": "hi"}', 400, "invalid_request_body", None),
    ("infinity", b'{"model": "openai/gpt-4o", "input": "hi", "temperature": Infinity}', 400, "invalid_request_body", None),
    ("huge-exponent", b'{"model": "openai/gpt-4o", "input": "hi", "temperature": 1e400}', 400, "invalid_request_body", None),
    ("lone-surrogate", b'{"model": "openai/gpt-4o", "input": "\\ud800"}', 400, "invalid_request_body", None),
    ("non-utf8", b'{"model": "openai/gpt-4o", "input": "caf\xe9"}', 400, "invalid_request_body", None),
    ("overlong-utf8", b'{"model": "openai/gpt-4o", "input": "\xc0\xaf"}', 400, "invalid_request_body", None),
    ("utf8-bom", b'\xef\xbb\xbf{"model": "openai/gpt-4o", "input": "hi"}', 400, "invalid_request_body", None),
    ("utf16", '{"model": "openai/gpt-4o", "input": "hi"}'.encode("utf-16"), 400, "invalid_request_body", None),
    ("nul-in-json", b'{"model": "openai/gpt-4o", "input": "hi"}\x00', 400, "invalid_request_body", None),
    ("number-body", b"42", 400, "invalid_request_body", None),
    ("array-body", b"[]", 400, "invalid_request_body", None),
    ("empty-object", b"{}", 400, "invalid_request_body", "/model"),
    ("duplicate-key-bad-last", b'{"model": "openai/gpt-4o", "model": 4, "input": "hi"}', 400, "invalid_request_body", "/model"),
    ("too-deep", b'{"model": "openai/gpt-4o", "input": "hi", "metadata": ' + b'{"a":' * 100 + b"1" + b"}" * 100 + b"}", 400, "invalid_request_body", "/metadata" + "/a" * 63),
    ("too-deep-for-the-parser", b'{"input": ' + b"[" * 3000 + b"]" * 3000 + b"}", 400, "invalid_request_body", "/input" + "/0" * 63),
    ("too-large", b'{"model": "openai/gpt-4o", "input": "' + b"x" * 100_001 + b'"}', 413, "request_too_large", None),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "status", "code", "param"), BODIES, ids=[b[0] for b in BODIES])
def test_bad_bodies(
    server: ServedEmulator, case: str, body: bytes, status: int, code: str, param: str | None
) -> None:
    answer = refused(exchange(server, request("POST", "/v3/router/responses", body)))
    assert answer[0] == status
    assert (answer[1]["code"], answer[1]["param"]) == (code, param)
    alive(server)


def test_a_duplicate_key_counts_its_last_value(server: ServedEmulator) -> None:
    # RFC 8259 leaves duplicates to the parser; the emulator's (orjson) keeps the last, as most do.
    raw = exchange(
        server,
        request("POST", "/v3/router/responses", b'{"model": 4, "model": "openai/gpt-4o", "input": "hi"}'),
    )
    assert raw.startswith(b"HTTP/1.1 200"), raw[:300]
    assert json.loads(raw.partition(b"\r\n\r\n")[2])["model"] == "openai/gpt-4o"


def wrong_value(schema: dict[str, Any]) -> Any:
    """A value of a JSON type `schema` does not admit (found by asking the schema itself)."""
    validator = jsonschema.Draft202012Validator(schema, registry=schemas.registry())
    return next(v for v in (12345, "text", True, [], {}, None, 1.5) if not validator.is_valid(v))


def field_schema(name: str) -> dict[str, Any]:
    request_schema = schemas.load(schemas.REQUEST)
    return {**request_schema["properties"][name], "$defs": request_schema["$defs"]}


FIELDS = sorted(schemas.load(schemas.REQUEST)["properties"])


@pytest.mark.parametrize("field", FIELDS)
def test_a_wrong_type_for_every_field_is_a_400_naming_it(server: ServedEmulator, field: str) -> None:
    value = wrong_value(field_schema(field))
    body = json.dumps({**OK, field: value}).encode()
    status, error = refused(exchange(server, request("POST", "/v1/responses", body)))
    assert status == 400
    assert error["param"] == f"/{field}" or error["param"].startswith(f"/{field}/"), (value, error)


# --- HTTP itself --------------------------------------------------------------------------------

# (case, raw request, status, code): malformed HTTP, header tricks, path tricks.
RAW = [
    ("not-http", b"HELLO\r\n\r\n", 400, "invalid_request_body"),
    ("binary-garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "invalid_request_body"),
    ("unknown-method", request("BREW", "/v1/responses"), 400, "invalid_request_body"),
    ("bad-version", b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 400, "invalid_request_body"),
    ("header-without-colon", b"GET /health HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n", 400, "invalid_request_body"),
    ("nul-in-header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, "invalid_request_body"),
    ("space-before-colon", b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n", 400, "invalid_request_body"),
    ("two-content-lengths", request("POST", "/v1/responses", b"{}", "Content-Length: 2", "Content-Length: 3"), 400, "invalid_request_body"),
    ("negative-content-length", request("POST", "/v1/responses", b"{}", "Content-Length: -2"), 400, "invalid_request_body"),
    ("smuggling-te-and-cl", request("POST", "/v1/responses", b"0\r\n\r\n", "Transfer-Encoding: chunked", "Content-Length: 5"), 400, "invalid_request_body"),
    ("bad-chunk-size", request("POST", "/v1/responses", b"zz\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked"), 400, "invalid_request_body"),
    ("headers-too-large", request("GET", "/health", b"", "X-Big: " + "x" * 9000, auth=False), 431, "request_header_fields_too_large"),
    ("many-headers", request("GET", "/health", b"", *[f"X-{n}: {'y' * 40}" for n in range(400)], auth=False), 431, "request_header_fields_too_large"),
    ("url-too-long", request("GET", "/v1/responses/" + "r" * 9000), 431, "request_header_fields_too_large"),
    ("invalid-path-byte", b"GET /v1/responses/\xff HTTP/1.1\r\nHost: x\r\n\r\n", 400, "invalid_request_body"),
    ("json-declared-as-text", request("POST", "/v1/responses", json.dumps(OK).encode(), "Content-Type: text/plain"), 415, "unsupported_media_type"),
    ("content-length-short", request("POST", "/v1/responses", b'{"model": "openai/gpt-4o", "input": "hi"}', "Content-Length: 5"), 400, "invalid_request_body"),
    ("body-never-arrives", request("POST", "/v1/responses", b"{", "Content-Length: 50"), 408, "request_timeout"),
    ("headers-never-end", b"POST /v1/responses HTTP/1.1\r\nHost: x\r\n", 408, "request_timeout"),
    ("no-auth", request("POST", "/v1/responses", json.dumps(OK).encode(), auth=False), 401, "authentication_required"),
    ("two-auth-headers", request("POST", "/v1/responses", json.dumps(OK).encode(), AUTH), 401, "authentication_required"),
    ("trailing-slash", request("POST", "/v1/responses/"), 404, "not_found"),
    ("dot-segments", request("GET", "/v1/responses/../../health"), 404, "not_found"),
    ("encoded-slash-in-id", request("GET", "/v1/responses/a%2Fb"), 404, "not_found"),
    ("encoded-nul-in-id", request("GET", "/v1/responses/resp_%00"), 404, "response_not_found"),
    ("unicode-id", request("GET", "/v1/responses/%E2%9C%93"), 404, "response_not_found"),
    ("double-slash", request("POST", "//v1/responses", json.dumps(OK).encode()), 404, "not_found"),
    ("wrong-method", request("DELETE", "/v3/router/responses"), 405, "method_not_allowed"),
    ("bad-query-stream", request("GET", "/v1/responses/resp_x?stream=maybe"), 404, "response_not_found"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "raw", "status", "code"), RAW, ids=[r[0] for r in RAW])
def test_malformed_http_and_tricks(
    server: ServedEmulator, case: str, raw: bytes, status: int, code: str
) -> None:
    answer = refused(exchange(server, raw))
    assert (answer[0], answer[1]["code"]) == (status, code)
    alive(server)


def test_the_server_serves_normally_after_the_whole_corpus(server: ServedEmulator) -> None:
    for _, raw, _, _ in RAW:
        exchange(server, raw)
    for _, body, _, _, _ in BODIES:
        exchange(server, request("POST", "/v3/router/responses", body))
    raw = exchange(server, request("POST", "/v3/router/responses", json.dumps(OK).encode()))
    assert raw.startswith(b"HTTP/1.1 200"), raw[:300]
    alive(server)
