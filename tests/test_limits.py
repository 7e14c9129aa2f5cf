"""Issue 11's regressions: the body's shape limits, integer rules, and the waits a request may ask
for. Each limit is a 4xx in the envelope naming the place, never a 500 or a hang."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from tests.support import AUTH, assert_contract_error, assert_contract_response, make_config

URL = "/v3/router/responses"
OK = {"model": "openai/gpt-4o", "input": "hi"}


def client(**config: Any) -> TestClient:
    return TestClient(create_app(make_config(**config)), headers=AUTH)


def nested(depth: int, leaf: Any = "x") -> Any:
    """`depth` objects, each under key "a" of the one before."""
    value = leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def post_raw(c: TestClient, raw: bytes, **headers: str) -> Any:
    return c.post(URL, content=raw, headers={"content-type": "application/json", **headers})


# --- nesting ---------------------------------------------------------------------------------


def test_a_body_nested_past_the_limit_is_a_400_naming_the_deepest_place_allowed() -> None:
    c = client()
    # The body is level 1, metadata's value 2, then 63 more objects: level 65 is under 63 "a"s.
    answer = c.post(URL, json={**OK, "metadata": nested(64)})
    assert answer.status_code == 400
    assert_contract_error(answer.json())
    assert answer.json()["error"]["param"] == "/metadata" + "/a" * 63
    assert "64 levels" in answer.json()["error"]["message"]


def test_a_body_exactly_at_the_limit_passes_the_depth_check() -> None:
    # Level 64 at most: metadata's value (2) and 62 more. The schema then refuses nested metadata,
    # as it refuses a string-valued one: a 400 from validation, not from the limit.
    answer = client().post(URL, json={**OK, "metadata": nested(63)})
    assert answer.status_code == 400
    assert "levels" not in answer.json()["error"]["message"]
    assert answer.json()["error"]["param"] == "/metadata/a"


def test_nesting_in_an_accepted_free_form_field_is_served_up_to_the_limit() -> None:
    # A function tool's parameters are free-form JSON Schema: a deep one is valid and echoed.
    deep = nested(60, {"type": "string"})  # levels 4 to 64: body, tools, the tool, then these
    tool = {"type": "function", "name": "f", "parameters": deep}
    answer = client().post(URL, json={**OK, "tools": [tool]})
    assert answer.status_code == 200, answer.text
    assert_contract_response(answer.json())
    assert answer.json()["tools"][0]["parameters"] == deep


@pytest.mark.parametrize("depth", [252, 300, 972, 2000])
def test_deep_bodies_get_a_400_and_never_poison_the_journal(depth: int) -> None:
    c = client()
    deep = b'{"a":' * depth + b'"x"' + b"}" * depth  # written by hand: JSON encoders stop at ~250
    for place in ("metadata", "variables", "tools"):
        answer = post_raw(
            c, b'{"model": "openai/gpt-4o", "input": "hi", "' + place.encode() + b'": ' + deep + b"}"
        )
        assert answer.status_code == 400, (place, answer.text)
        assert_contract_error(answer.json())
        assert answer.json()["error"]["param"].startswith(f"/{place}")
    invalid = b'{"model": 4, "input": ' + b"[" * depth + b"]" * depth + b"}"
    answer = post_raw(c, invalid)
    assert answer.status_code == 400
    assert_contract_error(answer.json())
    journal = c.get("/_emulator/requests")
    assert journal.status_code == 200
    assert len(journal.json()["requests"]) == 4
    assert c.post(URL, json=OK).status_code == 200


def test_the_depth_limit_is_a_setting() -> None:
    c = client(max_depth=3)
    assert c.post(URL, json={**OK, "input": [{"role": "user", "content": "x"}]}).status_code == 200
    answer = c.post(
        URL, json={**OK, "input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "/input/0/content"  # body, input, the item: 3


# --- sizes -----------------------------------------------------------------------------------


def test_a_string_past_the_limit_is_a_400_naming_it() -> None:
    c = client(max_string=100)
    assert c.post(URL, json={**OK, "input": "x" * 100}).status_code == 200
    answer = c.post(URL, json={**OK, "input": [{"role": "user", "content": "y" * 101}]})
    assert answer.status_code == 400
    assert_contract_error(answer.json())
    assert answer.json()["error"]["param"] == "/input/0/content"
    assert "101 characters" in answer.json()["error"]["message"]
    key = client(max_string=100).post(URL, json={**OK, "metadata": {"k" * 101: "v"}})
    assert key.status_code == 400
    assert key.json()["error"]["param"] == "/metadata"


def test_input_items_and_tools_past_their_caps_are_400s() -> None:
    c = client(max_input_items=2, max_tools=1)
    item = {"role": "user", "content": "x"}
    tool = {"type": "function", "name": "f", "parameters": {"type": "object"}}
    assert c.post(URL, json={**OK, "input": [item, item], "tools": [tool]}).status_code == 200
    many = c.post(URL, json={**OK, "input": [item] * 3})
    assert (many.status_code, many.json()["error"]["param"]) == (400, "/input")
    assert "3 items" in many.json()["error"]["message"]
    tools = c.post(URL, json={**OK, "tools": [tool, {**tool, "name": "g"}]})
    assert (tools.status_code, tools.json()["error"]["param"]) == (400, "/tools")


# --- integers --------------------------------------------------------------------------------


@pytest.mark.parametrize("written", [b"5.0", b"5e0", b"0.5e1"])
def test_a_whole_number_written_with_a_fraction_is_that_integer(written: bytes) -> None:
    c = client()
    raw = (
        b'{"model": "openai/gpt-4o", "input": "hi", "max_tool_calls": 3.0, "max_output_tokens": '
        + written
        + b"}"
    )
    answer = post_raw(c, raw)
    assert answer.status_code == 200, answer.text
    assert b'"max_output_tokens":5,' in answer.content
    assert b'"max_tool_calls":3,' in answer.content
    body = answer.json()
    assert_contract_response(body)
    assert body["usage"]["output_tokens"] == 5
    assert body["status"] == "incomplete"


def test_one_point_zero_tokens_is_one_token() -> None:
    answer = post_raw(client(), b'{"model": "openai/gpt-4o", "input": "hi", "max_output_tokens": 1.0}')
    assert answer.status_code == 200
    assert answer.json()["usage"]["output_tokens"] == 1


def test_strict_mode_too_takes_a_whole_number_written_as_a_float() -> None:
    # The served document says `integer`, which admits 5.0; strict mode enforces the document.
    raw = b'{"model": "openai/gpt-4o", "input": "hi", "max_output_tokens": 5.0}'
    answer = post_raw(client(strict=True), raw)
    assert answer.status_code == 200
    assert b'"max_output_tokens":5,' in answer.content


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("max_output_tokens", b"18446744073709551616"),  # 2^64
        ("max_output_tokens", b"9223372036854775808"),  # 2^63: one past int64
        ("max_output_tokens", b"1e30"),
        ("max_tool_calls", b"100000000000000000000000"),
        ("top_k", b"18446744073709551617"),
        ("max_output_tokens", b"5.5"),
    ],
)
def test_integers_past_int64_or_with_a_fraction_are_400s(field: str, written: bytes) -> None:
    raw = b'{"model": "openai/gpt-4o", "input": "hi", "' + field.encode() + b'": ' + written + b"}"
    answer = post_raw(client(), raw)
    assert answer.status_code == 400, answer.text
    assert_contract_error(answer.json())
    assert answer.json()["error"]["param"] == f"/{field}"


def test_the_largest_int64_is_echoed_as_an_integer() -> None:
    raw = b'{"model": "openai/gpt-4o", "input": "hi", "top_k": 9223372036854775807, "max_tool_calls": 9223372036854775807}'
    answer = post_raw(client(), raw)
    assert answer.status_code == 200, answer.text
    assert b'"top_k":9223372036854775807' in answer.content
    assert b'"max_tool_calls":9223372036854775807' in answer.content


def test_whole_floats_are_integers_in_nested_places_too() -> None:
    body = {
        **OK,
        "retry": {"count": 2.0, "on_codes": [429.0]},
        "tools": [{"type": "orq:web_search", "max_results": 3.0}],
    }
    raw = orjson.dumps(body)
    assert b"2.0" in raw and b"429.0" in raw
    answer = post_raw(client(), raw)
    assert answer.status_code == 200, answer.text
    assert answer.json()["tools"][0]["max_results"] == 3
    assert b'"max_results":3' in answer.content


# --- waits a request asks for ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "realistic,ttft_ms=1e12",
        "ttft_ms=60001",
        "tokens_per_second=0.001",
        "chunk_tokens=120,tokens_per_second=1",
    ],
)
def test_a_wait_past_the_cap_is_a_400_naming_the_header(spec: str) -> None:
    answer = client().post(URL, json=OK, headers={"x-emulator-timing": spec})
    assert answer.status_code == 400
    assert_contract_error(answer.json())
    assert answer.json()["error"]["param"] == "x-emulator-timing"
    assert "ttft_ms 0-60000" in answer.json()["error"]["message"]


def test_the_documented_ranges_end_at_the_default_cap() -> None:
    c = client()
    for spec in ("ttft_ms=60000", "chunk_tokens=16,tokens_per_second=1", "jitter=1,tokens_per_second=1"):
        assert c.post(URL, json=OK, headers={"x-emulator-timing": spec}).status_code == 200, spec


def test_a_lower_wait_cap_is_a_setting() -> None:
    c = client(max_delay=2)
    assert c.post(URL, json=OK, headers={"x-emulator-timing": "ttft_ms=2000"}).status_code == 200
    assert (
        c.post(URL, json=OK, headers={"x-emulator-timing": "chunk_tokens=16,tokens_per_second=8"}).status_code
        == 200
    )
    for spec in ("ttft_ms=2001", "chunk_tokens=16,tokens_per_second=7"):
        answer = c.post(URL, json=OK, headers={"x-emulator-timing": spec})
        assert answer.status_code == 400
        assert "max-delay" in answer.json()["error"]["message"]
