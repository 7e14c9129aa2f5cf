"""What a person sees in a browser, in Debian's headless Chromium (driven by selenium): a page on
another origin calling the emulator with `fetch` and with the real OpenAI JS SDK (its browser
mode, `dangerouslyAllowBrowser`), and the dashboard: the live request list, a request's detail
with its event timeline, and the playground streaming. Screenshots go to tests/artifacts/.

Without Chromium and ChromeDriver these tests skip, saying how to install them; CI installs them
and sets RESPONSES_EMULATOR_REQUIRE_BROWSER, which turns the skip into a failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from emulator.config import DEV_API_KEY
from emulator.testing import ServedEmulator
from tests.support import make_config

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
OPENAI_JS = Path(__file__).parent / "node" / "node_modules" / "openai"
ARTIFACTS = Path(__file__).parent / "artifacts"
MODEL = "openai/gpt-4o"
QUESTION = "Tell me about streaming in the browser."


def browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            return f"{path} is missing: apt-get install chromium chromium-driver"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if (why := browser_missing()) is not None:
        if os.environ.get("RESPONSES_EMULATOR_REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def emulator() -> Iterator[ServedEmulator]:
    with ServedEmulator.running(make_config()) as served:
        yield served


@pytest.fixture
def page(httpserver: HTTPServer) -> str:
    """Another origin (`http://localhost:<its port>`, the emulator being on 127.0.0.1): a blank page,
    and the OpenAI JS SDK's ES modules under /openai/, as a bundler-free page would load them."""

    def module(request: Request) -> Response:
        path = (OPENAI_JS / request.path.removeprefix("/openai/")).resolve()
        if not path.is_relative_to(OPENAI_JS) or not path.is_file():
            return Response("not found", 404)
        return Response(path.read_bytes(), content_type="text/javascript")

    httpserver.expect_request("/").respond_with_data(
        "<!doctype html><title>app</title>", content_type="text/html"
    )
    httpserver.expect_request(re.compile("^/openai/.*")).respond_with_handler(module)
    return httpserver.url_for("/").replace("127.0.0.1", "localhost").replace("[::1]", "localhost")


def sdk_text(emulator: ServedEmulator, **body: Any) -> str:
    with emulator.openai_client().responses.stream(model=MODEL, **body) as stream:
        return stream.get_final_response().output_text


FETCH_STREAM = """
const [url, key, body, done] = arguments;
const answer = await fetch(url, {
  method: "POST", headers: {Authorization: `Bearer ${key}`, "Content-Type": "application/json"},
  body: JSON.stringify(body),
});
const reader = answer.body.getReader(), decoder = new TextDecoder();
let buffer = "", text = "", chunks = 0, events = [];
for (;;) {
  const {value, done: ended} = await reader.read();
  if (ended) break;
  chunks += 1;
  buffer += decoder.decode(value, {stream: true});
  let end;
  while ((end = buffer.indexOf("\\n\\n")) >= 0) {
    const data = buffer.slice(0, end).split("\\n").find((l) => l.startsWith("data: "))?.slice(6);
    buffer = buffer.slice(end + 2);
    if (!data || data === "[DONE]") continue;
    const event = JSON.parse(data);
    events.push(event.type);
    if (event.type === "response.output_text.delta") text += event.delta;
  }
}
done({status: answer.status, allowOrigin: answer.headers.get("access-control-allow-origin"),
      traceId: answer.headers.get("x-orq-trace-id"), text, chunks, events});
"""


def run_async(browser: Any, script: str, *args: Any) -> Any:
    """`script`'s last argument is its callback; a thrown error comes back as {error}."""
    wrapped = f"const done = arguments[arguments.length - 1]; (async () => {{ {script} }})().catch((e) => done({{error: String(e)}}));"
    return browser.execute_async_script(wrapped, *args)


