"""Every kind of bad input gets a precise 4xx in the orq envelope, naming the field by JSON pointer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from tests.support import AUTH, assert_contract_error, make_config

OK = {"model": "openai/gpt-4o", "input": "hi"}


def body(**changes: Any) -> dict[str, Any]:
    merged = {**OK, **changes}
    return {k: v for k, v in merged.items() if v is not DROP}


DROP = object()
BAD = "invalid_request_body"
ITEM = {"role": "user", "content": "hi"}

# (case id, request body, expected status, code, param)
BODY_CASES: list[tuple[str, Any, int, str, str | None]] = [
    ("model-missing", body(model=DROP), 400, BAD, "/model"),
    ("model-bare-name", body(model="gpt-4o"), 400, BAD, "/model"),
    ("model-not-string", body(model=4), 400, BAD, "/model"),
    ("model-empty-provider", body(model="/gpt-4o"), 400, BAD, "/model"),
    ("input-missing", body(input=DROP), 400, BAD, "/input"),
    ("input-number", body(input=42), 400, BAD, "/input"),
    ("input-item-not-object", body(input=["hi"]), 400, BAD, "/input/0"),
    ("input-role-tool", body(input=[{"role": "tool", "content": "42"}]), 400, BAD, "/input/0/role"),
    ("input-role-unknown", body(input=[{"role": "robot", "content": "x"}]), 400, BAD, "/input/0/role"),
    ("input-content-missing", body(input=[{"role": "user"}]), 400, BAD, "/input/0/content"),
    ("input-content-number", body(input=[{"role": "user", "content": 7}]), 400, BAD, "/input/0/content"),
    ("input-part-unknown-type", body(input=[{"role": "user", "content": [{"type": "input_video"}]}]), 400, BAD, "/input/0/content/0/type"),
    ("input-part-text-missing", body(input=[{"role": "user", "content": [{"type": "input_text"}]}]), 400, BAD, "/input/0/content/0/text"),
    ("input-image-without-source", body(input=[{"role": "user", "content": [{"type": "input_image"}]}]), 400, BAD, "/input/0/content/0"),
    ("input-item-unknown-type", body(input=[{"type": "banana"}]), 400, BAD, "/input/0/type"),
    ("call-output-empty-call-id", body(input=[{"type": "function_call_output", "call_id": "", "output": "1"}]), 400, BAD, "/input/0/call_id"),
    ("call-output-missing-output", body(input=[{"type": "function_call_output", "call_id": "c1"}]), 400, BAD, "/input/0/output"),
    ("call-output-unknown-call-id", body(input=[{"type": "function_call_output", "call_id": "c1", "output": "1"}]), 400, BAD, "/input/0/call_id"),
    ("call-args-not-string", body(input=[{"type": "function_call", "call_id": "c1", "name": "f", "arguments": {}}]), 400, BAD, "/input/0/arguments"),
    ("temperature-string", body(temperature="hot"), 400, BAD, "/temperature"),
    ("temperature-too-high", body(temperature=2.5), 400, BAD, "/temperature"),
    ("temperature-negative", body(temperature=-0.1), 400, BAD, "/temperature"),
    ("top-p-above-one", body(top_p=1.5), 400, BAD, "/top_p"),
    ("presence-penalty-range", body(presence_penalty=-3), 400, BAD, "/presence_penalty"),
    ("frequency-penalty-type", body(frequency_penalty=True), 400, BAD, "/frequency_penalty"),
    ("top-logprobs-range", body(top_logprobs=21), 400, BAD, "/top_logprobs"),
    ("max-output-tokens-zero", body(max_output_tokens=0), 400, BAD, "/max_output_tokens"),
    ("max-output-tokens-float", body(max_output_tokens=10.5), 400, BAD, "/max_output_tokens"),
    ("max-tool-calls-string", body(max_tool_calls="3"), 400, BAD, "/max_tool_calls"),
    ("store-string", body(store="yes"), 400, BAD, "/store"),
    ("stream-number", body(stream=1), 400, BAD, "/stream"),
    ("background-without-store", body(background=True, store=False), 400, BAD, "/background"),
    ("service-tier-unknown", body(service_tier="gold"), 400, BAD, "/service_tier"),
    ("metadata-not-object", body(metadata=["a"]), 400, BAD, "/metadata"),
    ("metadata-number-value", body(metadata={"n": 1}), 400, BAD, "/metadata/n"),
    ("metadata-too-many-pairs", body(metadata={f"k{i}": "v" for i in range(17)}), 400, BAD, "/metadata"),
    ("metadata-key-too-long", body(metadata={"k" * 65: "v"}), 400, BAD, "/metadata/" + "k" * 65),
    ("metadata-value-too-long", body(metadata={"k": "v" * 513}), 400, BAD, "/metadata/k"),
    ("tools-not-array", body(tools={"type": "function"}), 400, BAD, "/tools"),
    ("tool-unknown-type", body(tools=[{"type": "calculator"}]), 400, BAD, "/tools/0/type"),
    ("tool-type-missing", body(tools=[{"name": "f"}]), 400, BAD, "/tools/0/type"),
    ("function-tool-name-missing", body(tools=[{"type": "function"}]), 400, BAD, "/tools/0/name"),
    ("function-tool-bad-name", body(tools=[{"type": "function", "name": "get weather"}]), 400, BAD, "/tools/0/name"),
    ("function-tool-parameters-string", body(tools=[{"type": "function", "name": "f", "parameters": "{}"}]), 400, BAD, "/tools/0/parameters"),
    ("advisor-tool-model-missing", body(tools=[{"type": "orq:advisor"}]), 400, BAD, "/tools/0/model"),
    ("code-interpreter-too-many-files", body(tools=[{"type": "orq:code_interpreter", "files": [{"file_id": "f", "name": "n"}] * 11}]), 400, BAD, "/tools/0/files"),
    ("tool-choice-unknown-string", body(tool_choice="sometimes"), 400, BAD, "/tool_choice"),
    ("tool-choice-function-without-name", body(tool_choice={"type": "function"}), 400, BAD, "/tool_choice"),
    ("text-format-unknown", body(text={"format": {"type": "yaml"}}), 400, BAD, "/text/format/type"),
    ("json-schema-format-without-schema", body(text={"format": {"type": "json_schema", "name": "x"}}), 400, BAD, "/text/format/schema"),
    ("reasoning-effort-unknown", body(reasoning={"effort": "extreme"}), 400, BAD, "/reasoning/effort"),
    ("retry-count-too-high", body(retry={"count": 6}), 400, BAD, "/retry/count"),
    ("retry-count-missing", body(retry={"on_codes": [429]}), 400, BAD, "/retry/count"),
    ("retry-code-out-of-range", body(retry={"count": 2, "on_codes": [42]}), 400, BAD, "/retry/on_codes/0"),
    ("fallback-bare-model", body(fallbacks=[{"model": "gpt-4o"}]), 400, BAD, "/fallbacks/0/model"),
    ("fallbacks-too-many", body(fallbacks=[{"model": "openai/gpt-4o"}] * 6), 400, BAD, "/fallbacks"),
    ("cache-type-unknown", body(cache={"type": "semantic"}), 400, BAD, "/cache/type"),
    ("cache-ttl-too-long", body(cache={"type": "exact_match", "ttl": 259201}), 400, BAD, "/cache/ttl"),
    ("timeout-not-integer", body(timeout={"call_timeout": "5s"}), 400, BAD, "/timeout/call_timeout"),
    ("identity-id-missing", body(identity={"display_name": "Ada"}), 400, BAD, "/identity/id"),
    ("thread-id-empty", body(thread={"id": ""}), 400, BAD, "/thread/id"),
    ("memory-entity-missing", body(memory={}), 400, BAD, "/memory/entity_id"),
    ("template-engine-unknown", body(template_engine="handlebars"), 400, BAD, "/template_engine"),
    ("secret-variable-without-value", body(variables={"api_key": {"secret": True}}), 400, BAD, "/variables/api_key/value"),
    ("load-balancer-weight-zero", body(load_balancer={"type": "weight_based", "models": [{"model": "openai/a", "weight": 0}]}), 400, BAD, "/load_balancer/models/0/weight"),
    ("guardrail-execute-on-unknown", body(guardrails=[{"id": "g", "execute_on": "always"}]), 400, BAD, "/guardrails/0/execute_on"),
    ("plugin-unknown", body(plugins=[{"id": "magic"}]), 400, BAD, "/plugins/0/id"),
    ("previous-response-unknown", body(previous_response_id="resp_nope"), 400, "previous_response_not_found", "/previous_response_id"),
    ("body-array", [OK], 400, BAD, None),
    ("body-string", "hello", 400, BAD, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "payload", "status", "code", "param"), BODY_CASES, ids=[c[0] for c in BODY_CASES]
)
def test_bad_body(
    client: httpx.Client, case: str, payload: Any, status: int, code: str, param: str | None
) -> None:
    reply = client.post("/v3/router/responses", json=payload)
    assert (reply.status_code, reply.json()["error"]["code"], reply.json()["error"]["param"]) == (
        status,
        code,
        param,
    )
    assert_contract_error(reply.json())
    assert reply.json()["error"]["message"]


RAW_CASES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed-json", b'{"model": "openai/gpt-4o",', {"content-type": "application/json"}, 400, BAD),
    ("trailing-garbage", b'{"model": "openai/gpt-4o"} x', {"content-type": "application/json"}, 400, BAD),
    ("not-utf8", b'{"model": "\xff"}', {"content-type": "application/json"}, 400, BAD),
    ("nan-literal", b'{"model": "openai/gpt-4o", "input": "x", "temperature": NaN}', {"content-type": "application/json"}, 400, BAD),
    ("empty-body", b"", {"content-type": "application/json"}, 400, BAD),
    ("null-body", b"null", {"content-type": "application/json"}, 400, BAD),
    ("whitespace-body", b"  \n ", {"content-type": "application/json"}, 400, BAD),
    ("form-content-type", b"model=openai/gpt-4o", {"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ("text-plain", b'{"model": "openai/gpt-4o", "input": "x"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
    ("deeply-nested", b'{"input":' + b"[" * 5000 + b"]" * 5000 + b"}", {"content-type": "application/json"}, 400, BAD),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "raw", "headers", "status", "code"), RAW_CASES, ids=[c[0] for c in RAW_CASES]
)
def test_bad_bytes(
    client: httpx.Client, case: str, raw: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    reply = client.post("/v3/router/responses", content=raw, headers=headers)
    assert (reply.status_code, reply.json()["error"]["code"]) == (status, code)
    assert_contract_error(reply.json())


def test_oversized_body_is_413() -> None:
    with TestClient(
        create_app(make_config(max_body_bytes=1000)), headers={"Authorization": "Bearer emulator-dev-key"}
    ) as c:
        reply = c.post("/v3/router/responses", json=body(instructions="x" * 2000))
        assert (reply.status_code, reply.json()["error"]["code"]) == (413, "request_too_large")
        chunked = c.post("/v3/router/responses", content=iter([b'{"input": "', b"y" * 2000, b'"}']))
        assert chunked.status_code == 413
        assert c.post("/v3/router/responses", json=OK).status_code == 200


@pytest.mark.parametrize(
    ("case", "headers", "code"),
    [
        ("missing", {"Authorization": ""}, "authentication_required"),
        ("not-bearer", {"Authorization": "Basic dXNlcjpwYXNz"}, "authentication_required"),
        ("wrong-key", {"Authorization": "Bearer sk-nope"}, "invalid_api_key"),
    ],
)
def test_auth(client: httpx.Client, case: str, headers: dict[str, str], code: str) -> None:
    if not headers["Authorization"]:
        del client.headers["Authorization"]
    for reply in (
        client.post("/v3/router/responses", json=OK, headers=headers),
        client.get("/v1/responses/x", headers=headers),
    ):
        assert (reply.status_code, reply.json()["error"]["code"]) == (401, code)
        assert reply.headers["www-authenticate"] == "Bearer"
        assert_contract_error(reply.json())


def test_unknown_route_and_method(client: httpx.Client) -> None:
    missing = client.get("/v3/router/nothing")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    wrong = client.put("/v3/router/responses")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]
    assert_contract_error(missing.json())
    assert_contract_error(wrong.json())


def test_unknown_response_id_is_404(client: httpx.Client) -> None:
    reply = client.get("/v3/router/responses/resp_0000000000000000000000NONE")
    assert (reply.status_code, reply.json()["error"]["code"], reply.json()["error"]["param"]) == (
        404,
        "response_not_found",
        "response_id",
    )


def test_every_failure_is_listed(client: httpx.Client) -> None:
    reply = client.post("/v3/router/responses", json=body(temperature=9, top_p=-1, metadata={"a": 1}))
    error = reply.json()["error"]
    assert error["param"] == "/temperature"
    assert {f["param"] for f in error["failures"]} == {"/temperature", "/top_p", "/metadata/a"}
    assert "2 more problems" in error["message"]


def test_secret_values_never_appear_in_errors(client: httpx.Client) -> None:
    leaked = "sk-live-SECRET-123"
    reply = client.post("/v3/router/responses", json=body(variables={"key": {"secret": 5, "value": leaked}}))
    assert reply.status_code == 400
    assert leaked not in reply.text
    reply = client.post(
        "/v3/router/responses", json=body(variables={"key": {"secret": True, "value": 12345678}})
    )
    assert reply.status_code == 400
    assert "12345678" not in reply.text


def test_unknown_fields_are_warnings_by_default(client: httpx.Client) -> None:
    reply = client.post(
        "/v3/router/responses",
        json=body(user="u1", truncation="auto", tools=[{"type": "function", "name": "f", "extra": 1}]),
    )
    assert reply.status_code == 200
    warnings = reply.headers["x-emulator-contract-warnings"]
    assert "/user" in warnings and "/truncation" in warnings and "/tools/0/extra" in warnings
    assert reply.json()["truncation"] == "auto"
    assert reply.json()["tools"][0] == {
        "type": "function",
        "name": "f",
        "description": None,
        "parameters": None,
        "strict": None,
    }


def test_unknown_fields_are_400_in_strict_mode() -> None:
    with TestClient(
        create_app(make_config(strict=True)), headers={"Authorization": "Bearer emulator-dev-key"}
    ) as c:
        reply = c.post("/v3/router/responses", json=body(user="u1"))
        assert (reply.status_code, reply.json()["error"]["code"], reply.json()["error"]["param"]) == (
            400,
            BAD,
            "/user",
        )
        nested = c.post(
            "/v3/router/responses", json=body(tools=[{"type": "function", "name": "f", "extra": 1}])
        )
        assert (nested.status_code, nested.json()["error"]["param"]) == (400, "/tools/0/extra")


def test_route_edges(client: httpx.Client) -> None:
    created = client.post("/v3/router/responses", json=OK).json()
    head = client.head(f"/v3/router/responses/{created['id']}")
    assert head.status_code == 200 and head.headers["x-orq-trace-id"] == created["telemetry"]["trace_id"]
    assert client.get("/v3/router/responses/").status_code == 404
    nested = client.get(f"/v3/router/responses/{created['id']}/unknown")
    assert (nested.status_code, nested.json()["error"]["code"]) == (404, "not_found")
    deeper = client.get(f"/v3/router/responses/{created['id']}/input_items/more")
    assert deeper.status_code == 404
    wrong = client.put(f"/v1/responses/{created['id']}")
    assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET, HEAD, DELETE")
    counting = client.get("/v3/router/responses/input_tokens")  # a route, not a response id
    assert (counting.status_code, counting.headers["allow"]) == (405, "POST")
    assert (
        client.post("/v3/router/responses/input_itemsX", json=OK).status_code == 405
    )  # an id: GET, HEAD, DELETE
    assert client.post("/v3/router/responsesX", json=OK).status_code == 404
    for refused in (nested, wrong, counting):
        assert_contract_error(refused.json())


def test_a_bug_is_a_logged_500_in_the_envelope_and_the_server_lives_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_config())
    planner = app.service.planner
    real_plan = planner.plan
    monkeypatch.setattr(planner, "plan", lambda *args, **kwargs: 1 / 0)
    with TestClient(app, headers=AUTH, raise_server_exceptions=False) as c:
        reply = c.post("/v3/router/responses", json=body())
        assert (reply.status_code, reply.json()["error"]["code"]) == (500, "internal_error")
        assert "ZeroDivisionError" in reply.json()["error"]["message"]
        assert_contract_error(reply.json())
        assert any("POST /v3/router/responses" in r.getMessage() and r.exc_info for r in caplog.records)
        monkeypatch.setattr(planner, "plan", real_plan)
        assert c.post("/v3/router/responses", json=body()).status_code == 200


def test_error_bodies_parse_in_both_sdks_error_models(client: httpx.Client) -> None:
    """A sample of every status the emulator answers with, read by the orq SDK's error model
    (`APIErrorResponseData`) and OpenAI's (`ErrorObject`, what its errors read from "error")."""
    from openai.types import ErrorObject
    from orq_ai_sdk.models import APIErrorResponseData

    url = "/v3/router/responses"
    samples = {
        400: client.post(url, json=body(temperature=9, top_p=7)),  # two failures: `failures` listed
        401: client.post(url, json=OK, headers={"Authorization": "Bearer wrong"}),
        404: client.get(f"{url}/resp_missing"),
        405: client.delete(url),
        413: TestClient(create_app(make_config(max_body_bytes=10)), headers=AUTH).post(url, json=OK),
        415: client.post(url, content=b"x", headers={"content-type": "text/plain"}),
    }
    for status, reply in samples.items():
        assert reply.status_code == status
        sent = reply.json()
        orq = APIErrorResponseData.model_validate(sent).error
        oai = ErrorObject.model_validate(sent["error"])
        for parsed in (orq, oai):
            assert (parsed.message, parsed.code, parsed.param) == (
                sent["error"]["message"],
                sent["error"]["code"],
                sent["error"]["param"],
            )
        assert oai.type == sent["error"]["type"]
    assert len(samples[400].json()["error"]["failures"]) == 2
