"""The load balancer's weighted choice and orq's exact-match response cache (decision 10)."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from emulator.testing import InProcessEmulator
from tests.support import assert_contract_response, assert_contract_stream

URL = "/v3/router/responses"
BALANCED = {
    "model": "openai/gpt-4o",
    "input": "hi",
    "load_balancer": {
        "type": "weight_based",
        "models": [
            {"model": "a/m", "weight": 0.7},
            {"model": "b/m", "weight": 0.2},
            {"model": "c/m", "weight": 0.1},
        ],
    },
}


def models_chosen(client: httpx.Client, n: int) -> list[str]:
    return [client.post(URL, json=BALANCED).json()["model"] for _ in range(n)]


def test_the_balancer_follows_the_weights(client: httpx.Client) -> None:
    counts = Counter(models_chosen(client, 600))
    expected = {"a/m": 420, "b/m": 120, "c/m": 60}
    # Pearson's chi-square with 2 degrees of freedom: 13.8 is its 0.1 % critical value.
    chi_square = sum((counts[m] - e) ** 2 / e for m, e in expected.items())
    assert chi_square < 13.8, counts
    assert set(counts) == set(expected)


def test_the_balancer_repeats_with_the_seed_and_varies_with_it(responses_emulator: InProcessEmulator) -> None:
    from emulator.app import create_app
    from emulator.testing import InProcessEmulator as Handle
    from tests.support import make_config

    def run(seed: int) -> list[str]:
        handle = Handle(create_app(make_config(seed=seed)))
        try:
            return models_chosen(handle.httpx_client(), 20)
        finally:
            handle.close()

    assert run(0) == run(0)
    assert run(0) != run(1)


def test_the_balanced_model_is_marked_and_falls_back(responses_emulator: InProcessEmulator) -> None:
    body = {**BALANCED, "load_balancer": {"type": "weight_based", "models": [{"model": "a/m", "weight": 1}]},
            "fallbacks": [{"model": "z/m"}]}  # fmt: skip
    answered = responses_emulator.httpx_client().post(URL, json=body, headers={"x-emulator-fail": "a/m=503"})
    assert answered.headers["x-emulator-attempt-log"] == "a/m 503 balanced, z/m ok"
    assert answered.json()["model"] == "z/m"
    first, second = responses_emulator.last_request.attempts
    assert first["balanced"] and not second["balanced"]


CACHED = {"model": "openai/gpt-4o", "input": "What is cached?", "cache": {"type": "exact_match", "ttl": 60}}


def test_a_hit_returns_the_output_under_a_fresh_id(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    first = client.post(URL, json=CACHED)
    second = client.post(URL, json=CACHED)
    assert first.headers["x-emulator-cache"] == "miss"
    assert second.headers["x-emulator-cache"] == "hit"
    assert_contract_response(second.json())
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["output"] == first.json()["output"]
    assert [e.cache for e in responses_emulator.requests] == ["miss", "hit"]


def test_any_parameter_is_part_of_the_key_but_stream_store_and_metadata_are_not(client: httpx.Client) -> None:
    client.post(URL, json=CACHED)
    for changed in ({"input": "What is cached!"}, {"temperature": 0.3}, {"model": "openai/gpt-4o-mini"},
                    {"instructions": "Be brief."}):  # fmt: skip
        assert client.post(URL, json={**CACHED, **changed}).headers["x-emulator-cache"] == "miss", changed
    for same in ({"store": False}, {"metadata": {"k": "v"}}, {"cache": {"type": "exact_match", "ttl": 5}}):
        assert client.post(URL, json={**CACHED, **same}).headers["x-emulator-cache"] == "hit", same


def test_a_stream_replays_a_cached_answer(client: httpx.Client) -> None:
    first = client.post(URL, json=CACHED).json()
    streamed = client.post(URL, json={**CACHED, "stream": True})
    assert streamed.headers["x-emulator-cache"] == "hit"
    events = assert_contract_stream(streamed.content)
    assert events.events[-1]["response"]["output"] == first["output"]


def test_store_false_still_fills_the_cache(client: httpx.Client) -> None:
    unstored = client.post(URL, json={**CACHED, "store": False})
    assert unstored.headers["x-emulator-cache"] == "miss"
    assert client.get(f"{URL}/{unstored.json()['id']}").status_code == 404
    assert client.post(URL, json=CACHED).headers["x-emulator-cache"] == "hit"


@pytest.mark.parametrize(
    ("cache", "ttl"),
    [({"type": "exact_match", "ttl": 60}, 60), ({"type": "exact_match"}, 1800)],
    ids=["ttl", "default"],
)
def test_entries_expire_on_the_clock(
    responses_emulator: InProcessEmulator, cache: dict[str, object], ttl: int
) -> None:
    client = responses_emulator.httpx_client()
    body = {**CACHED, "cache": cache}
    client.post(URL, json=body)
    responses_emulator.advance(ttl - 0.1)
    assert client.post(URL, json=body).headers["x-emulator-cache"] == "hit"
    responses_emulator.advance(0.2)
    assert client.post(URL, json=body).headers["x-emulator-cache"] == "miss"


def test_a_hit_skips_the_gateway_and_failures_are_not_cached(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client()
    body = {**CACHED, "model": "a/m"}
    failed = client.post(URL, json=body, headers={"x-emulator-fail": "a/m=503"})
    assert failed.status_code == 503
    assert client.post(URL, json=body).headers["x-emulator-cache"] == "miss"
    hit = client.post(URL, json=body, headers={"x-emulator-fail": "a/m=503"})  # no model is called
    assert hit.status_code == 200
    assert hit.headers["x-emulator-cache"] == "hit"
    assert responses_emulator.last_request.attempts == ()


def test_the_cache_is_bounded() -> None:
    from emulator.app import create_app
    from emulator.testing import InProcessEmulator as Handle
    from tests.support import make_config

    handle = Handle(create_app(make_config(cache_size=2)))
    try:
        client = handle.httpx_client()
        for question in ("one", "two", "three"):
            client.post(URL, json={**CACHED, "input": question})
        assert len(handle.app.service.worlds.default.cache) == 2
        assert client.post(URL, json={**CACHED, "input": "one"}).headers["x-emulator-cache"] == "miss"
        assert client.post(URL, json={**CACHED, "input": "three"}).headers["x-emulator-cache"] == "hit"
    finally:
        handle.close()


@pytest.mark.parametrize("ttl", [0, 259201])
def test_a_ttl_out_of_range_is_a_400(client: httpx.Client, ttl: int) -> None:
    refused = client.post(URL, json={**CACHED, "cache": {"type": "exact_match", "ttl": ttl}})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "/cache/ttl"
