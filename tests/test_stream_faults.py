"""Stream faults, as the openai and orq SDKs see them on a real socket, and the response stored
afterwards: truncate, disconnect, stall, malformed, error (emulator.engine.faults)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from orq_ai_sdk import Orq

from emulator.testing import ServedEmulator
from tests.support import assert_contract_response, make_config

MODEL = "openai/gpt-4o"


def fail(fault: str) -> dict[str, str]:
    return {"x-emulator-fail": f"openai/*={fault}"}


def stored(live: ServedEmulator) -> dict[str, Any]:
    response_id = live.requests[-1].response_id
    body: dict[str, Any] = httpx.get(
        f"{live.base_url}/v3/router/responses/{response_id}", headers=live.auth_headers
    ).json()
    assert_contract_response(body)
    return body


def openai_events(oai: openai.OpenAI, headers: dict[str, str]) -> Iterator[str]:
    for event in oai.responses.create(model=MODEL, input="Tell me more", stream=True, extra_headers=headers):
        yield event.type


def orq_events(orq: Orq, headers: dict[str, str]) -> list[str]:
    stream = orq.responses.create(model=MODEL, input="Tell me more", stream=True, http_headers=headers)
    return [event.data.type for event in stream if event.data is not None]


def test_truncate_ends_the_stream_without_a_terminal_event(
    live: ServedEmulator, oai: openai.OpenAI, orq: Orq
) -> None:
    assert len(list(openai_events(oai, fail("stream:truncate@5")))) == 5
    truncated = oai.responses.stream(
        model=MODEL, input="Tell me more", extra_headers=fail("stream:truncate@5")
    )
    with pytest.raises(RuntimeError, match=r"response\.completed"), truncated as s:  # the helper needs it
        s.get_final_response()
    events = orq_events(orq, fail("stream:truncate@5"))
    assert len(events) == 5 and "response.completed" not in events
    after = stored(live)
    assert after["status"] == "failed"
    assert "stream:truncate@5" in after["error"]["message"]


def test_disconnect_drops_the_connection(live: ServedEmulator, oai: openai.OpenAI, orq: Orq) -> None:
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for event_type in openai_events(oai, fail("stream:disconnect@5")):
            seen.append(event_type)
    assert len(seen) == 5
    assert stored(live)["status"] == "failed"
    with pytest.raises(httpx.RemoteProtocolError):
        orq_events(orq, fail("stream:disconnect@3"))
    after = stored(live)
    assert after["status"] == "failed" and "stream:disconnect@3" in after["error"]["message"]
    # Three events: created, in_progress, output_item.added: the message was begun, nothing said.
    assert [(i["status"], i["content"]) for i in after["output"]] == [("incomplete", [])]


def test_a_malformed_frame_breaks_the_parsers_but_the_response_completes(
    live: ServedEmulator, oai: openai.OpenAI, orq: Orq
) -> None:
    with pytest.raises(json.JSONDecodeError):
        list(openai_events(oai, fail("stream:malformed@3")))
    with pytest.raises(Exception, match="Response validation failed"):  # orq reads the cut JSON as a string
        orq_events(orq, fail("stream:malformed@3"))
    assert stored(live)["status"] == "completed"


def test_a_mid_stream_error_then_response_failed(live: ServedEmulator, oai: openai.OpenAI, orq: Orq) -> None:
    with pytest.raises(openai.APIError, match="stream:error@4"):
        list(openai_events(oai, fail("stream:error@4")))
    events = orq_events(orq, fail("stream:error@4"))
    assert len(events) == 6
    assert events[-2:] == ["error", "response.failed"]
    after = stored(live)
    assert after["status"] == "failed"
    assert after["error"]["code"] == "server_error"


def test_a_stall_is_silence_on_the_clock(live: ServedEmulator, oai: openai.OpenAI, orq: Orq) -> None:
    clock = live.app.clock
    before = clock.now()
    events = list(openai_events(oai, fail("stream:stall@3:45s")))  # longer than the keep-alive
    assert events[-1] == "response.completed"
    assert clock.now() - before == pytest.approx(45)
    assert stored(live)["status"] == "completed"
    assert orq_events(orq, fail("stream:stall@3:45s"))[-1] == "response.completed"
    assert clock.now() - before == pytest.approx(90)
    raw = httpx.post(
        f"{live.base_url}/v3/router/responses", json={"model": MODEL, "input": "hi", "stream": True},
        headers={**live.auth_headers, **fail("stream:stall@3:45s")},
    ).text  # fmt: skip
    assert ": keepalive" not in raw  # silence: 45 s with no keep-alive (one is due every 15 s)
    assert "response.completed" in raw


def test_a_stall_trips_a_clients_read_timeout() -> None:
    """Real time: a 3 s stall against a 0.5 s read timeout (wide margins both ways)."""
    with ServedEmulator.running(make_config(frozen_time=None)) as live:
        oai = live.openai_client(timeout=httpx.Timeout(5.0, read=0.5))
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            list(openai_events(oai, fail("stream:stall@3:3s")))
        assert time.monotonic() - started < 2.5
        # Keep-alives would reset the read timeout: a stall sends none.


def test_a_scenario_turn_and_the_catalogue_carry_stream_faults(
    live: ServedEmulator, oai: openai.OpenAI
) -> None:
    live.on(message="flaky").reply("Hello there, friend", fault="stream:truncate@4")
    assert len(list(oai.responses.create(model=MODEL, input="flaky", stream=True))) == 4
    live.model("anthropic/*").fault("stream:error@2")
    with pytest.raises(openai.APIError, match="stream:error@2"):
        list(oai.responses.create(model="anthropic/claude", input="hi", stream=True))
    assert oai.responses.create(model="anthropic/claude", input="hi").status == "completed"  # JSON: no stream
    live.app.scenarios.documents.clear()
    live.app.scenarios.load()


def test_retries_do_not_apply_once_a_stream_has_begun(live: ServedEmulator, oai: openai.OpenAI) -> None:
    headers = {"x-emulator-fail": "openai/*=stream:error@3"}
    body: dict[str, Any] = {
        "fallbacks": [{"model": "anthropic/claude"}],
        "retry": {"count": 2, "on_codes": [500]},
    }
    with pytest.raises(openai.APIError):
        list(
            oai.responses.create(model=MODEL, input="hi", stream=True, extra_headers=headers, extra_body=body)
        )
    assert [a["model"] for a in live.requests[-1].attempts] == [MODEL]
