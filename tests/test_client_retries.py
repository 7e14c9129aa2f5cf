"""Real clients' own retry logic against the emulator's failure headers: openai (Python and Node)
honour retry-after-ms and x-should-retry; orq-ai-sdk with a RetryConfig retries 429 and 5xx. Every
attempt is a request in the journal. Real time, wide margins: a 50 ms retry-after-ms against the
SDKs' own backoff of at least 375 ms."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from orq_ai_sdk import Orq
from orq_ai_sdk.utils import BackoffStrategy, RetryConfig

from emulator.testing import ServedEmulator
from tests.support import make_config
from tests.test_conformance import node_missing

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config(frozen_time=None)) as live:
        yield live


def script(live: ServedEmulator) -> None:
    live.on(message="throttled").http_error(429, "Slow down", retry_after=0.05).reply("Done")
    live.on(message="down").http_error(503, "Down", should_retry=False).reply("Done")
    live.on(message="odd").http_error(400, "Try again", should_retry=True).reply("Done")


def retry_gap(live: ServedEmulator) -> float:
    """Seconds between the first request and its retry, on the emulator's (real) clock."""
    first, second = live.requests[:2]
    return second.at - first.at


def retry_counts(live: ServedEmulator) -> list[str]:
    return [entry.headers.get("x-stainless-retry-count", "") for entry in live.requests]


def test_openai_python_honours_the_headers(served: ServedEmulator) -> None:
    script(served)
    oai = served.openai_client(max_retries=2)
    assert oai.responses.create(model="openai/gpt-4o", input="throttled").status == "completed"
    assert [e.status for e in served.requests] == [429, 200]
    assert retry_gap(served) < 0.3  # retry-after-ms: 50 ms, not the SDK's own 375+ ms
    assert retry_counts(served) == ["0", "1"]
    served.reset()
    with pytest.raises(openai.InternalServerError):
        oai.responses.create(model="openai/gpt-4o", input="down")
    assert [e.status for e in served.requests] == [503]  # x-should-retry: false
    served.reset()
    assert oai.responses.create(model="openai/gpt-4o", input="odd").status == "completed"
    assert [e.status for e in served.requests] == [400, 200]  # x-should-retry: true, even on a 400


def node(live: ServedEmulator, question: str) -> dict[str, float]:
    out = subprocess.run(
        ["node", "retries.mjs", live.base_url, live.api_key, question],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    result: dict[str, float] = json.loads(out)
    return result


def test_openai_node_honours_the_headers(served: ServedEmulator) -> None:
    if (why := node_missing()) is not None:
        if os.environ.get("RESPONSES_EMULATOR_REQUIRE_NODE"):
            pytest.fail(why)
        pytest.skip(why)
    script(served)
    throttled = node(served, "throttled")
    assert throttled["status"] == 200
    assert [e.status for e in served.requests] == [429, 200]
    assert retry_gap(served) < 0.3
    assert retry_counts(served) == ["0", "1"]
    served.reset()
    assert node(served, "down")["status"] == 503
    assert [e.status for e in served.requests] == [503]
    served.reset()
    assert node(served, "odd")["status"] == 200
    assert [e.status for e in served.requests] == [400, 200]


def test_orq_retries_429_and_5xx_with_a_retry_config(served: ServedEmulator) -> None:
    served.on(message="flaky").http_error(429, retry_after=0.05).http_error(503).http_error(502).reply("Done")
    retry = RetryConfig("backoff", BackoffStrategy(10, 50, 1.5, 5000), retry_connection_errors=False)
    orq = Orq(api_key=served.api_key, server_url=served.orq_server_url, retry_config=retry)
    answered = orq.responses.create(model="openai/gpt-4o", input="flaky")
    assert answered.status == "completed"
    assert [e.status for e in served.requests] == [429, 503, 502, 200]
    served.reset()
    plain: Orq = served.orq_client()  # no RetryConfig: no retries (clients.md 1.7)
    served.on(message="once").http_error(503).reply("Done")
    with pytest.raises(Exception, match="503"):
        plain.responses.create(model="openai/gpt-4o", input="once")
    assert [e.status for e in served.requests] == [503]
