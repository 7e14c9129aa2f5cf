"""docs/testing.md: every Python example runs as a test file, its sample failure message is the
real one, and its JS setup module starts a real `responses-emulator serve` that answers."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.app import create_app
from emulator.pytest_plugin import FROZEN_AT
from emulator.testing import InProcessEmulator
from tests.support import make_config

pytest_plugins = ["pytester"]

DOC = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
JS = re.findall(r"```js\n(.*?)```", DOC, flags=re.DOTALL)
SAMPLE = re.findall(r"```text\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_guide_has_its_examples() -> None:
    assert len(PYTHON) >= 4 and len(JS) >= 1 and len(SAMPLE) == 1


@pytest.mark.parametrize("example", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_python_example_passes(pytester: pytest.Pytester, example: str) -> None:
    pytester.makepyfile(test_example=example)
    result = pytester.runpytest("-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) >= 1 and "failed" not in outcomes and "errors" not in outcomes, (
        result.stdout.str()
    )


def test_the_sample_failure_message_is_the_real_one() -> None:
    emulator = InProcessEmulator(create_app(make_config(frozen_time=FROZEN_AT, reload=False)))
    try:
        emulator.openai_client().responses.create(model="openai/gpt-4o", input="hello there")
        with pytest.raises(AssertionError) as failed:
            emulator.assert_called(input_contains="weather")
    finally:
        emulator.close()
    assert str(failed.value) == SAMPLE[0].rstrip("\n")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_js_setup_module_starts_a_server_that_answers(tmp_path: Path) -> None:
    setup = next(block for block in JS if "export async function setup" in block)
    (tmp_path / "emulator.setup.mjs").write_text(setup)
    (tmp_path / "run.mjs").write_text(
        """
        import { setup } from "./emulator.setup.mjs";
        const teardown = await setup();
        try {
          const headers = { Authorization: `Bearer ${process.env.OPENAI_API_KEY}`, "Content-Type": "application/json" };
          const made = await fetch(`${process.env.OPENAI_BASE_URL}/responses`, {
            method: "POST", headers, body: JSON.stringify({ model: "openai/gpt-4o", input: "Give me a credit card number" }),
          });
          const body = await made.json();
          const journal = await (await fetch(`${process.env.ORQ_SERVER_URL}/_emulator/requests`, { headers })).json();
          console.log(JSON.stringify({ status: made.status, created_at: body.created_at,
            type: body.output[0].content[0].type, journal: journal.requests.length }));
        } finally {
          await teardown();
        }
        """
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "EMULATOR_PORT": str(port), "PATH": path}
    done = subprocess.run(
        ["node", "run.mjs"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"status": 200, "created_at": 1767225600, "type": "refusal", "journal": 1}
