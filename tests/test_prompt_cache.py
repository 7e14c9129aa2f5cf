"""Prompt caching: a repeated prefix with the same prompt_cache_key shows up in usage's cache
counters; cache_control markers move where the prefix ends (emulator.engine.prompt_cache)."""

from __future__ import annotations

import httpx

from emulator.testing import InProcessEmulator
from tests.support import assert_contract_response

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"
INSTRUCTIONS = "You are a careful assistant. " * 20


def details(answer: httpx.Response) -> tuple[int, int, int]:
    body = answer.json()
    assert_contract_response(body)
    d = body["usage"]["input_tokens_details"]
    return d["cached_tokens"], d["cache_creation_tokens"], d["cache_write_tokens"]


def ask(client: httpx.Client, question: str, **extra: object) -> httpx.Response:
    body = {
        "model": MODEL,
        "instructions": INSTRUCTIONS,
        "input": [{"role": "user", "content": question}],
        **extra,
    }
    return client.post(URL, json=body)


def test_the_first_request_writes_the_prefix_and_the_next_reads_it(client: httpx.Client) -> None:
    first = ask(client, "What is one plus one?", prompt_cache_key="k")
    cached, created, written = details(first)
    assert cached == 0 and created == written > 100  # the instructions' tokens: the prefix
    second = ask(client, "And two plus two?", prompt_cache_key="k")
    assert details(second) == (created, 0, 0)
    assert second.json()["usage"]["input_tokens"] > created  # the question itself is not cached


def test_no_key_no_caching_and_keys_do_not_share(client: httpx.Client) -> None:
    ask(client, "hi")
    assert details(ask(client, "hi")) == (0, 0, 0)
    ask(client, "hi", prompt_cache_key="a")
    assert details(ask(client, "hi", prompt_cache_key="b"))[0] == 0
    assert details(ask(client, "hi", prompt_cache_key="a"))[0] > 0


def test_a_changed_prefix_is_written_again(client: httpx.Client) -> None:
    ask(client, "one", prompt_cache_key="k")
    changed = client.post(URL, json={"model": MODEL, "instructions": INSTRUCTIONS + "Be terse.",
                                     "input": "one", "prompt_cache_key": "k"})  # fmt: skip
    assert details(changed)[0] == 0 and details(changed)[1] > 0


def test_markers_end_the_prefix_after_the_marked_item(client: httpx.Client) -> None:
    document = {"role": "user", "content": [{"type": "input_text", "text": "A long document. " * 40,
                                             "cache_control": {"type": "ephemeral"}}]}  # fmt: skip
    body = {
        "model": MODEL,
        "input": [document, {"role": "user", "content": "Summarise it"}],
        "prompt_cache_key": "d",
    }
    first = client.post(URL, json=body)
    written = details(first)[1]
    assert written > 100  # the marked document is in the prefix
    again = client.post(
        URL, json={**body, "input": [document, {"role": "user", "content": "List its points"}]}
    )
    assert details(again)[0] == written


def test_retention_and_expiry_on_the_clock(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    ask(client, "q", prompt_cache_key="k")
    responses_emulator.advance(301)
    assert details(ask(client, "q", prompt_cache_key="k"))[0] == 0  # 5 minutes in memory: gone
    ask(client, "q", prompt_cache_key="long", prompt_cache_retention="24h")
    responses_emulator.advance(3600)
    assert details(ask(client, "q", prompt_cache_key="long", prompt_cache_retention="24h"))[0] > 0


def test_the_openai_sdk_reads_the_counters(responses_emulator: InProcessEmulator) -> None:
    oai = responses_emulator.openai_client()
    oai.responses.create(model=MODEL, instructions=INSTRUCTIONS, input="one", prompt_cache_key="sdk")
    again = oai.responses.create(model=MODEL, instructions=INSTRUCTIONS, input="two", prompt_cache_key="sdk")
    assert again.usage is not None and again.usage.input_tokens_details.cached_tokens > 100
