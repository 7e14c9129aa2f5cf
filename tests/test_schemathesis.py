"""schemathesis against the served OpenAPI document: examples, coverage, fuzzing and stateful
phases, every check, a fixed seed (tests/schemathesis_setup/schemathesis.toml), 0 failures.

Run twice: against `--strict`, where the server enforces exactly what the document says (unknown
fields included), with every check; and against the default settings users run, where unknown
fields are accepted as contract warnings (decision 7), so the one check that expects them refused
is left out. The clock is frozen, so a valid request asking for a minute's pacing does not wait.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.config import DEV_API_KEY
from emulator.testing import ServedEmulator
from tests.support import make_config

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "schemathesis_setup" / "schemathesis.toml"


def schemathesis(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{url}/openapi.json", "-H", f"Authorization: Bearer {DEV_API_KEY}",
        # the journal's live feed never ends (it is tested in tests/test_dashboard.py)
        "--exclude-operation-id", "follow-requests",
        # resetting everything or thawing the clock mid-run pulls the state from under the other
        # operations (both are tested in tests/test_admin_api.py)
        "--exclude-operation-id", "reset-everything", "--exclude-operation-id", "move-clock",
        # (uploading or reloading scenarios changes what every later request gets: tested by hand)
        "--exclude-operation-id", "upload-scenarios", "--exclude-operation-id", "delete-scenarios",
        "--exclude-operation-id", "reload-scenarios",
        # /v1 and /v3/router are the same resources (one store): schemathesis models them apart, so a
        # DELETE through one and then a 404 through the other reads to it as a resource gone missing
        "--exclude-checks", "ensure_resource_availability", *options,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the hooks module, tests.schemathesis_setup.hooks
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


@pytest.mark.parametrize(
    ("settings", "options"),
    [
        ({"strict": True}, ["--checks", "all", "--max-examples", "50"]),
        (
            {},
            [
                "--checks",
                "all",
                "--exclude-checks",
                "negative_data_rejection,ensure_resource_availability",
                "--max-examples",
                "25",
            ],
        ),
    ],
    ids=["strict-every-check", "default-settings"],
)
def test_schemathesis_finds_no_failure(settings: dict[str, object], options: list[str]) -> None:
    with ServedEmulator.running(make_config(timing="instant", **settings)) as emulator:
        run = schemathesis(emulator.base_url, *options)
        assert emulator.app.store.ids(), "schemathesis never got a response created"
    out = run.stdout
    failures = out[out.find("= FAILURES =") :][:8000] if "= FAILURES =" in out else ""
    summary = failures + out[out.find("= SUMMARY =") :]
    assert run.returncode == 0, summary
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in run.stdout, f"the {phase} phase did not pass:\n{summary}"
    assert "failure" not in summary.split("SUMMARY")[-1].lower().replace("0 failures", ""), summary
