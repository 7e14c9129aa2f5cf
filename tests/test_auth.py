"""The authentication rules (README, Authentication), as a matrix: every kind of route against every
way of sending a key, with API keys, with a separate admin key, and with auth off."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from emulator import cli
from emulator.app import create_app
from emulator.config import DEV_API_KEY
from tests.support import assert_contract_error, make_config

OK = {"model": "openai/gpt-4o", "input": "hi"}

# (route id, method, path, body): one of each kind of route the server has.
ROUTES = [
    ("create-orq", "POST", "/v3/router/responses", OK),
    ("create-v1", "POST", "/v1/responses", OK),
    ("retrieve", "GET", "/v3/router/responses/resp_unknown", None),
    ("unknown-api-path", "GET", "/v1/nothing", None),
    ("journal", "GET", "/_emulator/requests", None),
    ("scenarios", "GET", "/_emulator/scenarios", None),
    ("reset", "POST", "/_emulator/reset", None),
]
OPEN = [("health", "GET", "/health"), ("openapi", "GET", "/openapi.json")]

# (case, Authorization header values in order, accepted?, the refusal's code)
WAYS = [
    ("none", [], False, "authentication_required"),
    ("right", [f"Bearer {DEV_API_KEY}"], True, None),
    ("scheme-lower", [f"bearer {DEV_API_KEY}"], True, None),
    ("scheme-upper", [f"BEARER {DEV_API_KEY}"], True, None),
    ("spaces-around-key", [f"Bearer   {DEV_API_KEY}  "], True, None),
    ("wrong-key", ["Bearer sk-nope"], False, "invalid_api_key"),
    ("key-case-differs", [f"Bearer {DEV_API_KEY.upper()}"], False, "invalid_api_key"),
    ("no-scheme", [DEV_API_KEY], False, "authentication_required"),
    ("basic", ["Basic dXNlcjpwYXNz"], False, "authentication_required"),
    ("scheme-only", ["Bearer"], False, "authentication_required"),
    ("empty", [""], False, "authentication_required"),
    ("two-headers-same", [f"Bearer {DEV_API_KEY}"] * 2, False, "authentication_required"),
    (
        "two-headers-wrong-first",
        ["Bearer sk-nope", f"Bearer {DEV_API_KEY}"],
        False,
        "authentication_required",
    ),
]


def send(c: TestClient, method: str, path: str, body: Any, values: list[str]) -> Any:
    headers = [("authorization", v) for v in values]
    return c.request(method, path, json=body, headers=headers)


def refused(answer: Any, code: str) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.headers["www-authenticate"] == "Bearer"
    assert_contract_error(answer.json())


@pytest.mark.parametrize(("route", "method", "path", "body"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize(("case", "values", "accepted", "code"), WAYS, ids=[w[0] for w in WAYS])
def test_the_auth_matrix(route: str, method: str, path: str, body: Any, case: str, values: list[str],
                         accepted: bool, code: str | None) -> None:  # fmt: skip
    answer = send(TestClient(create_app(make_config())), method, path, body, values)
    if accepted:
        assert answer.status_code != 401, answer.text
    else:
        refused(answer, code)


@pytest.mark.parametrize(("route", "method", "path"), OPEN, ids=[r[0] for r in OPEN])
def test_health_and_the_openapi_document_are_open(route: str, method: str, path: str) -> None:
    c = TestClient(create_app(make_config()))
    assert c.request(method, path).status_code == 200
    assert c.request(method, path, headers={"authorization": "Bearer wrong"}).status_code == 200


def test_an_admin_key_opens_the_admin_routes_and_only_those() -> None:
    c = TestClient(create_app(make_config(admin_keys=("adm-1", "adm-2"))))
    api, admin = f"Bearer {DEV_API_KEY}", "Bearer adm-2"
    for _, method, path, body in ROUTES:
        as_api, as_admin = send(c, method, path, body, [api]), send(c, method, path, body, [admin])
        if path.startswith("/_emulator/"):
            refused(as_api, "invalid_api_key")
            assert "admin key" in as_api.json()["error"]["message"]
            assert as_admin.status_code in (200, 204)
            assert DEV_API_KEY not in as_api.text  # the dev key hint is for API routes only
        else:
            assert as_api.status_code != 401
            refused(as_admin, "invalid_api_key")


def test_with_auth_off_every_route_is_open_but_an_admin_key_still_guards_the_admin_routes() -> None:
    c = TestClient(create_app(make_config(auth=False)))
    for _, method, path, body in ROUTES:
        assert send(c, method, path, body, []).status_code != 401
    guarded = TestClient(create_app(make_config(auth=False, admin_keys=("adm",))))
    refused(send(guarded, "GET", "/_emulator/requests", None, []), "authentication_required")
    assert send(guarded, "GET", "/_emulator/requests", None, ["Bearer adm"]).status_code == 200
    assert send(guarded, "POST", "/v1/responses", OK, []).status_code == 200


@pytest.mark.parametrize(
    ("settings", "warned"),
    [
        ({}, False),
        ({"host": "0.0.0.0"}, True),
        ({"host": "::"}, True),
        ({"host": "192.168.1.5"}, True),
        ({"host": "myhost.local"}, True),
        ({"host": "localhost"}, False),
        ({"host": "::1"}, False),
        ({"host": "127.0.0.2"}, False),
        ({"host": "0.0.0.0", "api_keys": ("mine",)}, False),
        ({"host": "0.0.0.0", "auth": False}, True),
        ({"host": "127.0.0.1", "auth": False}, False),
    ],
)
def test_binding_beyond_loopback_with_the_dev_key_warns(settings: dict[str, Any], warned: bool) -> None:
    warning = cli.exposure_warning(make_config(**settings))
    assert (warning is not None) == warned
    if warning is not None:
        assert settings["host"] in warning and "--api-key" in warning
