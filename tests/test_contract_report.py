"""The contract report: a deliberately sloppy client's every violation, with its pointer, per
client (the SDKs recognised by their User-Agent); the pytest option that fails a session over it;
serve --report-on-exit."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from emulator.contract.errors import ApiError, Failure
from emulator.state.contract_report import MAX_AGENTS, MAX_CLIENTS, MAX_FINDINGS, ContractReport, client_of
from emulator.state.journal import Exchange
from emulator.testing import InProcessEmulator

URL = "/v3/router/responses"
MODEL = "openai/gpt-4o"
SLOPPY = {"User-Agent": "sloppy-client/0.1"}


def test_a_sloppy_clients_every_violation(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client(headers={**responses_emulator.auth_headers, **SLOPPY})
    client.post(URL, json={"model": MODEL, "input": "hi", "temperature": 3})  # out of range: an error
    client.post(URL, json={"model": MODEL, "input": "hi", "temperature": 5})  # the same finding again
    client.post(
        URL, json={"model": MODEL, "input": [{"role": "tool", "content": "x"}]}
    )  # an error in an item
    client.post(URL, json={"model": MODEL, "input": "hi", "user": "u-1"})  # unknown field: a warning
    client.post(URL, json={"model": MODEL, "input": "hi", "instructions": None})  # explicit null: a warning
    client.post(URL, json={"model": MODEL, "input": "fine"})
    responses_emulator.openai_client().responses.create(model=MODEL, input="clean")
    report = responses_emulator.httpx_client().get("/_emulator/contract-report").json()
    by_client = {c["client"]: c for c in report["clients"]}
    sloppy = by_client["sloppy-client/0.1"]
    assert (sloppy["requests"], sloppy["errors"], sloppy["warnings"]) == (6, 3, 2)
    found = {(f["kind"], f["pointer"]): f for f in sloppy["findings"]}
    assert set(found) == {("error", "/temperature"), ("error", "/input/*/role"), ("warning", "/user"),
                          ("warning", "/instructions")}  # fmt: skip
    assert found[("error", "/temperature")]["count"] == 2  # one finding, however the values differ
    assert found[("error", "/temperature")]["example"]["body"]["temperature"] == 3  # the first one
    openai_client = next(c for name, c in by_client.items() if name.startswith("openai (Python)"))
    assert (openai_client["requests"], openai_client["errors"], openai_client["findings"]) == (1, 0, [])
    text = responses_emulator.httpx_client().get("/_emulator/contract-report", params={"format": "text"}).text
    assert "sloppy-client/0.1: 6 requests, 3 contract errors, 2 warnings" in text
    assert "/input/*/role" in text


@pytest.mark.parametrize(
    ("agent", "client"),
    [
        ("speakeasy-sdk/python 4.13.19 2.0 3.0 orq-ai-sdk", "orq-ai-sdk (Python) 4.13.19"),
        ("speakeasy-sdk/typescript 4.9.0 2.0 3.0 @orq-ai/node", "@orq-ai/node 4.9.0"),
        ("OpenAI/Python 3.57.0", "openai (Python) 3.57.0"),
        ("OpenAI/JS 6.49.0", "openai (Node) 6.49.0"),
        ("ai-sdk/openai/2.0.1", "Vercel AI SDK 2.0.1"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "(no User-Agent)"),
    ],
)
def test_clients_are_recognised(agent: str, client: str) -> None:
    assert client_of(agent) == client


def test_the_pytest_option_fails_a_session_whose_client_broke_the_contract(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sloppy="""
def test_sends_a_bad_temperature(responses_emulator):
    client = responses_emulator.httpx_client()
    assert client.post("/v3/router/responses", json={"model": "openai/gpt-4o", "input": "hi",
                                                     "temperature": 9}).status_code == 400
"""
    )
    relaxed = pytester.runpytest("-p", "no:cacheprovider")
    assert relaxed.ret == 0
    strict = pytester.runpytest("-p", "no:cacheprovider", "--emulator-contract-strict")
    assert strict.ret == 1
    strict.stdout.fnmatch_lines(["*clients broke the contract*", "*test_sends_a_bad_temperature*",
                                 "*error*/temperature*"])  # fmt: skip


pytest_plugins = ["pytester"]


def test_serve_writes_the_report_on_exit(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--no-auth", "--report-on-exit", str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        found = (re.search(r"http://127\.0\.0\.1:\d+", line) for line in proc.stdout)
        base = next(m.group(0) for m in found if m is not None)
        httpx.post(base + URL, json={"model": MODEL, "input": "hi", "temperature": 7}, headers=SLOPPY)
    finally:
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=20)[0]
    assert target.exists(), out
    report = json.loads(target.read_text())
    assert report["clients"][0]["client"] == "sloppy-client/0.1"
    assert report["clients"][0]["findings"][0]["pointer"] == "/temperature"
    assert "contract report" in out and "/temperature" in out


def test_a_route_the_contract_does_not_have_is_an_error(responses_emulator: InProcessEmulator) -> None:
    client = responses_emulator.httpx_client(headers={**responses_emulator.auth_headers, **SLOPPY})
    client.post("/v1/chat/completions", json={"model": MODEL})
    client.post("/v1/chat/completions", json={"model": MODEL})
    client.put(URL, json={"model": MODEL, "input": "hi"})  # the Responses routes' own 405
    client.get(f"{URL}/resp_unknown")  # a 404 for state, not for the contract: no finding
    sloppy = responses_emulator.httpx_client().get("/_emulator/contract-report").json()["clients"][0]
    found = {f["pointer"]: f["count"] for f in sloppy["findings"]}
    assert found == {"POST /v1/chat/completions": 2, f"PUT {URL}": 1}
    assert sloppy["requests"] == 4 and sloppy["errors"] == 3


def test_the_report_is_bounded() -> None:
    report = ContractReport()
    for n in range(MAX_CLIENTS + 5):  # each a client of its own
        report.count(f"client-{n}/1.0".encode())
        report(exchange(f"client-{n}/1.0", [f"/field{n}"]))
    clients = report.json()["clients"]
    assert len(clients) == MAX_CLIENTS
    assert [c["client"] for c in clients[:2]] == ["client-0/1.0", "client-1/1.0"]  # the first kept
    for _ in range(3):
        report(exchange("wide/1.0", [f"/field{n}" for n in range(MAX_FINDINGS + 50)]))
    wide = next((c for c in report.json()["clients"] if c["client"] == "wide/1.0"), None)
    assert wide is None  # no room for a 101st client
    report.clear()
    report(exchange("wide/1.0", [f"/field{n}" for n in range(MAX_FINDINGS + 50)]))
    report(exchange("wide/1.0", ["/field0", "/field999"]))
    (wide,) = report.json()["clients"]
    assert len(wide["findings"]) == MAX_FINDINGS
    counts = {f["pointer"]: f["count"] for f in wide["findings"]}
    assert counts["/field0"] == 2 and "/field999" not in counts  # kept ones still counted, no new ones
    for n in range(MAX_AGENTS + 10):
        report.count(f"agent-{n}".encode())
    assert len(report.agents) == MAX_AGENTS


def exchange(agent: str, pointers: list[str]) -> Exchange:
    """A journal entry of a 400 naming these fields, from this User-Agent."""
    error = ApiError(400, "invalid_request_body", "bad")
    error.failures = [Failure(p, f"{p} is wrong") for p in pointers]
    return Exchange(0.0, "POST", URL, b"", {b"user-agent": agent.encode()}, b"{}", 400, False, None, None,
                    (), error, (), None, ())  # fmt: skip
