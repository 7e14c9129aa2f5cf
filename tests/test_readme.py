"""The README's Python snippets run, unchanged but for the port, against a live emulator, and
print what the README says they print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emulator.testing import ServedEmulator

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)

WORDS = r"[A-Z][^\n]*[.!?](?:\n\n[A-Z][^\n]*[.!?])*"  # generated text: a sentence or more, maybe paragraphs
# What each snippet prints, in README order, written from what each print() call asks for.
PRINTS = [
    # orq: status and text; then the stored response's total tokens
    rf"completed {WORDS}\n\d+\n",
    # OpenAI: the second turn's text and input tokens; then retrieve() returns the same id
    rf"{WORDS} \d+\nTrue\n",
    # OpenAI streaming: the deltas as they come, a newline, then the final status and tokens
    rf"{WORDS}\ncompleted \d+\n",
    # orq streaming: every event's sequence number and type, from created to completed
    r"0 response\.created\n1 response\.in_progress\n2 response\.output_item\.added\n"
    r"(?:\d+ response\.[a-z_.]+\n)+\d+ response\.completed\n",
]


def test_every_snippet_has_its_expected_output() -> None:
    assert len(SNIPPETS) == len(PRINTS)


@pytest.mark.parametrize(
    ("snippet", "prints"),
    list(zip(SNIPPETS, PRINTS, strict=True)),
    ids=[f"snippet-{i}" for i in range(len(PRINTS))],
)
def test_snippet_runs(
    live: ServedEmulator, snippet: str, prints: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(snippet.replace("http://127.0.0.1:8080", live.base_url), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert re.fullmatch(prints, printed), printed


def test_the_settings_table_is_the_one_the_settings_declare() -> None:
    from emulator.config import settings_table

    assert settings_table() in README, f"README's Configuration table should read:\n{settings_table()}"
