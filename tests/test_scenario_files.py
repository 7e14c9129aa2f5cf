"""Scenario files as their authors meet them: `validate` on broken files, safe loading, the
shipped library, and hot reload under a running server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from emulator.scenarios.loader import load
from emulator.testing import ServedEmulator
from tests.support import AUTH, make_config
from tests.test_cli import serve

HERE = Path(__file__).parent
BROKEN = HERE / "scenarios" / "broken"
SHIPPED = HERE.parent / "scenarios"

# file -> (line of the problem, words its message must hold)
EXPECTED = {
    "01-yaml-syntax.yaml": (4, "not valid YAML"),
    "02-json-syntax.json": (3, "not valid JSON"),
    "03-empty.yaml": (None, "the file is empty"),
    "04-top-level-list.yaml": (1, "the file must be an object"),
    "05-unknown-top-key.yaml": (1, "/scenario is not a known field"),
    "06-missing-name.yaml": (2, "/scenarios/0/name is required"),
    "07-bad-name.yaml": (2, "a scenario name is lower-case letters"),
    "08-reply-and-turns.yaml": (2, "exactly one of 'reply'"),
    "09-no-reply.yaml": (2, "exactly one of 'reply'"),
    "10-unknown-match-key.yaml": (4, "/scenarios/0/match/user_message is not a known field"),
    "11-bad-regex.yaml": (4, "the regex does not compile"),
    "12-two-text-modes.yaml": (4, "exactly one of equals, contains, regex or glob"),
    "13-turn-range.yaml": (4, "turn.max is below turn.min"),
    "14-unknown-element.yaml": (5, "/scenarios/0/reply/output/0/image is not a known field"),
    "15-two-kinds.yaml": (5, "exactly one of text, refusal, function_call, reasoning, tool_result or memory"),
    "16-bad-faker.yaml": (5, "Faker has no generator 'not_a_generator'"),
    "17-bad-faker-args.yaml": (5, "does not take these args"),
    "18-template-syntax.yaml": (5, "template error on its line 1"),
    "19-unknown-tool.yaml": (7, "function 'get_wether' is not among the tools"),
    "20-generate-without-tools.yaml": (7, "generated arguments need the tool's schema"),
    "21-generate-and-arguments.yaml": (6, "give arguments or generate: true, not both"),
    "22-failed-without-error.yaml": (5, "a failed turn needs an error"),
    "23-error-without-failed.yaml": (5, "only a failed turn has an error"),
    "24-bad-error-code.yaml": (6, "'provider_error' is not a response error code"),
    "25-http-error-with-output.yaml": (5, "a turn that answers an HTTP error has no output"),
    "26-reason-without-incomplete.yaml": (5, "only an incomplete turn has an incomplete_reason"),
    "27-bad-timing.yaml": (5, "unknown timing profile 'warp-speed'"),
    "28-jitter-range.yaml": (5, "/scenarios/0/reply/timing/jitter must be at most 1"),
    "29-duplicate-names.yaml": (4, "scenario 'a' is already defined at"),
    "30-annotated-refusal.yaml": (6, "only text can have annotations"),
    "31-times-zero.yaml": (4, "/scenarios/0/turns/0/times must be at least 1"),
    "32-bad-after.yaml": (3, "/scenarios/0/after must be one of"),
    "33-model-bad-timing.yaml": (3, "ttft_ms must be a number of milliseconds"),
    "34-tool-result-type.yaml": (5, "/scenarios/0/reply/output/0/tool_result/tool must match"),
    "35-empty-turn.yaml": (3, "a turn needs an output, an http_error, or status: failed"),
    "36-negative-delay.yaml": (5, "/scenarios/0/reply/output/0/delay_ms must be at least 0"),
    "37-unsatisfiable-schema.yaml": (
        6,
        "no value satisfies the schema's `maximum` at /properties/n/maximum (keyword `maximum`)",
    ),
    "38-not-a-schema.yaml": (7, "not a valid JSON Schema: 'moment' is not valid"),
    "39-pattern-and-length.yaml": (7, "no value satisfies the schema's `maxLength`"),
}


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_broken_file_is_caught_where_it_breaks(name: str) -> None:
    line, words = EXPECTED[name]
    _, problems = load([BROKEN / name])
    assert any(p.line == line and words in p.message for p in problems), [str(p) for p in problems]
    assert all(p.file == str(BROKEN / name) for p in problems)


def run_validate(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", "validate", *paths], capture_output=True, text=True, timeout=60
    )


def test_validate_reports_every_problem_with_file_and_line() -> None:
    result = run_validate(str(BROKEN))
    assert result.returncode == 1
    for name, (line, words) in EXPECTED.items():
        where = f"{BROKEN / name}:{line}: " if line else f"{BROKEN / name}: "
        assert any(out.startswith(where) and words in out for out in result.stdout.splitlines()), name
    assert "Traceback" not in result.stderr


def test_validate_passes_the_shipped_library() -> None:
    result = run_validate(str(SHIPPED))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("ok: ")


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("scenarios:\n  - name: same\n    reply: {output: [{text: x}]}\n")
    _, problems = load([tmp_path])
    assert [(p.file, p.line) for p in problems] == [(str(tmp_path / "b.yaml"), 2)]
    assert f"{tmp_path / 'a.yaml'}:2" in problems[0].message


def test_yaml_is_data_never_code(tmp_path: Path) -> None:
    (tmp_path / "evil.yaml").write_text(
        "scenarios:\n  - name: evil\n    reply: !!python/object/apply:os.system ['touch pwned']\n"
    )
    _, problems = load([tmp_path])
    assert problems and "not valid YAML" in problems[0].message
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        'scenarios:\n  - name: t\n    reply: {output: [{text: {template: "{{ request.__class__.__mro__ }}"}}]}\n'
    )
    with ServedEmulator.running(make_config(scenarios=(str(tmp_path),))) as server:
        reply = httpx.post(
            f"{server.base_url}/v3/router/responses", json={"model": "a/b", "input": "hi"}, headers=AUTH
        )
    assert (reply.status_code, reply.json()["error"]["code"]) == (500, "scenario_error")
    assert "unsafe" in reply.json()["error"]["message"]


def test_a_server_does_not_start_on_broken_files() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--scenarios", str(BROKEN / "11-bad-regex.yaml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"{BROKEN / '11-bad-regex.yaml'}:4: the regex does not compile" in result.stderr


def ask(url: str, text: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v3/router/responses", json={"model": "a/b", "input": text}, headers=AUTH, timeout=30
    )


def wait_for(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the server never saw the change"
        time.sleep(0.05)


def test_hot_reload_serves_changes_and_keeps_the_last_good_set(tmp_path: Path) -> None:
    scenario = tmp_path / "hello.yaml"
    scenario.write_text("scenarios:\n  - name: hello\n    reply: {output: [{text: first version}]}\n")
    with serve("--scenarios", str(tmp_path), "--frozen-time", "1767225600", "--timing", "instant") as (
        url,
        _,
    ):
        assert ask(url, "hi").json()["output"][0]["content"][0]["text"] == "first version"
        scenario.write_text("scenarios:\n  - name: hello\n    reply: {output: [{text: second version}]}\n")
        wait_for(lambda: ask(url, "hi").json()["output"][0]["content"][0]["text"] == "second version")
        scenario.write_text("scenarios:\n  - name: hello\n    reply: {output: [{text: {faker: nope}}]}\n")
        listing = f"{url}/_emulator/scenarios"
        wait_for(lambda: httpx.get(listing, headers=AUTH).json()["problems"])
        problems = httpx.get(listing, headers=AUTH).json()["problems"]
        assert problems == [
            f"{scenario}:3: Faker has no generator 'nope' (hint: try sentence, paragraph, name, city, word)"
        ]
        assert ask(url, "hi").json()["output"][0]["content"][0]["text"] == "second version"
        (tmp_path / "more.yaml").write_text("scenarios:\n  - name: more\n    match: {last_user_message: more}\n    reply: {output: [{text: added}]}\n")  # fmt: skip
        scenario.write_text("scenarios:\n  - name: hello\n    match: {last_user_message: hi}\n    reply: {output: [{text: third}]}\n")  # fmt: skip
        wait_for(lambda: ask(url, "more").json()["output"][0]["content"][0]["text"] == "added")
        assert ask(url, "hi").json()["output"][0]["content"][0]["text"] == "third"


def test_scenarios_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "env.yaml").write_text("scenarios:\n  - name: env\n    reply: {output: [{text: from env}]}\n")
    env = {"RESPONSES_EMULATOR_SCENARIOS": str(tmp_path), "RESPONSES_EMULATOR_TIMING": "instant"}
    with serve(env={**os.environ, **env}) as (url, _):
        assert ask(url, "hi").json()["output"][0]["content"][0]["text"] == "from env"


def test_unknown_fields_get_a_did_you_mean() -> None:
    _, problems = load([BROKEN / "10-unknown-match-key.yaml"])
    assert problems[0].hint is not None and problems[0].hint.startswith("did you mean 'last_user_message'?")
    _, problems = load([BROKEN / "05-unknown-top-key.yaml"])
    assert (
        problems[0].hint == "did you mean 'scenarios'? fields here: agents, memory_stores, models, scenarios"
    )


def test_builtin_names_the_shipped_library() -> None:
    builtin, problems = load(["builtin"])
    shipped, _ = load([SHIPPED])
    assert problems == [] and [s.name for s in builtin.scenarios] == [s.name for s in shipped.scenarios]
