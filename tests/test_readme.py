"""The README's Python snippets run, unchanged but for the port, against a live emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import LiveServer

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 2


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet-{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs(live: LiveServer, snippet: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(snippet.replace("http://127.0.0.1:8080", live.url), "README.md", "exec"), {})
    assert capsys.readouterr().out.strip()
