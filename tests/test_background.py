"""Background mode: queued, in progress, finished, on the emulator's clock; polling and cancel
through the orq and OpenAI SDKs; a running response's stream resumed; a gateway failure."""

from __future__ import annotations

import httpx
import openai
import pytest

from emulator.testing import InProcessEmulator
from tests.support import assert_contract_response, assert_contract_stream

URL = "/v3/router/responses"
# Queued 1 s, then 0.5 s to the first token, then 10 tokens a second.
PACED = {"x-emulator-timing": "queue_ms=1000,ttft_ms=500,tokens_per_second=10"}
BODY = {"model": "openai/gpt-4o", "input": "Tell me a story", "background": True}


def test_the_lifecycle_on_the_clock(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    created = client.post(URL, json=BODY, headers=PACED)
    assert created.status_code == 200
    body = created.json()
    assert_contract_response(body)
    assert (body["status"], body["output"], body["usage"], body["completed_at"]) == ("queued", [], None, None)
    response_id = body["id"]

    def status() -> str:
        fetched = client.get(f"{URL}/{response_id}").json()
        assert_contract_response(fetched)
        return str(fetched["status"])

    assert status() == "queued"
    responses_emulator.advance(0.99)
    assert status() == "queued"
    responses_emulator.advance(0.02)
    assert status() == "in_progress"
    responses_emulator.advance(0.6)  # the first tokens are out: still in progress
    assert status() == "in_progress"
    responses_emulator.advance(120)
    final = client.get(f"{URL}/{response_id}").json()
    assert final["status"] == "completed"
    assert final["output"][0]["content"][0]["text"]
    assert final["usage"]["output_tokens"] > 0


def test_polling_with_the_orq_sdk(responses_emulator: InProcessEmulator) -> None:
    orq = responses_emulator.orq_client()
    created = orq.responses.create(
        model="openai/gpt-4o", input="Tell me a story", background=True, http_headers=PACED
    )
    assert created.status == "queued"
    seen = []
    for _ in range(40):  # poll every half second of the emulator's clock
        seen.append(orq.responses.get(response_id=created.id).status)
        responses_emulator.advance(0.5)
    assert seen[:2] == ["queued", "queued"]
    assert seen[2] == "in_progress"
    assert seen[-1] == "completed"
    assert seen == sorted(seen, key=["queued", "in_progress", "completed"].index)


def test_with_instant_timing_it_finishes_at_once(client: httpx.Client) -> None:
    created = client.post(URL, json=BODY).json()
    assert created["status"] == "queued"  # the answer to the create, always
    assert client.get(f"{URL}/{created['id']}").json()["status"] == "completed"


def test_polling_and_cancel_with_the_openai_sdk(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    created = oai.responses.create(
        model="openai/gpt-4o", input="Tell me a story", background=True, extra_headers=PACED
    )
    assert oai.responses.retrieve(created.id).status == "queued"
    responses_emulator.advance(1.6)  # queued 1 s, first token at 1.5 s, a token 0.1 s later
    cancelled = oai.responses.cancel(created.id)
    assert cancelled.status == "cancelled"
    assert cancelled.output, "the output produced before the cancel is kept"
    assert 0 < cancelled.usage.output_tokens < 5
    fetched = oai.responses.retrieve(created.id)
    assert fetched.status == "cancelled"
    responses_emulator.advance(120)  # a cancelled response stays cancelled
    assert oai.responses.retrieve(created.id).status == "cancelled"
    assert oai.responses.cancel(created.id).status == "cancelled"  # again: as it is


def test_what_cannot_be_cancelled(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    finished = client.post(URL, json=BODY).json()["id"]
    responses_emulator.advance(1)
    refused = client.post(f"{URL}/{finished}/cancel")
    assert refused.status_code == 400
    assert "already finished (completed)" in refused.json()["error"]["message"]
    foreground = client.post(URL, json={**BODY, "background": False}).json()["id"]
    refused = client.post(f"{URL}/{foreground}/cancel")
    assert refused.status_code == 400
    assert "background=true" in refused.json()["error"]["message"]
    assert client.post(f"{URL}/resp_unknown/cancel").status_code == 404
    wrong = client.get(f"{URL}/{foreground}/cancel")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert client.post(f"/v1/responses/{foreground}/cancel").status_code == 400  # the /v1 route too


def test_a_background_stream_starts_queued(client: httpx.Client) -> None:
    streamed = client.post(URL, json={**BODY, "stream": True}, headers=PACED)
    events = assert_contract_stream(streamed.content).events
    assert [e["type"] for e in events[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert events[0]["response"]["status"] == "queued"
    assert events[1]["response"]["status"] == "queued"
    assert events[-1]["type"] == "response.completed"
    stored = client.get(f"{URL}/{events[0]['response']['id']}").json()
    assert stored == events[-1]["response"]


def test_a_running_response_stream_resumes(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    response_id = client.post(URL, json=BODY, headers=PACED).json()["id"]
    responses_emulator.advance(1.7)  # in progress, some tokens out
    assert client.get(f"{URL}/{response_id}").json()["status"] == "in_progress"
    resumed = client.get(f"{URL}/{response_id}", params={"stream": "true", "starting_after": 3})
    assert resumed.status_code == 200
    events = assert_contract_stream(resumed.content, replay_from=4).events
    assert events[0]["sequence_number"] == 4
    assert events[-1]["type"] == "response.completed"
    assert client.get(f"{URL}/{response_id}").json() == events[-1]["response"]


def test_a_resumed_stream_with_the_openai_sdk(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    created = oai.responses.create(
        model="openai/gpt-4o", input="Tell me a story", background=True, extra_headers=PACED
    )
    responses_emulator.advance(1.2)
    with oai.responses.stream(response_id=created.id) as stream:
        final = stream.get_final_response()
    assert final.status == "completed"
    assert final.id == created.id


def test_a_continuation_waits_for_the_background_response(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    first = client.post(URL, json=BODY, headers=PACED).json()["id"]
    refused = client.post(
        URL, json={"model": "openai/gpt-4o", "input": "more", "previous_response_id": first}
    )
    assert refused.status_code == 400
    assert "still in progress" in refused.json()["error"]["message"]
    responses_emulator.advance(120)
    followed = client.post(
        URL, json={"model": "openai/gpt-4o", "input": "more", "previous_response_id": first}
    )
    assert followed.status_code == 200


def test_a_background_gateway_failure_fails_the_response(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    body = {**BODY, "model": "a/m", "retry": {"count": 2, "on_codes": [503]}}
    created = client.post(URL, json=body, headers={"x-emulator-fail": "a/m=503"})
    assert created.status_code == 200
    assert created.json()["status"] == "queued"
    response_id = created.json()["id"]
    attempts = responses_emulator.last_request.attempts
    waited = sum(a["wait"] for a in attempts)
    assert len(attempts) == 3 and waited > 2  # the backoffs, waited queued
    responses_emulator.advance(waited - 0.01)
    assert client.get(f"{URL}/{response_id}").json()["status"] == "queued"
    responses_emulator.advance(0.02)
    failed = client.get(f"{URL}/{response_id}").json()
    assert_contract_response(failed)
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "server_error"


def test_background_needs_store(client: httpx.Client) -> None:
    refused = client.post(URL, json={**BODY, "store": False})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "/background"


def test_the_orq_sdk_cannot_read_a_cancelled_response(responses_emulator: InProcessEmulator) -> None:
    """clients.md 5.1: orq's status enum has no `cancelled`, decision 2 sends it anyway."""
    from orq_ai_sdk.models import ResponseValidationError

    client = responses_emulator.httpx_client()
    response_id = client.post(URL, json=BODY, headers=PACED).json()["id"]
    client.post(f"{URL}/{response_id}/cancel")
    with pytest.raises(ResponseValidationError):
        responses_emulator.orq_client().responses.get(response_id=response_id)


def test_openai_async_polling(responses_emulator: InProcessEmulator) -> None:
    import asyncio

    async def poll() -> str:
        oai: openai.AsyncOpenAI = responses_emulator.async_openai_client()
        created = await oai.responses.create(
            model="openai/gpt-4o", input="hi", background=True, extra_headers=PACED
        )
        responses_emulator.advance(60)
        return (await oai.responses.retrieve(created.id)).status

    assert asyncio.run(poll()) == "completed"
