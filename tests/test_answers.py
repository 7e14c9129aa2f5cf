"""The default backend's answers a chat UI can be built against: each shape's hallmarks (written
by hand from the README), the question choosing one, the header and the scenario element choosing
one on purpose, determinism, and streams that cut through code fences."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import InProcessEmulator
from tests.support import AUTH, assert_contract_error, assert_contract_stream, make_config

URL = "/v1/responses"


def ask(client: TestClient, question: str, shape: str | None = None, **body: Any) -> dict[str, Any]:
    headers = {**AUTH, **({"x-emulator-shape": shape} if shape else {})}
    answer = client.post(URL, json={"model": "openai/gpt-4o", "input": question, **body}, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def text(response: dict[str, Any]) -> str:
    return "".join(p["text"] for i in response["output"] if i["type"] == "message" for p in i["content"])


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(make_config()))


def test_every_shape_has_its_hallmarks(client: TestClient) -> None:
    question = "Tell me something"
    plain = text(ask(client, question, "plain"))
    assert "\n" not in plain and plain.endswith(".")
    paragraphs = text(ask(client, question, "paragraphs"))
    assert paragraphs.replace("\n\n", " ") == plain  # the same sentences, a paragraph each
    prose = text(ask(client, question, "prose"))
    assert prose.count("\n\n") >= 1 and "#" not in prose
    markdown = text(ask(client, question, "markdown"))
    assert markdown.startswith("## ") and re.search(r"^- \S", markdown, re.M)
    code = text(ask(client, question, "code"))
    assert re.search(r"^```python\n.*\n```$", code, re.M | re.S)
    table = text(ask(client, question, "table"))
    assert "\n|---|---:|---:|\n" in table and len(re.findall(r"^\| .* \| \d+ \| \d+% \|$", table, re.M)) >= 3
    long = ask(client, question, "long")
    assert long["usage"]["output_tokens"] >= 2000 and text(long).count("\n## ") >= 10
    unicode = text(ask(client, question, "unicode"))
    scripts = {unicodedata.bidirectional(c) for c in unicode}
    assert "R" in scripts or "AL" in scripts  # right to left
    assert re.search("[\u4e00-\u9fff\u3040-\u30ff]", unicode) and re.search(
        "[\U0001f300-\U0001faff]", unicode
    )


@pytest.mark.parametrize(
    ("question", "hallmark"),
    [
        ("Write a Python function that parses dates", "```python\n"),
        ("Show me the JavaScript code for a fetch call", "```javascript\n"),
        ("What shell command lists files?", "```bash\n"),
        ("Give me a list of ideas for a party", "\n- "),
        ("Compare the three plans in a table", "|---|---:|---:|"),
    ],
)
def test_the_question_picks_the_shape(client: TestClient, question: str, hallmark: str) -> None:
    assert hallmark in text(ask(client, question))


def test_other_questions_vary_by_request_and_repeat_exactly(client: TestClient) -> None:
    answers = [text(ask(client, f"Tell me about topic {n}")) for n in range(40)]
    assert any("\n" not in a for a in answers)  # plain
    assert any("\n\n" in a for a in answers)  # paragraphs: a sentence each
    for answer in answers:  # nothing but sentences, on one line or a paragraph each
        assert re.fullmatch(r"[A-Z][A-Za-z ]+\.(?:(?: |\n\n)[A-Z][A-Za-z ]+\.)*", answer), answer
    again = TestClient(create_app(make_config()))
    assert [text(ask(again, f"Tell me about topic {n}")) for n in range(40)] == answers
    other_seed = TestClient(create_app(make_config(seed=7)))
    assert text(ask(other_seed, "Tell me about topic 1")) != answers[1]


def test_a_stream_cuts_through_the_code_fence(client: TestClient) -> None:
    streamed = client.post(
        URL, json={"model": "openai/gpt-4o", "input": "python code please", "stream": True}, headers=AUTH
    )
    events = assert_contract_stream(streamed.content).events
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    whole = "".join(deltas)
    assert "```python" in whole and "```python" not in deltas  # the fence arrives in pieces
    assert whole == text(events[-1]["response"])
    assert events[-1]["response"]["usage"]["output_tokens"] == len(deltas)  # one token a delta


def test_an_unknown_shape_is_a_400_naming_the_header(client: TestClient) -> None:
    refused = client.post(
        URL, json={"model": "openai/gpt-4o", "input": "hi"}, headers={**AUTH, "x-emulator-shape": "poem"}
    )
    assert refused.status_code == 400
    assert_contract_error(refused.json())
    assert refused.json()["error"]["param"] == "x-emulator-shape"
    assert (
        "plain, paragraphs, prose, markdown, code, table, long, unicode" in refused.json()["error"]["message"]
    )


def test_a_scenario_asks_for_a_shape(responses_emulator: InProcessEmulator) -> None:
    responses_emulator.load({"scenarios": [
        {"name": "tabular", "match": {"last_user_message": "numbers"}, "reply": {"output": [{"text": {"shape": "table"}}]}},
    ]})  # fmt: skip
    reply = responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="numbers")
    assert "|---|---:|---:|" in reply.output_text