def test_a_page_on_another_origin_streams_with_fetch(
    browser: Any, emulator: ServedEmulator, page: str
) -> None:
    browser.get(page)
    body = {"model": MODEL, "input": QUESTION, "stream": True}
    seen = run_async(browser, FETCH_STREAM, f"{emulator.base_url}/v3/router/responses", DEV_API_KEY, body)
    assert "error" not in seen, seen
    assert seen["status"] == 200  # the browser let the page read it: CORS passed
    assert seen["allowOrigin"] is None  # not a header a page may read
    assert len(seen["traceId"] or "") == 32  # an exposed header: the page can read it
    assert seen["events"][0] == "response.created" and seen["events"][-1] == "response.completed"
    assert seen["text"] == sdk_text(emulator, input=QUESTION)  # what the Python SDK reads
    browser.save_screenshot(str(ARTIFACTS / "cross-origin-fetch.png"))


OPENAI_IN_THE_BROWSER = """
const [base, key, question] = arguments;
const {default: OpenAI} = await import("/openai/index.mjs");
const client = new OpenAI({baseURL: `${base}/v3/router`, apiKey: key, dangerouslyAllowBrowser: true, maxRetries: 0});
const created = await client.responses.create({model: "openai/gpt-4o", input: question});
const stream = client.responses.stream({model: "openai/gpt-4o", input: question});
let deltas = "";
stream.on("response.output_text.delta", (event) => { deltas += event.delta; });
const final = await stream.finalResponse();
done({created: created.output_text, streamed: final.output_text, deltas});
"""


def test_the_openai_js_sdk_in_the_browser(browser: Any, emulator: ServedEmulator, page: str) -> None:
    """The real SDK's preflights carry every header it sends from a browser (x-stainless-*...)."""
    browser.get(page)
    seen = run_async(browser, OPENAI_IN_THE_BROWSER, emulator.base_url, DEV_API_KEY, QUESTION)
    assert "error" not in seen, seen
    expected = sdk_text(emulator, input=QUESTION)
    assert seen == {"created": expected, "streamed": expected, "deltas": expected}
    sent = [e for e in emulator.requests if e.body and e.body.get("input") == QUESTION]
    assert any(e.headers.get("x-stainless-lang") == "js" for e in sent), [e.headers for e in sent]


def wait_for(browser: Any, condition: Any, timeout: float) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)


def test_the_dashboard_shows_requests_live_their_detail_and_a_playground(
    browser: Any, emulator: ServedEmulator
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{emulator.base_url}/_emulator/ui")
    browser.execute_script("localStorage.clear()")
    browser.get(f"{emulator.base_url}/_emulator/ui")
    key_input = browser.find_element(By.ID, "key-input")
    assert key_input.get_attribute("value") == DEV_API_KEY  # pre-filled on loopback
    browser.find_element(By.ID, "key-save").click()
    wait_for(browser, lambda b: b.find_element(By.ID, "feed-state").text == "live", 5)

    text = sdk_text(emulator, input="Shown on the dashboard", metadata={"page": "dashboard"})
    made = time.monotonic()
    index = emulator.last_request.index
    row = wait_for(
        browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'tr.entry[data-index="{index}"]'), 1.0
    )[0]
    assert time.monotonic() - made < 1.0
    assert "openai/gpt-4o" in row.text and "200" in row.text and "stream" in row.text
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

    row.click()
    events = wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#events tbody tr"), 5)
    types = [r.find_elements(By.TAG_NAME, "td")[2].text for r in events]
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert types.count("response.output_text.delta") >= 2
    assert all(r.find_elements(By.TAG_NAME, "td")[1].text.endswith(" ms") for r in events)
    detail = browser.find_element(By.ID, "detail").text
    # the request, and the final response (its text as JSON shows it: newlines escaped)
    assert '"page": "dashboard"' in detail and json.dumps(text)[1:-1] in detail
    browser.find_element(By.CSS_SELECTOR, '[data-copy="curl"]').click()
    copied = browser.find_element(By.ID, "copied").text
    assert (
        copied.startswith(f"curl {emulator.base_url}/v3/router/responses")
        and "Shown on the dashboard" in copied
    )
    browser.save_screenshot(str(ARTIFACTS / "dashboard-detail.png"))

    browser.find_element(By.CSS_SELECTOR, 'nav button[data-tab="playground"]').click()
    prompt = browser.find_element(By.ID, "pg-input")
    prompt.clear()
    prompt.send_keys("Hello from the playground")
    browser.find_element(By.ID, "playground-send").click()
    wait_for(browser, lambda b: "completed" in b.find_element(By.ID, "playground-status").text, 10)
    streamed = browser.find_element(By.ID, "playground-output").text
    assert streamed == sdk_text(emulator, input="Hello from the playground")
    assert "events" in browser.find_element(By.ID, "playground-status").text
    items = json.loads(browser.find_element(By.ID, "playground-items").text)
    assert items[-1]["type"] == "message"
    browser.save_screenshot(str(ARTIFACTS / "dashboard-playground.png"))


