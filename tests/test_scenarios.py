"""Scenarios through real HTTP: every matcher and script element, read by the orq and OpenAI SDKs
in JSON and stream mode (tests/scenarios/features.yaml), plus sequences, sessions, strict mode,
the model catalogue and determinism."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from orq_ai_sdk import Orq, models

from emulator.config import DEV_API_KEY
from emulator.testing import ServedEmulator
from tests.support import AUTH, assert_contract_response, assert_contract_stream, make_config

FEATURES = str(Path(__file__).parent / "scenarios" / "features.yaml")
URL = "/v3/router/responses"
MODES = ["json", "stream"]
SDKS = ["orq", "openai"]


@pytest.fixture(scope="module")
def live() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config(scenarios=(FEATURES,), reasoning_events="openai")) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_counters(live: ServedEmulator) -> None:
    httpx.post(f"{live.base_url}/_emulator/reset", headers=AUTH).raise_for_status()


def ask(
    live: ServedEmulator, sdk: str, mode: str, headers: dict[str, str] | None = None, **request: Any
) -> dict[str, Any]:
    """The final response, as the SDK parsed it, of one create in JSON or stream mode."""
    request.setdefault("model", "openai/gpt-4o")
    stream = mode == "stream"
    if sdk == "orq":
        client = Orq(api_key=DEV_API_KEY, server_url=live.base_url)
        if not stream:
            return client.responses.create(**request, http_headers=headers).model_dump(by_alias=True)
        events = [
            wrapper.data for wrapper in client.responses.create(**request, stream=True, http_headers=headers)
        ]
        return events[-1].response.model_dump(by_alias=True)
    client = openai.OpenAI(api_key=DEV_API_KEY, base_url=f"{live.base_url}/v3/router", max_retries=0)
    extra = {k: request.pop(k) for k in ("thread", "identity", "variables") if k in request}
    options = {"extra_headers": headers, "extra_body": extra or None}
    # warnings=False: orq's platform tool items (orq:*) are no OpenAI type; the SDK keeps them as
    # they came, and only dumping them back out complains.
    if not stream:
        return client.responses.create(**request, **options).model_dump(warnings=False)
    events = list(client.responses.create(**request, stream=True, **options))
    return events[-1].response.model_dump(warnings=False)


def text_of(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text") or ""
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


LOOKUP = {"type": "function", "name": "lookup_order", "parameters": {"type": "object", "properties": {}}}
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}  # fmt: skip
FLIGHT = {
    "type": "function",
    "name": "book_flight",
    "parameters": {
        "type": "object",
        "properties": {
            "origin": {"type": "string", "minLength": 3, "maxLength": 3},
            "seats": {"type": "integer", "minimum": 1, "maximum": 9},
            "date": {"type": "string", "format": "date"},
            "class": {"enum": ["economy", "business"]},
        },
        "required": ["origin", "seats", "date", "class"],
        "additionalProperties": False,
    },
}

MATCHERS: list[tuple[str, dict[str, Any], dict[str, str] | None]] = [
    ("model-glob", {"model": "acme/m1", "input": "hi"}, None),
    ("model-regex", {"model": "acme-re/7", "input": "hi"}, None),
    ("model-equals", {"model": "acme-eq/exact", "input": "hi"}, None),
    ("last-message-contains", {"input": "the zebra-contains test"}, None),
    ("last-message-regex", {"input": "quokka-42"}, None),
    ("last-message-equals", {"input": "exactly this"}, None),
    (
        "any-input",
        {"input": [*user("narwhal facts"), {"role": "assistant", "content": "ok"}, *user("more")]},
        None,
    ),
    ("instructions", {"input": "hi", "instructions": "speak like a pirate"}, None),
    ("tools-offered", {"input": "hi", "tools": [LOOKUP]}, None),
    (
        "tool-results",
        {
            "tools": [LOOKUP],
            "input": [
                *user("where is my order?"),
                {"type": "function_call", "call_id": "fc_1", "name": "lookup_order", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "fc_1", "output": '{"status": "shipped"}'},
            ],
        },
        None,
    ),
    ("metadata", {"input": "hi", "metadata": {"case": "metadata-match"}}, None),
    ("header", {"input": "hi"}, {"X-Team": "web"}),
    ("thread", {"input": "hi", "thread": {"id": "thread-7"}}, None),
    ("identity", {"input": "hi", "identity": {"id": "user-9"}}, None),
    ("agent", {"model": "agent/support-bot", "input": "hi"}, None),
    ("selected-by-name", {"input": "hi"}, {"X-Emulator-Scenario": "selected-by-name"}),
    ("selected-by-name", {"input": "hi", "metadata": {"emulator_scenario": "selected-by-name"}}, None),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
@pytest.mark.parametrize(
    ("name", "request_", "headers"), MATCHERS, ids=[f"{m[0]}-{n}" for n, m in enumerate(MATCHERS)]
)
def test_each_matcher(
    live: ServedEmulator,
    sdk: str,
    mode: str,
    name: str,
    request_: dict[str, Any],
    headers: dict[str, str] | None,
) -> None:
    assert text_of(ask(live, sdk, mode, headers, **request_)) == f"matched {name}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_turn_matcher_counts_the_conversation(live: ServedEmulator, sdk: str, mode: str) -> None:
    first = ask(live, sdk, mode, model="acme-turn/x", input="hi")
    assert text_of(first) != "matched second-turn"
    second = ask(live, sdk, mode, model="acme-turn/x", input="again", previous_response_id=first["id"])
    assert text_of(second) == "matched second-turn"


def test_unmatched_requests_get_the_default_text(live: ServedEmulator) -> None:
    reply = httpx.post(
        f"{live.base_url}{URL}", json={"model": "openai/gpt-4o", "input": "hello"}, headers=AUTH
    )
    assert "x-emulator-scenario" not in reply.headers
    assert text_of(reply.json()) and not text_of(reply.json()).startswith("matched")
    named = httpx.post(f"{live.base_url}{URL}", json={"model": "openai/gpt-4o", "input": "hi"},
                       headers={**AUTH, "X-Emulator-Scenario": "no-such-one"})  # fmt: skip
    assert (named.status_code, named.json()["error"]["code"]) == (400, "no_scenario_matched")
    assert "model-glob" in named.json()["error"]["message"]


# --- script elements ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_text_literal_template_faker_and_json(live: ServedEmulator, sdk: str, mode: str) -> None:
    request = {
        "input": "text-kinds",
        "metadata": {"team": "web"},
        "variables": {"key": {"secret": True, "value": "s3cr3t"}},
    }
    text = text_of(ask(live, sdk, mode, **request))
    literal, templated, rest = text.split(". ", 2)
    assert literal == "literal"
    assert templated == "model=openai/gpt-4o team=web said=text-kinds secret=[REDACTED]"
    assert rest.endswith('{"ok": true, "n": 3}') and len(rest) > len('{"ok": true, "n": 3}') + 10
    assert "s3cr3t" not in text
    assert text_of(ask(live, sdk, mode, **request)) == text  # Faker is seeded by the request


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_structured_output_fits_the_requested_schema(live: ServedEmulator, sdk: str, mode: str) -> None:
    schema = FLIGHT["parameters"]
    text_format = {"format": {"type": "json_schema", "name": "flight", "schema": schema, "strict": True}}
    answer = json.loads(text_of(ask(live, sdk, mode, input="structured", text=text_format)))
    jsonschema.validate(answer, schema)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_refusal(live: ServedEmulator, sdk: str, mode: str) -> None:
    response = ask(live, sdk, mode, input="refuse-me")
    assert response["output"][0]["content"][0] == {"type": "refusal", "refusal": "I can't help with that."}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_function_calls_literal_and_generated(live: ServedEmulator, sdk: str, mode: str) -> None:
    call = ask(live, sdk, mode, input="call-literal", tools=[WEATHER])["output"][0]
    assert (call["type"], call["name"], json.loads(call["arguments"])) == (
        "function_call",
        "get_weather",
        {"city": "Paris"},
    )
    assert call["call_id"].startswith("fc_") and call["id"].startswith("fc_")
    response = ask(live, sdk, mode, input="call-generated", tools=[FLIGHT])
    assert [item["type"] for item in response["output"]] == ["message", "function_call"]
    jsonschema.validate(json.loads(response["output"][1]["arguments"]), FLIGHT["parameters"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_reasoning_tool_results_and_annotations(live: ServedEmulator, sdk: str, mode: str) -> None:
    thought = ask(live, sdk, mode, input="reason-please")
    reasoning = thought["output"][0]
    assert reasoning["type"] == "reasoning"
    assert reasoning["content"][0]["text"] == "First, consider the question carefully."
    assert reasoning["summary"][0]["text"] == "Considered it."
    assert thought["usage"]["output_tokens_details"]["reasoning_tokens"] > 0
    dated = ask(live, sdk, mode, input="what-day")
    tool = dated["output"][0]
    assert (tool["type"], tool["name"], tool["result"]) == ("orq:current_date", "current_date", {"currentDate": "2026-04-14T17:25:29.175Z"})  # fmt: skip
    cited = ask(live, sdk, mode, input="cite-it")["output"][0]["content"][0]
    assert cited["annotations"][0]["url"] == "https://example.com/paris"
    assert cited["text"][4:9] == "Paris"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_statuses_and_usage(live: ServedEmulator, sdk: str, mode: str) -> None:
    cut = ask(live, sdk, mode, input="cut-short")
    assert (cut["status"], cut["incomplete_details"]["reason"]) == ("incomplete", "content_filter")
    usage = ask(live, sdk, mode, input="count-this")["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (1000, 7, 1007)
    assert usage["input_tokens_details"]["cached_tokens"] == 400


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_failed_turns(live: ServedEmulator, sdk: str, mode: str) -> None:
    if sdk == "openai" and mode == "stream":
        # OpenAI's SDK raises at the stream's error event, as it does against OpenAI itself.
        with pytest.raises(openai.APIError, match="The model crashed"):
            ask(live, sdk, mode, input="break-down")
        return
    failed = ask(live, sdk, mode, input="break-down")
    assert failed["status"] == "failed"
    assert (failed["error"]["code"], failed["error"]["message"]) == ("server_error", "The model crashed.")
    assert text_of(failed) == "I was saying"


def test_failed_turns_are_contract_exact(live: ServedEmulator) -> None:
    body = {"model": "openai/gpt-4o", "input": "break-down"}
    assert_contract_response(httpx.post(f"{live.base_url}{URL}", json=body, headers=AUTH).json())
    raw = httpx.post(f"{live.base_url}{URL}", json={**body, "stream": True}, headers=AUTH).content
    assert [e["type"] for e in assert_contract_stream(raw).events[-2:]] == ["error", "response.failed"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_http_errors_reach_both_sdks(live: ServedEmulator, sdk: str, mode: str) -> None:
    expected = models.APIDefaultError if sdk == "orq" else openai.InternalServerError
    with pytest.raises(expected) as raised:
        ask(live, sdk, mode, input="overloaded")
    assert raised.value.status_code == 503
    if sdk == "openai":
        assert raised.value.body["code"] == "service_unavailable"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sdk", SDKS)
def test_timing_override_and_item_delays(live: ServedEmulator, sdk: str, mode: str) -> None:
    clock = live.app.clock
    before = clock.now()
    response = ask(live, sdk, mode, input="take-your-time")
    text_tokens = response["usage"]["output_tokens"] - 2  # the call's "{}" is two tokens
    expected = 0.25 + (text_tokens - 1) * 0.1 + 0.5 + 2 * 0.1
    assert clock.now() - before == pytest.approx(expected)


# --- sequences, sessions, strict mode, the catalogue ---------------------------------------------


def post(live: ServedEmulator, text: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{live.base_url}{URL}", json={"model": "openai/gpt-4o", "input": text}, headers={**AUTH, **headers}
    )


def test_sequences_and_their_after_policies(live: ServedEmulator) -> None:
    assert [post(live, "seq-repeat").status_code for _ in range(4)] == [429, 429, 200, 200]
    assert [text_of(post(live, "seq-cycle").json()) for _ in range(5)] == ["A", "B", "A", "B", "A"]
    assert [text_of(post(live, "seq-fall").json()) for _ in range(3)] == ["only once", "the next scenario", "the next scenario"]  # fmt: skip
    assert post(live, "seq-fail").status_code == 200
    failing = post(live, "seq-fail")
    assert (failing.status_code, failing.json()["error"]["code"]) == (400, "no_scenario_matched")


def test_sessions_keep_their_own_counts_and_reset(live: ServedEmulator) -> None:
    assert post(live, "seq-repeat", **{"X-Emulator-Session": "a"}).status_code == 429
    assert post(live, "seq-repeat", **{"X-Emulator-Session": "a"}).status_code == 429
    assert post(live, "seq-repeat", **{"X-Emulator-Session": "b"}).status_code == 429
    assert post(live, "seq-repeat", **{"X-Emulator-Session": "a"}).status_code == 200
    httpx.post(f"{live.base_url}/_emulator/reset", params={"session": "a"}, headers=AUTH).raise_for_status()
    assert post(live, "seq-repeat", **{"X-Emulator-Session": "a"}).status_code == 429
    assert post(live, "seq-repeat", **{"X-Emulator-Session": "b"}).status_code == 429
    assert post(live, "seq-repeat", **{"X-Emulator-Session": "b"}).status_code == 200


def test_the_scenario_listing(live: ServedEmulator) -> None:
    listing = httpx.get(f"{live.base_url}/_emulator/scenarios", headers=AUTH).json()
    names = [s["name"] for s in listing["scenarios"]]
    assert names[0] == "tool-results"  # priority 5 goes first
    assert listing["files"] == [FEATURES] and listing["problems"] == []
    assert httpx.get(f"{live.base_url}/_emulator/scenarios").status_code == 401


def test_model_catalogue_timing_and_reasoning(live: ServedEmulator) -> None:
    clock = live.app.clock
    before = clock.now()
    httpx.post(
        f"{live.base_url}{URL}", json={"model": "slowco/m", "input": "hello"}, headers=AUTH
    ).raise_for_status()
    assert clock.now() - before >= 2.0
    plain = httpx.post(
        f"{live.base_url}{URL}",
        json={"model": "plainco/m", "input": "hi", "reasoning": {"effort": "high"}},
        headers=AUTH,
    ).json()
    assert [item["type"] for item in plain["output"]] == ["message"]
    assert plain["reasoning"]["effort"] == "high"  # still echoed
    no_tools = httpx.post(
        f"{live.base_url}{URL}", json={"model": "plainco/m", "input": "hi", "tools": [WEATHER]}, headers=AUTH
    )
    assert (no_tools.status_code, no_tools.json()["error"]["param"]) == (400, "/tools")
    assert "does not support tools" in no_tools.json()["error"]["message"]


def test_strict_mode_names_the_closest_scenarios() -> None:
    with ServedEmulator.running(make_config(scenarios=(FEATURES,), strict_scenarios=True)) as server:
        reply = httpx.post(
            f"{server.base_url}{URL}", json={"model": "acme-re/x", "input": "hello"}, headers=AUTH
        )
        assert (reply.status_code, reply.json()["error"]["code"]) == (400, "no_scenario_matched")
        message = reply.json()["error"]["message"]
        assert "'model-regex' (" in message and "does not match the regex" in message
        assert "features.yaml:" in message
        assert post(server, "zebra-contains").status_code == 200


def test_scenarios_are_deterministic() -> None:
    requests = [
        {"model": "openai/gpt-4o", "input": "text-kinds", "stream": True},
        {"model": "openai/gpt-4o", "input": "call-generated", "tools": [FLIGHT]},
        {
            "model": "openai/gpt-4o",
            "input": "structured",
            "text": {"format": {"type": "json_schema", "name": "f", "schema": FLIGHT["parameters"]}},
        },
        {"model": "openai/gpt-4o", "input": "take-your-time", "stream": True},
    ]
    runs = []
    for _ in range(2):
        with ServedEmulator.running(make_config(scenarios=(FEATURES,), seed=3)) as server:
            runs.append(
                [httpx.post(f"{server.base_url}{URL}", json=r, headers=AUTH).content for r in requests]
            )
    assert runs[0] == runs[1]
    with ServedEmulator.running(make_config(scenarios=(FEATURES,), seed=4)) as server:
        other = httpx.post(f"{server.base_url}{URL}", json=requests[1], headers=AUTH).content
    assert other != runs[0][1]


@pytest.mark.parametrize(
    ("user_agent", "status"),
    [
        ("speakeasy-sdk/python 4.17.13 2.950.13 2.0 orq-ai-sdk", "completed"),
        ("speakeasy-sdk/typescript 4.13.1 2.700.0 2.0 @orq-ai/node", "completed"),
        ("speakeasy-sdk/python 4.12.22 2.680.0 2.0 orq-ai-sdk", "requires_action"),
        ("OpenAI/Python 3.57.0", "requires_action"),
        ("", "requires_action"),
    ],
)
def test_function_call_status_follows_the_client(user_agent: str, status: str) -> None:
    from emulator.engine.function_calls import status_for

    assert status_for("auto", {"user-agent": user_agent}) == status
    assert status_for("completed", {"user-agent": user_agent}) == "completed"


def test_function_call_turns_end_as_each_client_expects(live: ServedEmulator) -> None:
    request = {"input": "call-literal", "tools": [WEATHER]}
    assert ask(live, "orq", "json", **request)["status"] == "completed"
    assert ask(live, "openai", "json", **request)["status"] == "requires_action"
    assert ask(live, "openai", "stream", **request)["status"] == "requires_action"
    forced = httpx.post(f"{live.base_url}{URL}", json={"model": "m/x", "input": "must-act", "tools": [WEATHER]},
                        headers={**AUTH, "user-agent": "speakeasy-sdk/python 4.17.13 2.950.13 2.0 orq-ai-sdk"})  # fmt: skip
    assert forced.json()["status"] == "requires_action"
    with ServedEmulator.running(
        make_config(scenarios=(FEATURES,), function_call_status="completed")
    ) as server:
        assert ask(server, "openai", "json", **request)["status"] == "completed"


# --- the gateway: retries and fallbacks from the catalogue's failure profiles ---------------------


def gateway_post(live: ServedEmulator, session: str, **body: Any) -> httpx.Response:
    body = {"input": "hello", **body}
    return httpx.post(f"{live.base_url}{URL}", json=body, headers={**AUTH, "X-Emulator-Session": session})


def test_retries_walk_the_failure_profile(live: ServedEmulator) -> None:
    clock = live.app.clock
    before = clock.now()
    answered = gateway_post(live, "retry", model="flaky/a", retry={"count": 2, "on_codes": [503]})
    assert answered.status_code == 200 and answered.json()["model"] == "flaky/a"
    assert answered.headers["x-emulator-attempt-log"] == "flaky/a 503, flaky/a 503, flaky/a ok"
    assert 0.75 * 3 <= clock.now() - before <= 1.25 * 3  # backoffs of 1 s and 2 s, each ±25 %
    assert gateway_post(live, "retry", model="flaky/a").status_code == 200  # recovered for this session
    assert gateway_post(live, "other", model="flaky/a").status_code == 503  # another session starts over


def test_default_retry_codes_and_exhaustion(live: ServedEmulator) -> None:
    limited = gateway_post(live, "limits", model="limited/x", retry={"count": 1})
    assert (
        limited.status_code == 200 and limited.headers["x-emulator-attempts"] == "2"
    )  # 429 is retried by default
    down = gateway_post(
        live, "down", model="down/x", retry={"count": 2}
    )  # 503 is not in the default on_codes
    assert (down.status_code, down.json()["error"]["code"]) == (503, "provider_overloaded")
    assert down.headers["x-emulator-attempts"] == "1"
    assert "down/x answered 503" in down.json()["error"]["message"]


def test_fallbacks_in_order_and_only_on_their_codes(live: ServedEmulator) -> None:
    chain = [{"model": "down/b"}, {"model": "openai/gpt-4o"}]
    answered = gateway_post(live, "chain", model="down/a", fallbacks=chain)
    assert answered.json()["model"] == "openai/gpt-4o"
    assert answered.headers["x-emulator-attempt-log"] == "down/a 503, down/b 503, openai/gpt-4o ok"
    refused = gateway_post(live, "chain", model="broken/a", fallbacks=[{"model": "openai/gpt-4o"}])
    assert (refused.status_code, refused.headers["x-emulator-attempts"]) == (
        400,
        "1",
    )  # a 400 never falls back
    narrowed = gateway_post(live, "narrow", model="down/a", fallbacks=chain, fallback_on_codes=[429])
    assert narrowed.status_code == 503 and narrowed.headers["x-emulator-attempts"] == "1"


@pytest.mark.parametrize("mode", MODES)
def test_the_gateway_through_both_sdks(live: ServedEmulator, mode: str) -> None:
    session = {"X-Emulator-Session": f"sdk-{mode}"}
    gateway = {"retry": {"count": 1, "on_codes": [503]}, "fallbacks": [{"model": "openai/gpt-4o-mini"}]}
    answered = ask(live, "orq", mode, session, model="flaky/orq", input="hello", **gateway)
    assert answered["model"] == "openai/gpt-4o-mini"
    oai = openai.OpenAI(
        api_key=DEV_API_KEY, base_url=f"{live.base_url}/v3/router", max_retries=0, default_headers=session
    )
    with pytest.raises(openai.InternalServerError) as failed:
        oai.responses.create(
            model="down/openai", input="hello", stream=mode == "stream", extra_body={"retry": {"count": 1}}
        )
    assert failed.value.status_code == 503
