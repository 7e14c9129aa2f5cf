"""The service's rules that no client-level test pins: which problem answers first, what a summary
costs, how a cut text reads, what GET shows while a JSON answer waits, and the plain path's headers."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx

from emulator.app import create_app
from emulator.clock import FrozenClock
from emulator.engine.items import ItemPlan
from emulator.testing import InProcessEmulator
from tests.support import AUTH, T0, make_config, script_output

URL = "/v3/router/responses"
HI = {"model": "openai/gpt-4o", "input": "hi"}


# --- which problem answers first -------------------------------------------------------------------


def test_the_body_is_checked_before_the_emulator_headers(client: httpx.Client) -> None:
    bad_header = {"x-emulator-timing": "warp=9"}
    both = client.post(URL, json={**HI, "temperature": 9}, headers=bad_header)
    assert (both.status_code, both.json()["error"]["param"]) == (400, "/temperature")
    header_only = client.post(URL, json=HI, headers=bad_header)
    assert (header_only.json()["error"]["code"], header_only.json()["error"]["param"]) == (
        "invalid_header",
        "x-emulator-timing",
    )


def test_a_replay_checks_the_id_then_starting_after_then_the_headers(client: httpx.Client) -> None:
    bad = {"x-emulator-reasoning-events": "klingon"}
    unknown = client.get(f"{URL}/resp_unknown?stream=true&starting_after=x", headers=bad)
    assert unknown.status_code == 404
    created = client.post(URL, json=HI).json()["id"]
    both = client.get(f"{URL}/{created}?stream=true&starting_after=x", headers=bad)
    assert both.json()["error"]["param"] == "starting_after"
    header_only = client.get(f"{URL}/{created}?stream=true", headers=bad)
    assert header_only.json()["error"]["param"] == "x-emulator-reasoning-events"
    timing = client.get(f"{URL}/{created}?stream=true", headers={"x-emulator-timing": "warp=9"})
    assert timing.json()["error"]["param"] == "x-emulator-timing"


# --- what a reasoning summary costs (it restates the reasoning: nothing) -----------------------------


def reasoning(ids: Any, *, content: bool = True) -> dict[str, Any]:
    item = {"type": "reasoning", "id": ids.prefixed("rs"), "status": "completed",
            "summary": [{"type": "summary_text", "text": "Sum."}]}  # fmt: skip
    if content:
        item["content"] = [{"type": "reasoning_text", "text": "Think."}]
    return item


def message(ids: Any, text: str) -> dict[str, Any]:
    return {"type": "message", "id": ids.prefixed("msg"), "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}  # fmt: skip


def test_a_reasoning_summary_costs_no_output_tokens(responses_emulator: InProcessEmulator) -> None:
    http = responses_emulator.httpx_client()
    # "Think." is 2 tokens, "Sum." 2, "Hi." 2
    script_output(responses_emulator.app, lambda ids: [reasoning(ids), message(ids, "Hi.")])
    usage = http.post(URL, json=HI).json()["usage"]
    assert (usage["output_tokens"], usage["output_tokens_details"]["reasoning_tokens"]) == (4, 2)
    script_output(responses_emulator.app, lambda ids: [reasoning(ids, content=False), message(ids, "Hi.")])
    usage = http.post(URL, json=HI).json()["usage"]
    assert (usage["output_tokens"], usage["output_tokens_details"]["reasoning_tokens"]) == (2, 0)


def test_a_reasoning_summary_spends_none_of_max_output_tokens(responses_emulator: InProcessEmulator) -> None:
    http = responses_emulator.httpx_client()
    script_output(responses_emulator.app, lambda ids: [reasoning(ids), message(ids, "Hi there.")])
    cut = http.post(URL, json={**HI, "max_output_tokens": 3}).json()  # "Think." takes 2, "Hi" the last
    assert cut["status"] == "incomplete"
    assert cut["output"][0]["summary"][0]["text"] == "Sum."
    assert cut["output"][1]["content"][0]["text"] == "Hi"
    assert cut["usage"]["output_tokens"] == 3


# --- a text cut short ---------------------------------------------------------------------------------


def test_a_text_cut_short_loses_its_annotations_and_a_whole_one_keeps_them() -> None:
    cited = {"type": "url_citation", "start_index": 6, "end_index": 11, "url": "https://e.x", "title": "t"}
    item = {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant", "content": [
        {"type": "output_text", "text": "Hello world", "annotations": [cited], "logprobs": []},
        {"type": "output_text", "text": "Bye", "annotations": [cited], "logprobs": []},
        {"type": "refusal", "refusal": "No"},
    ]}  # fmt: skip
    plan = ItemPlan(item, [["Hello", " world"], ["Bye"], ["No"]])
    cut = plan.partial([1, 1, None]).item  # first text half sent, second whole, refusal never begun
    assert cut["status"] == "incomplete"
    assert [p.get("text") for p in cut["content"]] == ["Hello", "Bye"]
    assert [p["annotations"] for p in cut["content"]] == [[], [cited]]


# --- GET while a JSON answer waits out its Plan ----------------------------------------------------------


class GatedClock(FrozenClock):
    """A frozen clock whose waits last until the test opens the gate."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.waiting = asyncio.Event()
        self.gate = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.waiting.set()
        await self.gate.wait()
        await super().sleep(seconds)


