"""Variables in instructions and message text (contract decision 12): the three engines, a missing
variable, the Jinja sandbox, secrets (never in any text), and text without variables left alone.
Expected texts are written by hand."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import ServedEmulator
from tests.support import AUTH, assert_contract_error, make_config

URL = "/v3/router/responses"


def send(**body: Any) -> Any:
    client = TestClient(create_app(make_config()), headers=AUTH)
    return client.post(URL, json={"model": "openai/gpt-4o", **body})


def input_text(answer: Any) -> str:
    return answer.json()["input"][0]["content"][0]["text"]


@pytest.mark.parametrize(
    ("engine", "instructions", "expected"),
    [
        (None, "Be {{ tone }} with {{name}}.", "Be kind with Ada."),
        ("text", "Be {{tone}} with {{name}}.", "Be kind with Ada."),
        ("mustache", "{{#items}}- {{.}}\n{{/items}}for {{name}}", "- tea\n- cake\nfor Ada"),
        ("jinja", "{{ name | upper }}: {{ items | join(', ') }}", "ADA: tea, cake"),
    ],
)
def test_each_engine_fills_instructions_and_messages(
    engine: str | None, instructions: str, expected: str
) -> None:
    variables = {"name": "Ada", "tone": "kind", "items": ["tea", "cake"]}
    extra = {"template_engine": engine} if engine else {}
    answer = send(
        input=[{"role": "user", "content": "Hello {{name}}"}],
        instructions=instructions,
        variables=variables,
        **extra,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["instructions"] == expected
    assert input_text(answer) == "Hello Ada"


@pytest.mark.parametrize("engine", ["text", "mustache", "jinja"])
def test_a_missing_variable_is_a_400_naming_it(engine: str) -> None:
    answer = send(input="Hi {{who}}", variables={"name": "Ada"}, template_engine=engine)
    assert answer.status_code == 400
    assert_contract_error(answer.json())
    assert answer.json()["error"]["param"] == "/input"
    assert "'who'" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "escape",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ name.__class__ }}",
    ],
)
def test_a_jinja_sandbox_escape_is_a_400(escape: str) -> None:
    answer = send(input="hi", instructions=escape, template_engine="jinja", variables={"name": "Ada"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "/instructions"
    assert "sandbox" in answer.json()["error"]["message"]


def test_a_secret_fills_text_only_as_the_marker() -> None:
    answer = send(
        input="use {{token}}",
        instructions="Key: {{token}}",
        variables={"token": {"secret": True, "value": "sk-never-seen"}},
    )
    assert answer.status_code == 200
    assert answer.json()["instructions"] == "Key: [REDACTED]"
    assert "sk-never-seen" not in answer.text


def test_text_without_variables_is_left_alone() -> None:
    answer = send(input="format {{x}} as code")
    assert input_text(answer) == "format {{x}} as code"


def test_filled_text_is_what_tokens_count_and_clients_see() -> None:
    long_name = "Bartholomew Fitzgerald the Third of Northumberland"
    filled = send(input="Hi {{name}}", variables={"name": long_name}).json()
    written = send(input=f"Hi {long_name}").json()
    assert filled["usage"]["input_tokens"] == written["usage"]["input_tokens"]
    with ServedEmulator.running(make_config()) as emulator:
        created = emulator.openai_client().responses.create(
            model="openai/gpt-4o", input="Hi {{name}}", instructions="Greet {{name}}.",
            extra_body={"variables": {"name": "Ada"}},
        )  # fmt: skip
        assert created.instructions == "Greet Ada."
