"""The rough edges a newcomer met, each with the behaviour that replaced it: what the plugin needs
installed, scenario paths relative to the test file, clean failures for broken scenario files, a
"did you mean" for the fluent API, route errors that point at the routes, 401 before 404 under
/_emulator, and what to do about a busy port."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.testing import InProcessEmulator
from tests.support import AUTH, assert_contract_error, make_config

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parent.parent
BROKEN = "scenarios:\n  - name: a\n    reply: {output: [{txt: hi}]}\n"
GOOD = "scenarios:\n  - name: hello\n    match: {last_user_message: hi}\n    reply: {output: [{text: Hello from the file.}]}\n"


def test_the_pytest_extra_installs_what_the_fixtures_use() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {r.split(">")[0] for r in extras["pytest"]} == {"pytest", "openai", "orq-ai-sdk"}
    assert 'pip install "responses-emulator[pytest]"' in (ROOT / "docs" / "testing.md").read_text()


@pytest.mark.parametrize(("module", "helper", "package"), [
    ("openai", "openai_client", "openai"), ("openai", "async_openai_client", "openai"),
    ("orq_ai_sdk", "orq_client", "orq-ai-sdk"),
])  # fmt: skip
def test_a_missing_client_library_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str, helper: str, package: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails as if not installed
    emulator = InProcessEmulator(create_app(make_config()))
    with pytest.raises(ModuleNotFoundError) as missing:
        getattr(emulator, helper)()
    assert str(missing.value) == (
        f"{helper}() needs the {package} package: pip install 'responses-emulator[pytest]' "
        f"(pytest and both SDKs), or pip install {package}"
    )


def run_in_subdirectory(pytester: pytest.Pytester, test: str, **files: str) -> pytest.RunResult:
    """A test file and scenario files in tests/sub/, run from the project root (another directory)."""
    sub = pytester.mkdir("sub")
    for name, text in files.items():
        (sub / f"{name}.yaml").write_text(text)
    (sub / "test_it.py").write_text(textwrap.dedent(test))
    return pytester.runpytest("-p", "no:cacheprovider", "sub/test_it.py")


def test_load_resolves_against_the_test_file_as_the_marker_does(pytester: pytest.Pytester) -> None:
    result = run_in_subdirectory(pytester, """
        import pytest

        def test_load(responses_emulator):
            responses_emulator.load("good.yaml")
            reply = responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="hi")
            assert reply.output_text == "Hello from the file."

        @pytest.mark.emulator(scenarios="good.yaml")
        def test_marker(responses_emulator):
            reply = responses_emulator.openai_client().responses.create(model="openai/gpt-4o", input="hi")
            assert reply.output_text == "Hello from the file."
    """, good=GOOD)  # fmt: skip
    result.assert_outcomes(passed=2)


def test_a_missing_file_is_named_by_its_resolved_path(pytester: pytest.Pytester) -> None:
    result = run_in_subdirectory(pytester, """
        def test_missing(responses_emulator):
            responses_emulator.load("nope.yaml")
    """)  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{pytester.path / 'sub' / 'nope.yaml'}: no such file or directory*"])


def test_a_broken_file_fails_cleanly_with_its_file_and_line(pytester: pytest.Pytester) -> None:
    result = run_in_subdirectory(pytester, """
        import pytest

        @pytest.mark.emulator(scenarios="bad.yaml")
        def test_marker(responses_emulator):
            pass

        def test_load(responses_emulator):
            responses_emulator.load("bad.yaml")
    """, bad=BROKEN)  # fmt: skip
    result.assert_outcomes(failed=1, errors=1)
    output = result.stdout.str()
    where = f"{pytester.path / 'sub' / 'bad.yaml'}:3:"
    reports = output.split("short test summary info")[0]  # (under CI pytest repeats them in full there)
    assert reports.count(f"{where} /scenarios/0/reply/output/0/txt is not a known field here") == 2
    assert "the emulator's scenario files have problems:" in output
    for noise in ("emulator/scenarios/source.py", "emulator/app.py", "During handling", "kept the previous"):
        assert noise not in output, noise


def test_a_typo_in_the_fluent_api_gets_a_did_you_mean(responses_emulator: InProcessEmulator) -> None:
    with pytest.raises(
        TypeError, match=r"unknown condition 'input_contain'; did you mean 'input_contains'\?"
    ):
        responses_emulator.on(input_contain="weather")
    with pytest.raises(TypeError, match=r"did you mean 'tool_result'\?"):
        responses_emulator.assert_called(tool_results="get_weather")


def test_route_errors_point_at_the_routes_and_admin_paths_ask_for_the_key_first() -> None:
    client = TestClient(create_app(make_config()), base_url="http://127.0.0.1:8080")
    routes = "http://127.0.0.1:8080/openapi.json"
    for path in ("/no/such/route", "/v3/router/nothing", "/_emulator", "/_emulator/unknown"):
        assert client.get(path).status_code == (401 if path.startswith(("/_emulator", "/v3")) else 404), path
        found = client.get(path, headers=AUTH)
        assert found.status_code == 404, path
        assert_contract_error(found.json())
        assert found.json()["error"]["doc_url"] == routes, path
    for method, path in (
        ("PUT", "/v3/router/responses"),
        ("POST", "/health"),
        ("PATCH", "/_emulator/requests"),
    ):
        refused = client.request(method, path, headers=AUTH)
        assert refused.status_code == 405, (method, path)
        assert_contract_error(refused.json())
        assert refused.json()["error"]["doc_url"] == routes


def test_a_busy_port_says_how_to_pick_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "emulator", "serve", "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1
    assert f"could not listen on 127.0.0.1:{port}" in done.stderr
    assert "--port 0 for any free port, or RESPONSES_EMULATOR_PORT=8081" in done.stderr
    assert "Traceback" not in done.stderr