def test_the_dashboard_shows_the_gateways_attempts_as_a_timeline(
    browser: Any, emulator: ServedEmulator
) -> None:
    from selenium.webdriver.common.by import By

    body = {
        "model": "openai/gpt-4o", "input": "Through the gateway", "retry": {"count": 1, "on_codes": [503]},
        "timeout": {"call_timeout": 2000}, "fallbacks": [{"model": "anthropic/claude"}, {"model": "google/gemini"}],
    }  # fmt: skip
    faults = "openai/*=503,anthropic/*=latency:3s"
    answered = httpx.post(
        emulator.base_url + "/v3/router/responses", json=body,
        headers={"Authorization": f"Bearer {DEV_API_KEY}", "x-emulator-fail": faults},
    )  # fmt: skip
    assert answered.json()["model"] == "google/gemini"
    index = emulator.last_request.index
    browser.get(f"{emulator.base_url}/_emulator/ui")
    browser.execute_script("localStorage.clear()")
    browser.get(f"{emulator.base_url}/_emulator/ui")
    browser.find_element(By.ID, "key-save").click()
    wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, f'tr.entry[data-index="{index}"]'), 5)[
        0
    ].click()
    rows = wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#attempts tbody tr"), 5)
    cells = [[td.text for td in r.find_elements(By.TAG_NAME, "td")] for r in rows]
    assert [c[0] for c in cells] == ["openai/gpt-4o", "openai/gpt-4o", "anthropic/claude", "google/gemini"]
    assert cells[0][1] == "503 provider_overloaded" and cells[2][1] == "504 provider_timeout"
    assert cells[-1][1] == "answered"
    assert "2.00 s call" in cells[2][2]  # the call timeout, on the timeline
    widths = [
        [bar.size["width"] for bar in r.find_elements(By.CSS_SELECTOR, ".bar")] for r in rows
    ]  # backoff, then call: to scale, so the timed-out calls are the widest
    assert (
        widths[2][1] > widths[1][0] > widths[0][1]
    )  # the 2 s timeout > a 1 s +-25 % backoff > a failed call
    browser.save_screenshot(str(ARTIFACTS / "dashboard-gateway.png"))


def test_the_dashboard_lists_scenarios_and_asks_again_for_a_wrong_key(
    browser: Any, emulator: ServedEmulator
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{emulator.base_url}/_emulator/ui")
    browser.execute_script("localStorage.setItem('responses-emulator-key', 'wrong-key')")
    browser.get(f"{emulator.base_url}/_emulator/ui")
    wait_for(browser, lambda b: b.find_element(By.ID, "key-form").is_displayed(), 5)
    assert "refused" in browser.find_element(By.ID, "key-error").text
    key_input = browser.find_element(By.ID, "key-input")
    key_input.clear()
    key_input.send_keys(DEV_API_KEY)
    browser.find_element(By.ID, "key-save").click()
    browser.find_element(By.CSS_SELECTOR, 'nav button[data-tab="scenarios"]').click()
    state = wait_for(browser, lambda b: b.find_element(By.ID, "reload-state").text, 5)
    assert state == "no scenario files: requests get the default backend's answers"
