"""Streaming mechanics: framing, timing, replay, disconnects, concurrency, and the stream checks."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.clock import FrozenClock
from emulator.config import DEV_API_KEY
from emulator.contract import schemas
from emulator.engine.events import numbered
from emulator.engine.plan import Plan
from emulator.engine.timing import parse_timing
from emulator.render.sse import EventStream
from emulator.testing import ServedEmulator
from emulator.testing.streams import read_sse, stream_problems
from tests.support import AUTH, T0, assert_contract_stream, make_config

URL = "/v3/router/responses"
HI = {"model": "openai/gpt-4o", "input": "Tell me about Paris."}
STREAM = {**HI, "stream": True}


def stream_of(client: httpx.Client, body: dict[str, Any], **headers: str) -> list[dict[str, Any]]:
    reply = client.post(URL, json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert reply.headers["x-orq-trace-id"]
    return assert_contract_stream(reply.content).events


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (STREAM, {}),
        ({**STREAM, "max_output_tokens": 6}, {}),
        ({**STREAM, "reasoning": {"effort": "medium"}}, {}),
        (
            {**STREAM, "reasoning": {"effort": "low", "summary": "detailed"}},
            {"x-emulator-reasoning-events": "openai"},
        ),
        ({**STREAM, "reasoning": {"effort": "high", "summary": "auto"}, "max_output_tokens": 5}, {}),
        ({**STREAM, "store": False, "instructions": "be brief"}, {}),
        (STREAM, {"x-emulator-timing": "chunk_tokens=5"}),
    ],
)
def test_streams_are_contract_exact_and_agree_with_json_mode(
    client: httpx.Client, body: dict[str, Any], headers: dict[str, str]
) -> None:
    events = stream_of(client, body, **headers)
    final = events[-1]["response"]
    as_json = client.post(URL, json={**body, "stream": False}, headers=headers).json()
    assert [i["type"] for i in final["output"]] == [i["type"] for i in as_json["output"]]
    for streamed, answered in zip(final["output"], as_json["output"], strict=True):
        assert streamed.get("content") == answered.get("content")
        assert streamed.get("summary") == answered.get("summary")
    assert final["usage"] == as_json["usage"]
    assert final["status"] == as_json["status"]
    if final["store"]:
        assert client.get(f"{URL}/{final['id']}").json() == final
    else:
        assert client.get(f"{URL}/{final['id']}").status_code == 404


def test_chunking_and_reasoning_names_follow_the_settings(client: httpx.Client) -> None:
    one = stream_of(client, STREAM)
    three = stream_of(client, STREAM, **{"x-emulator-timing": "chunk_tokens=3"})
    deltas = [sum(e["type"].endswith(".delta") for e in s) for s in (one, three)]
    assert deltas[1] == -(-deltas[0] // 3)
    reasoning = {**STREAM, "reasoning": {"effort": "low", "summary": "auto"}}
    orq_types = {e["type"] for e in stream_of(client, reasoning)}
    openai_types = {
        e["type"] for e in stream_of(client, reasoning, **{"x-emulator-reasoning-events": "openai"})
    }
    assert {"response.reasoning.delta", "response.reasoning.done"} <= orq_types
    assert not any(t.startswith("response.reasoning_text") for t in orq_types)
    assert {"response.reasoning_text.delta", "response.reasoning_text.done"} <= openai_types
    assert not {"response.reasoning.delta", "response.reasoning.done"} & openai_types
    assert "response.reasoning_summary_text.delta" in orq_types & openai_types


def test_done_sentinel_can_be_switched_off() -> None:
    with TestClient(create_app(make_config(done_sentinel=False)), headers=AUTH) as client:
        reply = client.post(URL, json=STREAM)
    assert_contract_stream(reply.content, done=False)
    assert b"[DONE]" not in reply.content


def test_replay_and_starting_after(client: httpx.Client) -> None:
    events = stream_of(client, STREAM)
    response_id = events[0]["response"]["id"]
    replay = client.get(f"{URL}/{response_id}?stream=true")
    assert assert_contract_stream(replay.content).events == events
    tail = client.get(f"{URL}/{response_id}", params={"stream": "true", "starting_after": 4})
    assert assert_contract_stream(tail.content, replay_from=5).events == events[5:]
    last = len(events) - 1
    for past in (last, 999):  # nothing after it: a 400 naming the parameter, not an empty stream
        refused = client.get(f"{URL}/{response_id}", params={"stream": "true", "starting_after": past})
        assert (refused.status_code, refused.json()["error"]["param"]) == (400, "starting_after")
        assert f"last event ({last})" in refused.json()["error"]["message"]
    just_before = client.get(f"{URL}/{response_id}", params={"stream": "true", "starting_after": last - 1})
    assert assert_contract_stream(just_before.content, replay_from=last).events == events[-1:]
    # a response created in JSON mode replays the stream it would have sent
    created = client.post(URL, json=HI).json()
    replayed = assert_contract_stream(client.get(f"{URL}/{created['id']}?stream=true").content).events
    assert replayed[-1]["response"] == created


@pytest.mark.parametrize("value", ["x", "-2", "-1", "1.5", "", "1e3", " 4"])
def test_bad_starting_after_is_400(client: httpx.Client, value: str) -> None:
    response_id = client.post(URL, json=HI).json()["id"]
    reply = client.get(f"{URL}/{response_id}", params={"stream": "true", "starting_after": value})
    assert (reply.status_code, reply.json()["error"]["param"]) == (400, "starting_after")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-emulator-timing", "warp"),
        ("x-emulator-timing", "ttft_ms=-1"),
        ("x-emulator-timing", "chunk_tokens=0"),
        ("x-emulator-timing", "jitter=2"),
        ("x-emulator-timing", "speed=3"),
        ("x-emulator-timing", "tokens_per_second=nan"),
        ("x-emulator-timing", "ttft_ms=inf"),
        ("x-emulator-timing", "chunk_tokens=1.5"),
        ("x-emulator-timing", "ttft_ms=1,realistic"),
        ("x-emulator-reasoning-events", "anthropic"),
    ],
)
def test_bad_stream_headers_are_400(client: httpx.Client, name: str, value: str) -> None:
    reply = client.post(URL, json=STREAM, headers={name: value})
    assert (reply.status_code, reply.json()["error"]["code"], reply.json()["error"]["param"]) == (
        400,
        "invalid_header",
        name,
    )


def test_determinism_of_streams() -> None:
    bodies = []
    for _ in range(2):
        with TestClient(create_app(make_config(timing="realistic")), headers=AUTH) as client:
            bodies.append(client.post(URL, json=STREAM).content)
    assert bodies[0] == bodies[1]


# --- timing -------------------------------------------------------------------------------------


def paced_plan(spec: str) -> Plan:
    app = create_app(make_config())
    planner = app.service.planner
    call = planner.call(HI, timing=parse_timing(spec))
    return planner.plan(call, app.service.backend.turn(call))


def test_timing_profile_shapes_the_plan() -> None:
    plan = paced_plan("ttft_ms=300,tokens_per_second=20,chunk_tokens=2,jitter=0")
    pieces, delays = plan.items[0].pieces[0], plan.items[0].delays[0]
    assert plan.first_delay == 0.3
    assert delays[0] == 0.0 and all(d == pytest.approx(0.1) for d in delays[1:])
    assert all(len(p) > 0 for p in pieces) and len(pieces) == len(delays)
    assert plan.total_delay() == pytest.approx(0.3 + 0.1 * (len(pieces) - 1))
    jittered = paced_plan("ttft_ms=300,tokens_per_second=20,chunk_tokens=2,jitter=0.5")
    gaps = jittered.items[0].delays[0][1:]
    assert all(0.05 <= g <= 0.15 for g in gaps) and len(set(gaps)) > 1
    assert paced_plan("ttft_ms=300,tokens_per_second=20,chunk_tokens=2,jitter=0.5") == jittered  # seeded


def test_with_the_frozen_clock_every_gap_is_the_plans_delay() -> None:
    plan = paced_plan("realistic,jitter=0.3")
    clock = FrozenClock(0.0)  # near zero, floats resolve far below a nanosecond
    writes: list[tuple[float, bytes]] = []

    async def write(chunk: bytes) -> None:
        writes.append((clock.monotonic(), chunk))

    asyncio.run(EventStream(clock, keepalive=60, done=True).run(numbered(plan.events()), write))
    events = list(plan.events())
    assert len(writes) == len(events) + 1  # one write per frame, then [DONE]
    assert all(chunk.count(b"\n\n") == 1 and chunk.endswith(b"\n\n") for _, chunk in writes)
    times = [t for t, _ in writes[:-1]]
    expected, due = [], 0.0
    for event in events:
        due += event.delay
        expected.append(due)
    assert times == pytest.approx(expected, abs=1e-12)
    assert times[-1] == pytest.approx(plan.total_delay(), abs=1e-12)
    first_delta = next(n for n, e in enumerate(events) if e.type.endswith(".delta"))
    assert times[first_delta - 1] == 0.0 and times[first_delta] == pytest.approx(plan.first_delay)


def test_keepalives_fill_long_gaps() -> None:
    plan = paced_plan("ttft_ms=3500,tokens_per_second=0")
    clock = FrozenClock(T0)
    chunks: list[bytes] = []

    async def write(chunk: bytes) -> None:
        chunks.append(chunk)

    asyncio.run(EventStream(clock, keepalive=1.0, done=True).run(numbered(plan.events()), write))
    stream = read_sse(b"".join(chunks))
    assert stream.comments == 3 and stream.problems == []
    assert stream_problems(stream.events) == []


def test_json_mode_answers_after_the_plans_duration() -> None:
    app = create_app(make_config(timing="ttft_ms=400,tokens_per_second=10,jitter=0"))
    with TestClient(app, headers=AUTH) as client:
        before = app.clock.now()
        body = client.post(URL, json=HI).json()
    tokens = body["usage"]["output_tokens"]
    assert app.clock.now() - before == pytest.approx(0.4 + (tokens - 1) * 0.1)


@pytest.fixture(scope="module")
def paced() -> Iterator[ServedEmulator]:
    """A real server on the real clock, 40 ms per token, keep-alives after 0.1 s of silence."""
    config = make_config(frozen_time=None, timing="ttft_ms=300,tokens_per_second=25,jitter=0", keepalive=0.1)
    with ServedEmulator.running(config) as server:
        yield server


def timed_events(
    url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[tuple[float, bytes]]:
    arrivals = []
    start = time.monotonic()
    with httpx.stream(
        "POST", f"{url}{URL}", json=body, headers={**AUTH, **(headers or {})}, timeout=30
    ) as reply:
        for line in reply.iter_lines():
            if line.startswith("event: "):
                arrivals.append((time.monotonic() - start, line[7:].encode()))
    return arrivals


def test_real_pacing_matches_the_profile(paced: ServedEmulator) -> None:
    arrivals = timed_events(paced.base_url, STREAM)
    created_at = arrivals[0][1:] and arrivals[0][0]
    deltas = [t for t, kind in arrivals if kind.endswith(b".delta")]
    assert created_at < 0.25  # headers and response.created go out at once
    assert 0.25 < deltas[0] < 1.0  # the time to first token is at the first delta
    gaps = [b - a for a, b in itertools.pairwise(deltas)]
    assert 0.025 < statistics.median(gaps) < 0.1  # 40 ms per token, with wide margins


def test_keepalives_on_the_wire_are_ignored_by_clients(paced: ServedEmulator) -> None:
    with httpx.stream("POST", f"{paced.base_url}{URL}", json=STREAM, headers=AUTH, timeout=30) as reply:
        raw = b"".join(reply.iter_raw())
    stream = assert_contract_stream(raw)
    assert stream.comments >= 2  # 300 ms to the first token, keep-alives every 100 ms
    oai = openai.OpenAI(api_key=DEV_API_KEY, base_url=f"{paced.base_url}/v3/router", max_retries=0)
    assert (
        list(oai.responses.create(model="openai/gpt-4o", input="hi", stream=True))[-1].type
        == "response.completed"
    )


def test_in_progress_while_streaming(paced: ServedEmulator) -> None:
    with httpx.Client(base_url=paced.base_url, headers=AUTH, timeout=30) as http:
        with http.stream("POST", URL, json=STREAM) as reply:
            lines = reply.iter_lines()
            first = next(line for line in lines if line.startswith("data: "))
            response_id = httpx.Response(200, content=first[6:]).json()["response"]["id"]
            during = http.get(f"{URL}/{response_id}")
            assert (during.status_code, during.json()["status"], during.json()["output"]) == (
                200,
                "in_progress",
                [],
            )
            replay = http.get(f"{URL}/{response_id}", params={"stream": "true"})
            assert (replay.status_code, replay.json()["error"]["code"]) == (409, "response_in_progress")
            follow = http.post(URL, json={**HI, "previous_response_id": response_id})
            assert follow.status_code == 400 and "still in progress" in follow.json()["error"]["message"]
            rest = [line for line in lines if line]
        assert rest[-1] == "data: [DONE]"
        assert http.get(f"{URL}/{response_id}").json()["status"] == "completed"


async def tasks_running() -> int:
    return len(asyncio.all_tasks())


def test_client_disconnect_stops_the_stream_and_is_recorded(paced: ServedEmulator) -> None:
    full_text = httpx.post(
        f"{paced.base_url}{URL}", json={**HI, "stream": False}, headers=AUTH, timeout=30
    ).json()
    full_text = full_text["output"][0]["content"][0]["text"]
    baseline = paced.server.call(tasks_running())
    received, response_id = "", None
    with httpx.stream("POST", f"{paced.base_url}{URL}", json=STREAM, headers=AUTH, timeout=30) as reply:
        for line in reply.iter_lines():
            if line.startswith("data: {"):
                event = httpx.Response(200, content=line[6:]).json()
                response_id = response_id or event["response"]["id"]
                received += event.get("delta", "")
                if received.count(" ") >= 2:
                    break
    deadline = time.monotonic() + 5
    while (stored := httpx.get(f"{paced.base_url}{URL}/{response_id}", headers=AUTH).json())[
        "status"
    ] == "in_progress":
        assert time.monotonic() < deadline, "the disconnect was never recorded"
        time.sleep(0.02)
    assert stored["status"] == "incomplete"
    assert stored["incomplete_details"] == {"reason": "client_disconnected"}
    assert stored["output"][0]["status"] == "incomplete"
    partial = stored["output"][0]["content"][0]["text"]
    assert partial.startswith(received) and full_text.startswith(partial) and len(partial) < len(full_text)
    assert 0 < stored["usage"]["output_tokens"] < len(full_text.split())
    usage = stored["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    schemas.validator(schemas.RESPONSE).validate(stored)
    replayed = assert_contract_stream(
        httpx.get(f"{paced.base_url}{URL}/{response_id}?stream=true", headers=AUTH).content
    )
    assert replayed.events[-1]["response"] == stored
    deadline = time.monotonic() + 5
    while paced.server.call(tasks_running()) > baseline:  # the writer and its watcher are gone
        assert time.monotonic() < deadline, "stream tasks outlived the disconnect"
        time.sleep(0.02)


def test_two_hundred_concurrent_streams() -> None:
    config = make_config(frozen_time=None, timing="tokens_per_second=400,jitter=0")
    with ServedEmulator.running(config) as server:

        async def one(http: httpx.AsyncClient, n: int) -> bytes:
            body = {**STREAM, "input": f"Question number {n}?"}
            async with http.stream("POST", URL, json=body) as reply:
                assert reply.status_code == 200
                return b"".join([chunk async for chunk in reply.aiter_raw()])

        async def all_of_them() -> list[bytes]:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(
                base_url=server.base_url, headers=AUTH, limits=limits, timeout=60
            ) as http:
                return await asyncio.gather(*(one(http, n) for n in range(200)))

        bodies = asyncio.run(all_of_them())
    ids = set()
    for n, body in enumerate(bodies):
        stream = assert_contract_stream(body) if n % 20 == 0 else read_sse(body)
        assert stream.problems == [] and stream.done and stream_problems(stream.events) == []
        assert stream.events[-1]["type"] == "response.completed"
        ids.add(stream.events[0]["response"]["id"])
    assert len(ids) == 200


# --- the stream checks themselves ---------------------------------------------------------------


def test_the_stream_checks_catch_broken_streams(client: httpx.Client) -> None:
    good = stream_of(client, STREAM)
    assert stream_problems(good) == []
    delta = next(n for n, e in enumerate(good) if e["type"] == "response.output_text.delta")
    broken = {
        "gap in sequence numbers": good[:3] + good[4:],
        "delta before its item": [good[0], good[delta], *good[1:delta], *good[delta + 1 :]],
        "two terminals": [*good, good[-1]],
        "no terminal": good[:-1],
        "wrong item id": [*good[:delta], {**good[delta], "item_id": "msg_other"}, *good[delta + 1 :]],
        "deltas that do not add up": [*good[:delta], {**good[delta], "delta": "Nope"}, *good[delta + 1 :]],
        "index from 1": [{**e, "output_index": 1} if "output_index" in e else e for e in good],
    }
    for name, events in broken.items():
        renumbered = (
            [{**e, "sequence_number": n} for n, e in enumerate(events)] if "sequence" not in name else events
        )
        assert stream_problems(renumbered), name
    assert read_sse(b"event: x\r\ndata: {}\r\n\r\n").problems
    assert read_sse(b'data: [DONE]\n\nevent: a\ndata: {"type": "a"}\n\n').problems


def test_a_bug_mid_stream_is_logged_recorded_and_survived(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import emulator.render.sse as sse

    real_frame, calls = sse.frame, []

    def breaking_frame(sequence_number: int, event: Any) -> bytes:
        calls.append(sequence_number)
        if sequence_number == 5:
            raise RuntimeError("boom")
        return real_frame(sequence_number, event)

    monkeypatch.setattr(sse, "frame", breaking_frame)
    with TestClient(create_app(make_config()), headers=AUTH) as client:
        reply = client.post(URL, json=STREAM)
        stream = read_sse(reply.content)
        assert [e["sequence_number"] for e in stream.events] == [0, 1, 2, 3, 4] and not stream.done
        response_id = stream.events[0]["response"]["id"]
        stored = client.get(f"{URL}/{response_id}").json()
        assert stored["status"] == "failed" and stored["error"]["code"] == "server_error"
        assert "RuntimeError" in stored["error"]["message"]
        schemas.validator(schemas.RESPONSE).validate(stored)
        assert any(record.exc_info for record in caplog.records)
        monkeypatch.setattr(sse, "frame", real_frame)
        assert_contract_stream(client.post(URL, json=STREAM).content)
