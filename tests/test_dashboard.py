"""The dashboard's JSON feeds through the API (the page itself: tests/test_browser.py): the live
journal feed, one entry's detail (its stream's events with their times, the gateway's attempts,
the final response), the scenarios' reload state, and the page's own route."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.testing import ServedEmulator
from tests.support import AUTH, make_config

FALLBACKS = str(Path(__file__).resolve().parent.parent / "scenarios" / "fallback-chain.yaml")
URL = "/v3/router/responses"


@pytest.fixture
def served() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config(scenarios=(FALLBACKS,), reload=False)) as emulator:
        yield emulator


def read_feed(
    base: str, count: int, after: int = -1, started: threading.Event | None = None
) -> list[dict[str, Any]]:
    """The first `count` entries the feed sends."""
    seen: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", f"{base}/_emulator/requests/feed?after={after}", headers=AUTH, timeout=10
    ) as feed:
        assert feed.headers["content-type"].startswith("text/event-stream")
        if started is not None:
            started.set()
        for line in feed.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line.removeprefix("data: ")))
                if len(seen) == count:
                    break
    return seen


def test_the_feed_sends_what_is_kept_then_each_new_entry(served: ServedEmulator) -> None:
    base = served.base_url
    for question in ("first", "second"):
        httpx.post(base + URL, json={"model": "openai/gpt-4o", "input": question}, headers=AUTH)
    assert [e["body"]["input"] for e in read_feed(base, 2)] == ["first", "second"]
    assert [e["body"]["input"] for e in read_feed(base, 1, after=0)] == ["second"]

    started, later = threading.Event(), []
    reader = threading.Thread(target=lambda: later.extend(read_feed(base, 1, after=1, started=started)))
    reader.start()
    assert started.wait(5)
    httpx.post(base + URL, json={"model": "openai/gpt-4o", "input": "third", "stream": True}, headers=AUTH)
    reader.join(10)
    assert [(e["index"], e["body"]["input"], e["stream"]) for e in later] == [(2, "third", True)]
    assert httpx.get(base + "/_emulator/requests/feed").status_code == 401


def test_an_entry_in_detail(served: ServedEmulator) -> None:
    base = served.base_url
    streamed = httpx.post(
        base + URL, json={"model": "openai/gpt-4o", "input": "hi", "stream": True}, headers=AUTH
    )
    sent = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    detail = httpx.get(base + "/_emulator/requests/0", headers=AUTH).json()
    assert [e["type"] for e in detail["events"]] == [e["type"] for e in sent]
    times = [e["at"] for e in detail["events"]]
    assert all(isinstance(t, float) for t in times) and times == sorted(times)
    assert detail["response"] == sent[-1]["response"]  # the final response, as stored

    httpx.post(base + URL, json={"model": "openai/gpt-4o", "input": "hi"}, headers=AUTH)
    plain = httpx.get(base + "/_emulator/requests/1", headers=AUTH).json()
    assert plain["events"][-1]["type"] == "response.completed"
    assert {e["at"] for e in plain["events"]} == {None}  # answered in JSON: nothing was streamed

    body = {"model": "demo/flaky-primary", "input": "hi", "retry": {"count": 1, "on_codes": [503]},
            "fallbacks": [{"model": "demo/steady-backup"}]}  # fmt: skip
    assert httpx.post(base + URL, json=body, headers=AUTH).json()["model"] == "demo/steady-backup"
    gateway = httpx.get(base + "/_emulator/requests/2", headers=AUTH).json()
    assert [(a["model"], a["status"]) for a in gateway["attempts"]] == [
        ("demo/flaky-primary", 503), ("demo/flaky-primary", 503), ("demo/steady-backup", None)
    ]  # fmt: skip
    assert (
        gateway["attempts"][0]["wait"] == 0 and 0.75 <= gateway["attempts"][1]["wait"] <= 1.25
    )  # 1 s +-25 %
    assert gateway["scenario"] == "fallback-answer"
    assert [(a["took"], a["code"], a["balanced"], a["timed_out"]) for a in gateway["attempts"]] == [
        (0.0, "provider_overloaded", False, False), (0.0, "provider_overloaded", False, False), (0.0, None, False, False)
    ]  # fmt: skip
    assert gateway["cache"] is None

    missing = httpx.get(base + "/_emulator/requests/99", headers=AUTH)
    assert (missing.status_code, missing.json()["error"]["param"]) == (404, "index")


def test_the_scenarios_reload_state(served: ServedEmulator) -> None:
    listing = httpx.get(served.base_url + "/_emulator/scenarios", headers=AUTH).json()
    assert (listing["paths"], listing["watching"], listing["loads"]) == ([FALLBACKS], False, 1)
    assert [s["name"] for s in listing["scenarios"]] == ["fallback-answer"]


def test_the_page_is_open_and_the_root_leads_to_it(served: ServedEmulator) -> None:
    page = httpx.get(served.base_url + "/_emulator/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<title>responses-emulator</title>" in page.text
    assert "https://" not in page.text.replace("https://*", "")  # no network: nothing fetched from elsewhere
    root = httpx.get(served.base_url + "/", follow_redirects=False)
    assert (root.status_code, root.headers["location"]) == (307, "/_emulator/ui")