def test_get_shows_the_in_progress_snapshot_while_a_json_answer_waits() -> None:
    # Ids are drawn from the seed and the clock: an unpaced twin gives the id the paced one will have.
    twin = create_app(make_config())
    expected_id = asyncio.run(_post(twin, HI)).json()["id"]

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        clock = GatedClock(T0)
        app = create_app(make_config(timing="realistic"), clock=clock)
        async with _client(app) as http:
            post = asyncio.create_task(http.post(URL, json=HI))
            await clock.waiting.wait()
            during = await http.get(f"{URL}/{expected_id}")
            clock.gate.set()
            answered = await post
            after = await http.get(f"{URL}/{expected_id}")
        return during, answered, after

    during, answered, after = asyncio.run(scenario())
    assert answered.json()["id"] == expected_id
    assert (during.json()["status"], during.json()["output"], during.json()["usage"]) == (
        "in_progress",
        [],
        None,
    )
    assert after.json() == answered.json() and answered.json()["status"] == "completed"


async def _post(app: Any, body: dict[str, Any]) -> httpx.Response:
    async with _client(app) as http:
        return await http.post(URL, json=body)


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator.test", headers=AUTH
    )


# --- the plain path -------------------------------------------------------------------------------------


def test_without_scenarios_no_gateway_runs_and_no_emulator_header_is_added(
    responses_emulator: InProcessEmulator,
) -> None:
    http = responses_emulator.httpx_client()
    plain = http.post(URL, json=HI)
    assert [h for h in plain.headers if h.startswith("x-emulator-")] == []
    responses_emulator.on(message="scripted").reply("Yes.")  # the scenario layer is now in use
    scripted = http.post(URL, json={**HI, "input": "scripted"})
    assert (scripted.headers["x-emulator-attempts"], scripted.headers["x-emulator-scenario"]) == (
        "1",
        "on-message-scripted",
    )


# --- reasoning grows with effort (README: one more round of thought per level) -----------------


def test_reasoning_tokens_grow_with_effort(client: httpx.Client) -> None:
    def reasoning(effort: str) -> tuple[int, str]:
        body = client.post(URL, json={**HI, "reasoning": {"effort": effort}}).json()
        thought = body["output"][0]["content"][0]["text"]
        return body["usage"]["output_tokens_details"]["reasoning_tokens"], thought

    levels = [reasoning(e) for e in ("low", "medium", "high", "xhigh")]
    counts = [count for count, _ in levels]
    assert counts == sorted(counts) and len(set(counts)) == 4, counts
    for (_, shorter), (_, longer) in itertools.pairwise(levels):
        assert longer.startswith(shorter)  # the same thoughts, thought further
    assert reasoning("minimal") == levels[0]
