"""Property: any valid scenario, whatever it scripts, yields contract-valid responses and streams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from emulator.app import create_app
from tests.support import AUTH, assert_contract_response, assert_contract_stream, make_config

words = st.text(st.sampled_from("abcdefghij klmnop,.!?é"), min_size=0, max_size=40)
text_sources = st.one_of(
    words,
    st.builds(lambda t: {"template": "{{ model }} said " + t}, words),
    st.sampled_from(
        [{"faker": "sentence"}, {"faker": "word"}, {"faker": "paragraph", "args": {"nb_sentences": 2}}]
    ),
    st.builds(lambda v: {"json": v}, st.dictionaries(st.sampled_from("abc"), st.integers(0, 9), max_size=3)),
)
annotation = st.builds(
    lambda a, b: {
        "url": "https://example.com",
        "title": "t",
        "start_index": min(a, b),
        "end_index": max(a, b),
    },
    st.integers(0, 20),
    st.integers(0, 20),
)
elements = st.one_of(
    st.builds(
        lambda t, a: {"text": t, **({"annotations": a} if a else {})},
        text_sources,
        st.lists(annotation, max_size=2),
    ),
    st.builds(lambda t: {"refusal": t}, text_sources),
    st.builds(
        lambda args: {"function_call": {"name": "get_weather", "arguments": args}},
        st.one_of(st.dictionaries(st.sampled_from(["city", "unit"]), words, max_size=2), words),
    ),
    st.builds(lambda c, s: {"reasoning": {"content": c, "summary": s}}, text_sources, text_sources),
    st.just({"tool_result": {"tool": "orq:current_date", "result": {"currentDate": "2026-01-01"}}}),
)
turns = st.builds(
    lambda output, status, usage, delay: {
        "output": [dict(e, delay_ms=delay) for e in output],
        **status,
        **({"usage": usage} if usage else {}),
    },
    st.lists(elements, min_size=1, max_size=4),
    st.sampled_from(
        [
            {},
            {"status": "incomplete", "incomplete_reason": "content_filter"},
            {"status": "failed", "error": {"code": "server_error", "message": "boom"}},
            {"status": "requires_action"},
        ]
    ),
    st.one_of(
        st.none(),
        st.fixed_dictionaries({"input_tokens": st.integers(0, 99), "output_tokens": st.integers(0, 99)}),
    ),
    st.sampled_from([0, 0, 150]),
)
requests = st.fixed_dictionaries(
    {"model": st.just("openai/gpt-4o"), "input": words.filter(str.strip)},
    optional={"max_output_tokens": st.integers(16, 40), "stream": st.booleans()},
)


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("prop") / "prop.yaml"


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(turn=turns, request=requests)
def test_any_valid_scenario_answers_within_the_contract(
    scenario_file: Path, turn: dict[str, Any], request: dict[str, Any]
) -> None:
    scenario = {"scenarios": [{"name": "prop", "match": {"tools": ["get_weather"]}, "turns": [turn]}]}
    scenario_file.write_text(yaml.safe_dump(scenario))
    app = create_app(make_config(scenarios=(str(scenario_file),), reload=False))
    body = {
        **request,
        "tools": [{"type": "function", "name": "get_weather", "parameters": {"type": "object"}}],
    }
    # Bigger deltas: the same properties, with fewer events to check one by one.
    with TestClient(app, headers={**AUTH, "x-emulator-timing": "chunk_tokens=6"}) as client:
        reply = client.post("/v3/router/responses", json=body)
        assert reply.status_code == 200, reply.text
        assert reply.headers["x-emulator-scenario"] == "prop"
        if body.get("stream"):
            final = assert_contract_stream(reply.content).events[-1]["response"]
        else:
            final = reply.json()
            assert_contract_response(final)
        assert client.get(f"/v3/router/responses/{final['id']}").json() == final
