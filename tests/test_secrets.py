"""The secret search: secrets sent in every place the contract allows them (secret `variables`, the
bearer key), in escaped-key and malformed forms, then looked for in every channel the emulator
has: response bodies, streams, GET, replays, the journal (served and in process), the pytest
report, error messages, response headers and the logs at debug level. None may hold one.

(The dashboard's feeds and recorded scenario files do not exist yet; issues 13 and 18 extend this
search to them.)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from emulator.testing import ServedEmulator
from emulator.testing.report import journal as journal_report
from tests.support import make_config

USER_KEY = "sk-user-key-0042-should-never-be-seen"
URL = "/v3/router/responses"


def secret(n: int) -> str:
    return f"SECRET-{n}-c4f3b4b3"


def variables(n: int) -> dict[str, Any]:
    return {"token": {"secret": True, "value": secret(n)}, "plain": "visible"}


# (case, raw body): every form a secret can arrive in; each has its own secret number.
SENT: list[tuple[str, bytes]] = [
    ("json-mode", json.dumps({"model": "openai/gpt-4o", "input": "hi", "variables": variables(1)}).encode()),
    ("stream", json.dumps({"model": "openai/gpt-4o", "input": "hi", "stream": True, "variables": variables(2)}).encode()),
    ("escaped-key", b'{"model": "openai/gpt-4o", "input": "hi", "\\u0076ariables": {"t": {"secret": true, "value": "' + secret(3).encode() + b'"}}}'),
    ("escaped-value-key", b'{"model": "openai/gpt-4o", "input": "hi", "variables": {"t": {"\\u0073ecret": true, "\\u0076alue": "' + secret(4).encode() + b'"}}}'),
    ("duplicate-variables", b'{"model": "openai/gpt-4o", "input": "hi", "variables": {"t": {"secret": true, "value": "' + secret(5).encode() + b'"}}, "variables": {"u": {"secret": true, "value": "' + secret(6).encode() + b'"}}}'),
    ("list-not-map", json.dumps({"model": "openai/gpt-4o", "input": "hi", "variables": [{"secret": True, "value": secret(7)}]}).encode()),
    ("with-a-bad-field", json.dumps({"model": "openai/gpt-4o", "input": "hi", "temperature": 9, "variables": variables(8)}).encode()),
    ("secret-with-extra-key", json.dumps({"model": "openai/gpt-4o", "input": "hi", "variables": {"t": {"secret": True, "value": secret(9), "x": 1}}}).encode()),
    ("secret-value-not-string", json.dumps({"model": "openai/gpt-4o", "input": "hi", "variables": {"t": {"secret": True, "value": [secret(10)]}}}).encode()),
    ("in-a-template", json.dumps({"model": "openai/gpt-4o", "input": "say {{token}}", "instructions": "Use {{token}}.", "variables": variables(11)}).encode()),
    ("strict-unknown-field", json.dumps({"model": "openai/gpt-4o", "input": "hi", "bogus": 1, "variables": variables(12)}).encode()),
    ("too-deep", b'{"model": "openai/gpt-4o", "input": "hi", "variables": {"t": {"secret": true, "value": "' + secret(13).encode() + b'"}, "deep": ' + b"[" * 80 + b"]" * 80 + b"}}"),
    ("not-json-after", b'{"model": "openai/gpt-4o", "variables": {"t": {"secret": true, "value": "' + secret(14).encode() + b'"}}'),
]  # fmt: skip
SECRETS = [secret(n) for n in range(1, 15)]


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def captured_logs() -> Iterator[Captured]:
    """Every log line of the emulator and uvicorn, at debug level, within the block (entered once
    the server has set up its logging, which would replace the handler)."""
    handler = Captured()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(n) for n in ("emulator", "uvicorn", "uvicorn.error", "uvicorn.access")]
    before = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
    yield handler
    for lg, (level, _) in zip(loggers, before, strict=True):
        lg.setLevel(level)
        lg.removeHandler(handler)


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_no_secret_reaches_any_channel(strict: bool) -> None:
    seen: list[str] = []  # everything the emulator said, on any channel
    config = make_config(api_keys=(USER_KEY,), strict=strict)
    with ServedEmulator.running(config) as emulator, captured_logs() as logs:
        http = httpx.Client(base_url=emulator.base_url, headers={"Authorization": f"Bearer {USER_KEY}"})
        answered = []
        for _, raw in SENT:
            answer = http.post(URL, content=raw, headers={"content-type": "application/json"})
            seen += [answer.text, json.dumps(dict(answer.headers))]
            answered.append(answer)
        assert [a.status_code for a in answered].count(200) >= (4 if strict else 6)  # most were served
        for answer in answered:
            if answer.status_code != 200:
                continue
            response_id = answer.json() if not answer.text.startswith("event:") else _first_id(answer.text)
            seen.append(http.get(f"{URL}/{response_id}").text)
            seen.append(http.get(f"{URL}/{response_id}", params={"stream": "true"}).text)
            seen.append(http.get(f"{URL}/{response_id}", params={"stream": "true", "starting_after": 2}).text)
        seen.append(http.get("/_emulator/requests").text)
        entries = list(emulator.app.journal)
        seen += [json.dumps(entry.json()) for entry in entries]
        seen += [repr(entry) for entry in entries]
        seen.append(journal_report(entries))
        # a key that is not accepted is not shown either
        refused = http.post(
            URL,
            json={"model": "openai/gpt-4o", "input": "hi"},
            headers={"Authorization": f"Bearer {USER_KEY}x"},
        )
        seen.append(refused.text)
    seen += logs.lines
    assert logs.lines, "the logs were not captured"
    everything = "\n".join(seen)
    assert "visible" in everything  # the search does see what was sent
    for value in [*SECRETS, USER_KEY]:
        assert value not in everything, f"{value} leaked"
    assert USER_KEY[:12] not in everything


def _first_id(stream: str) -> str:
    for line in stream.splitlines():
        if line.startswith("data: {"):
            return str(json.loads(line[6:])["response"]["id"])
    raise AssertionError("no event in the stream")
