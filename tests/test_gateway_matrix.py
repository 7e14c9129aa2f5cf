"""The gateway, every combination: {no retry, retry on 429, retry on 5xx, timeout} x {no
fallback, 1, 3 fallbacks} x {JSON, stream} x {success at attempt k, total failure}.

Faults come from the X-Emulator-Fail header. The expected attempt sequence of each case is worked
out below from the contract's rules (decision 9), written out by hand for each mode; the waits
run on the frozen clock, so the 1 + 2 s backoffs and 0.5 s timeouts take no time.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from emulator.testing import InProcessEmulator
from tests.support import assert_contract_error, assert_contract_response, assert_contract_stream

URL = "/v3/router/responses"
FALLBACKS = {0: [], 1: ["b/m"], 3: ["b/m", "c/m", "d/m"]}

# mode: (request fields, the fault a failing model gets, its HTTP status, attempts per model)
MODES: dict[str, tuple[dict[str, Any], str, int, int]] = {
    "no-retry": ({}, "503", 503, 1),
    "retry-429": ({"retry": {"count": 2}}, "429", 429, 3),  # on_codes defaults to [429]
    "retry-5xx": ({"retry": {"count": 2, "on_codes": [500, 502, 503]}}, "503", 503, 3),
    "timeout": (
        {"timeout": {"call_timeout": 500}, "retry": {"count": 1, "on_codes": [504]}}, "latency:2s", 504, 2
    ),
}  # fmt: skip
CASES = list(itertools.product(MODES, FALLBACKS, ["json", "stream"], ["success", "total-failure"]))


def expected_log(mode: str, fallbacks: int, outcome: str) -> list[str]:
    """The attempt log: every model but the last fails every attempt; the last one fails its
    attempts but one and then answers (success), or fails them all (total failure). A timed-out
    model fails all its attempts, so on success the last model has no fault and answers first."""
    _, _, status, per_model = MODES[mode]
    failed = f"{status} timeout" if mode == "timeout" else str(status)
    models = ["a/m", *FALLBACKS[fallbacks]]
    log = [f"{m} {failed}" for m in models[:-1] for _ in range(per_model)]
    last = models[-1]
    if outcome == "total-failure":
        return log + [f"{last} {failed}"] * per_model
    before = 0 if mode == "timeout" else per_model - 1
    return log + [f"{last} {failed}"] * before + [f"{last} ok"]


def fault_header(mode: str, fallbacks: int, outcome: str) -> str:
    _, fault, _, per_model = MODES[mode]
    models = ["a/m", *FALLBACKS[fallbacks]]
    rules = [f"{m}={fault}" for m in models[:-1]]
    if outcome == "total-failure":
        rules.append(f"{models[-1]}={fault}")
    elif mode != "timeout" and per_model > 1:
        rules.append(f"{models[-1]}={fault}*{per_model - 1}")
    return ",".join(rules)


@pytest.mark.parametrize(
    ("mode", "fallbacks", "transport", "outcome"), CASES, ids=["-".join(map(str, c)) for c in CASES]
)
def test_gateway_case(
    responses_emulator: InProcessEmulator, mode: str, fallbacks: int, transport: str, outcome: str
) -> None:
    fields, _, status, _ = MODES[mode]
    body = {
        "model": "a/m", "input": "hi", "stream": transport == "stream",
        "fallbacks": [{"model": m} for m in FALLBACKS[fallbacks]], **fields,
    }  # fmt: skip
    header = fault_header(mode, fallbacks, outcome)
    client = responses_emulator.httpx_client()
    clock = responses_emulator.app.clock
    before = clock.now()
    answered = client.post(URL, json=body, headers={"x-emulator-fail": header} if header else {})

    log = expected_log(mode, fallbacks, outcome)
    if not header and not fields:  # nothing asks for the gateway: it does not run
        assert log == ["a/m ok"]
        assert "x-emulator-attempt-log" not in answered.headers
        assert answered.status_code == 200
        return
    assert answered.headers["x-emulator-attempt-log"] == ", ".join(log)
    assert answered.headers["x-emulator-attempts"] == str(len(log))
    attempts = responses_emulator.last_request.attempts
    assert [a["model"] for a in attempts] == [entry.split()[0] for entry in log]
    # The waits: backoff 1 s then 2 s (±25 %) before each retry of a model, 0 before its first
    # call; a timed-out call takes the call timeout, 0.5 s.
    retry_number = 0
    for n, attempt in enumerate(attempts):
        retry_number = retry_number + 1 if n and attempts[n - 1]["model"] == attempt["model"] else 0
        backoff = (0.0, 1.0, 2.0)[retry_number]
        assert 0.75 * backoff <= attempt["wait"] <= 1.25 * backoff, attempt
        assert attempt["took"] == (0.5 if attempt["timed_out"] else 0.0)
        assert attempt["timed_out"] == (mode == "timeout" and attempt["status"] is not None)
    waited = sum(a["wait"] + a["took"] for a in attempts)
    assert clock.now() - before == pytest.approx(waited)
    assert float(answered.headers["x-emulator-gateway-delay"]) == pytest.approx(waited, abs=1e-3)

    if outcome == "total-failure":
        assert answered.status_code == status
        error = answered.json()["error"]
        assert_contract_error(answered.json())
        expected_code = {503: "provider_overloaded", 429: "rate_limit_exceeded", 504: "provider_timeout"}[
            status
        ]
        assert error["code"] == expected_code
        assert answered.headers["x-should-retry"] == "true"
        if status == 429:
            assert answered.headers["retry-after"] == "1"
            assert answered.headers["retry-after-ms"] == "1000"
            assert answered.headers["x-ratelimit-remaining-requests"] == "0"
            assert answered.headers["x-ratelimit-reset-requests"] == "1s"
        return
    assert answered.status_code == 200, answered.text
    answering = log[-1].split()[0]
    if transport == "json":
        assert_contract_response(answered.json())
        assert answered.json()["model"] == answering
    else:
        events = assert_contract_stream(answered.content)
        assert events.events[-1]["type"] == "response.completed"
        assert events.events[-1]["response"]["model"] == answering


def test_the_fault_header_is_checked(client: httpx.Client) -> None:
    for bad in ("503", "a/m=", "a/m=99", "a/m=503*0", "a/m=latency:fast", "a/m=stream:explode@2",
                "a/m=stream:stall@2", "a/m=stream:truncate@2:1s"):  # fmt: skip
        refused = client.post(URL, json={"model": "a/m", "input": "hi"}, headers={"x-emulator-fail": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["param"] == "x-emulator-fail"
        assert refused.json()["error"]["message"].startswith("x-emulator-fail: "), refused.json()


def test_a_fault_for_another_model_changes_nothing(client: httpx.Client) -> None:
    answered = client.post(
        URL, json={"model": "a/m", "input": "hi"}, headers={"x-emulator-fail": "anthropic/*=503"}
    )
    assert answered.status_code == 200
    assert answered.headers["x-emulator-attempt-log"] == "a/m ok"


def test_latency_delays_the_answer_and_a_longer_timeout_lets_it_through(
    responses_emulator: InProcessEmulator,
) -> None:
    client = responses_emulator.httpx_client()
    before = responses_emulator.app.clock.now()
    body = {"model": "a/m", "input": "hi", "timeout": {"call_timeout": 3000}}
    answered = client.post(URL, json=body, headers={"x-emulator-fail": "a/*=latency:2500ms"})
    assert answered.status_code == 200
    assert answered.headers["x-emulator-attempt-log"] == "a/m ok after 2.5s"
    assert responses_emulator.app.clock.now() - before == pytest.approx(2.5)


def test_a_timeout_counts_the_models_time_to_first_token(responses_emulator: InProcessEmulator) -> None:
    responses_emulator.model("slow/*").timing("ttft_ms=900")
    body = {
        "model": "slow/m",
        "input": "hi",
        "timeout": {"call_timeout": 800},
        "fallbacks": [{"model": "fast/m"}],
    }
    answered = responses_emulator.httpx_client().post(URL, json=body)
    assert answered.headers["x-emulator-attempt-log"] == "slow/m 504 timeout, fast/m ok"
    assert answered.json()["model"] == "fast/m"


def test_catalogue_faults_and_the_fluent_api(responses_emulator: InProcessEmulator) -> None:
    responses_emulator.model("a/m").fault("503*2")
    body = {"model": "a/m", "input": "hi", "retry": {"count": 3, "on_codes": [503]}}
    answered = responses_emulator.httpx_client().post(URL, json=body)
    assert answered.headers["x-emulator-attempt-log"] == "a/m 503, a/m 503, a/m ok"
    again = responses_emulator.httpx_client().post(URL, json=body)  # per request: it fails twice again
    assert again.headers["x-emulator-attempt-log"] == "a/m 503, a/m 503, a/m ok"


def test_a_bad_catalogue_fault_is_a_file_problem(responses_emulator: InProcessEmulator) -> None:
    from emulator.scenarios.source import ScenarioFilesInvalid

    with pytest.raises(ScenarioFilesInvalid, match=r"'503\*0': a count of failures is at least 1"):
        responses_emulator.load({"models": [{"name": "a/m", "faults": ["503*0"]}]})
    with pytest.raises(ScenarioFilesInvalid, match=r"faults"):
        responses_emulator.load({"models": [{"name": "a/m", "faults": ["explode"]}]})
