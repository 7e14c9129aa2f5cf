"""Property tests: no request, however odd, gets a 500; the fast and the detailed validators agree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.contract import schemas
from emulator.contract.errors import ApiError
from emulator.contract.validation import RequestValidator, _across_fields, check_rules
from tests.support import (
    AUTH,
    assert_contract_error,
    assert_contract_response,
    assert_contract_stream,
    make_config,
)

FIELDS = sorted(schemas.load(schemas.REQUEST)["properties"])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

text_part = st.fixed_dictionaries({"type": st.just("input_text"), "text": st.text(max_size=20)})
message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant", "system", "developer"]),
        "content": st.text(max_size=20) | st.lists(text_part, min_size=1, max_size=2),
    },
    optional={"type": st.just("message")},
)
tool = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("function"), "name": st.from_regex(r"[a-z_]{1,10}", fullmatch=True)},
        optional={
            "description": st.text(max_size=10),
            "parameters": st.just({"type": "object"}),
            "strict": st.booleans(),
        },
    ),
    st.fixed_dictionaries({"type": st.sampled_from(["orq:current_date", "orq:web_search", "web_search"])}),
)
# Bodies that satisfy the contract: every one of them must get a 200 and a valid response.
valid_bodies = st.fixed_dictionaries(
    {
        "model": st.sampled_from(
            ["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "agent/support", "google/gemini/2.5"]
        ),
        "input": st.text(max_size=40) | st.lists(message, min_size=1, max_size=3),
    },
    optional={
        "instructions": st.text(max_size=30),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0, 1),
        "max_output_tokens": st.integers(1, 60),
        "metadata": st.dictionaries(st.text(max_size=64), st.text(max_size=20), max_size=16),
        "tools": st.lists(tool, max_size=2),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "store": st.booleans(),
        "parallel_tool_calls": st.booleans(),
        "top_logprobs": st.integers(0, 20),
        "service_tier": st.sampled_from(["auto", "default", "flex", "priority"]),
        "reasoning": st.fixed_dictionaries(
            {},
            optional={"effort": st.sampled_from(["low", "high"]), "summary": st.sampled_from(["auto", None])},
        ),
        "text": st.fixed_dictionaries({}, optional={"verbosity": st.sampled_from(["low", "high"])}),
        "variables": st.dictionaries(
            st.text(max_size=5),
            st.text(max_size=5)
            | st.fixed_dictionaries({"secret": st.just(True), "value": st.text(max_size=5)}),
            max_size=3,
        ),
        "user": st.text(max_size=5),
    },
)
# A valid body with one field replaced by noise, and bodies of pure noise.
mutated = st.tuples(valid_bodies, st.sampled_from([*FIELDS, "user", "unknown"]), json_values).map(
    lambda t: {**t[0], t[1]: t[2]}
)
noise = st.dictionaries(st.sampled_from([*FIELDS, "user", "unknown"]), json_values, max_size=6)
bodies = st.one_of(valid_bodies, mutated, noise)


@pytest.fixture(scope="module")
def fuzz_client() -> Iterator[TestClient]:
    with TestClient(create_app(make_config()), headers=AUTH, raise_server_exceptions=False) as client:
        yield client


# Requests go through the whole app, so examples are slower than hypothesis expects.
THROUGH_THE_APP = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


def assert_contract_answer(reply: Any, body: dict[str, Any]) -> None:
    if body.get("stream") is True:
        assert_contract_stream(reply.content)
    else:
        assert_contract_response(reply.json())


@settings(THROUGH_THE_APP, max_examples=150)
@given(body=valid_bodies)
def test_valid_bodies_succeed(fuzz_client: httpx.Client, body: dict[str, Any]) -> None:
    reply = fuzz_client.post("/v3/router/responses", json=body)
    assert reply.status_code == 200, reply.text
    assert_contract_answer(reply, body)


@settings(THROUGH_THE_APP, max_examples=300)
@given(body=bodies)
def test_never_a_server_error(fuzz_client: httpx.Client, body: dict[str, Any]) -> None:
    reply = fuzz_client.post("/v3/router/responses", json=body)
    assert reply.status_code in (200, 400), reply.text
    if reply.status_code == 200:
        assert_contract_answer(reply, body)
    else:
        assert_contract_error(reply.json())


@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_fast_and_detailed_validators_agree(body: dict[str, Any]) -> None:
    validator = RequestValidator()
    known = {k: v for k, v in body.items() if k in validator._known}
    errors = list(schemas.validator(schemas.REQUEST).iter_errors(known))
    per_field = [e for e in errors if not _across_fields(e)]
    assert validator._fast.is_valid(known) == (not per_field)
    # The schema's rules across fields are the ones check_rules words: each refuses what the other does.
    try:
        check_rules(known)
        refused = False
    except ApiError:
        refused = True
    assert refused == (len(per_field) < len(errors))
