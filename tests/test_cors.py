"""Browsers (contract decision 17): preflights answered before auth on every route, the
allow-origin header on every answer (JSON, streams, errors, admin), the origin rules, a refused
origin or header, and `--no-cors`. Against a real server: the Responses routes are served from
raw ASGI, outside Starlette's middleware stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import ServedEmulator
from tests.support import AUTH, assert_contract_error, make_config

PAGE = "http://localhost:5173"
CREATE = {"model": "openai/gpt-4o", "input": "hi"}
# What the OpenAI JS SDK sends from a browser (dangerouslyAllowBrowser), its stream helper included
OPENAI_JS_HEADERS = (
    "accept,authorization,content-type,x-stainless-arch,x-stainless-helper-method,x-stainless-lang,"
    "x-stainless-os,x-stainless-package-version,x-stainless-retry-count,x-stainless-runtime,"
    "x-stainless-runtime-version,x-stainless-timeout"
)
ROUTES = [
    ("POST", "/v3/router/responses"), ("POST", "/v1/responses"),
    ("GET", "/v3/router/responses/resp_x"), ("DELETE", "/v1/responses/resp_x"),
    ("GET", "/_emulator/requests"), ("POST", "/_emulator/reset"), ("GET", "/_emulator/scenarios"),
    ("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/no/such/route"),
]  # fmt: skip


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config()) as emulator:
        yield emulator


def preflight(
    base: str, path: str, origin: str = PAGE, method: str = "POST", headers: str | None = None
) -> httpx.Response:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return httpx.options(base + path, headers=asked)  # no Authorization: browsers send none


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_answers_a_preflight_without_auth(served: ServedEmulator, method: str, path: str) -> None:
    answer = preflight(served.base_url, path, method=method, headers="authorization,content-type")
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert method in answer.headers["access-control-allow-methods"].split(", ")
    assert answer.headers["access-control-max-age"] == "600"


def test_every_header_the_openai_js_sdk_sends_passes(served: ServedEmulator) -> None:
    answer = preflight(served.base_url, "/v3/router/responses", headers=OPENAI_JS_HEADERS)
    assert answer.status_code == 200, answer.text
    allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert set(OPENAI_JS_HEADERS.split(",")) <= allowed


def answers(base: str, origin: str = PAGE) -> dict[str, httpx.Response]:
    page = {"Origin": origin}
    url = base + "/v3/router/responses"
    created = httpx.post(url, json=CREATE, headers={**AUTH, **page})
    return {
        "json": created,
        "stream": httpx.post(url, json={**CREATE, "stream": True}, headers={**AUTH, **page}),
        "400": httpx.post(url, json={"model": "openai/gpt-4o"}, headers={**AUTH, **page}),
        "401": httpx.post(url, json=CREATE, headers=page),
        "404": httpx.get(base + "/no/such/route", headers={**AUTH, **page}),
        "405": httpx.put(url, json=CREATE, headers={**AUTH, **page}),
        "get": httpx.get(f"{url}/{created.json()['id']}", headers={**AUTH, **page}),
        "replay": httpx.get(f"{url}/{created.json()['id']}?stream=true", headers={**AUTH, **page}),
        "admin": httpx.get(base + "/_emulator/requests", headers={**AUTH, **page}),
        "health": httpx.get(base + "/health", headers=page),
    }


def test_every_answer_to_an_allowed_origin_carries_the_headers(served: ServedEmulator) -> None:
    for name, answer in answers(served.base_url).items():
        assert answer.headers.get("access-control-allow-origin") == PAGE, name
        exposed = answer.headers["access-control-expose-headers"].split(", ")
        assert {
            "x-orq-trace-id",
            "x-orq-trace-span-id",
            "x-emulator-scenario",
            "x-emulator-contract-warnings",
        } <= set(exposed), name
    got = answers(served.base_url)
    assert got["stream"].headers["content-type"].startswith("text/event-stream")
    assert (
        got["400"].status_code,
        got["401"].status_code,
        got["404"].status_code,
        got["405"].status_code,
    ) == (400, 401, 404, 405)


def test_a_refused_origin_gets_no_allow_header_and_its_preflight_says_why(served: ServedEmulator) -> None:
    for name, answer in answers(served.base_url, origin="http://evil.test").items():
        assert "access-control-allow-origin" not in answer.headers, name
    refused = preflight(served.base_url, "/v3/router/responses", origin="http://evil.test")
    assert refused.status_code == 400
    assert_contract_error(refused.json())
    assert refused.json()["error"]["code"] == "cors_disallowed"
    assert "origin of http://evil.test" in refused.json()["error"]["message"]
    header = preflight(served.base_url, "/v3/router/responses", headers="authorization,x-secret-thing")
    assert header.status_code == 400 and "CORS headers" in header.json()["error"]["message"]


def allowed(config: dict[str, Any], origin: str) -> str | None:
    client = TestClient(create_app(make_config(**config)))
    answer = client.post("/v1/responses", json=CREATE, headers={**AUTH, "Origin": origin})
    assert answer.status_code == 200
    return answer.headers.get("access-control-allow-origin")


@pytest.mark.parametrize(
    ("config", "origin", "expected"),
    [
        ({}, "http://localhost:5173", "http://localhost:5173"),
        ({}, "http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ({}, "http://localhost", "http://localhost"),
        ({}, "https://localhost:5173", None),  # another scheme is another origin
        ({}, "http://localhost:5173.evil.test", None),
        ({}, "http://192.168.1.5:5173", None),
        ({"cors_origins": ("https://*.example.com",)}, "https://app.example.com", "https://app.example.com"),
        ({"cors_origins": ("https://*.example.com",)}, "https://a.b.example.com", None),
        ({"cors_origins": ("https://*.example.com",)}, "http://localhost:5173", None),  # the list replaces the default
        ({"cors_origins": ("http://dev.test:8000",)}, "http://dev.test:8000", "http://dev.test:8000"),
        ({"cors_origins": ("http://dev.test:8000",)}, "http://dev.test:8001", None),
        ({"cors_origins": ("*",)}, "https://anything.test", "*"),
        ({"cors": False}, "http://localhost:5173", None),
    ],
)  # fmt: skip
def test_the_origin_rules(config: dict[str, Any], origin: str, expected: str | None) -> None:
    assert allowed(config, origin) == expected


def test_no_cors_leaves_preflights_to_the_routes() -> None:
    client = TestClient(create_app(make_config(cors=False)))
    asked = {"Origin": PAGE, "Access-Control-Request-Method": "POST"}
    answer = client.options("/v3/router/responses", headers=asked)
    assert answer.status_code == 401 and "access-control-allow-origin" not in answer.headers
