"""The pytest plugin (entry point `pytest11`): an emulator per test, scripted and inspected.

    def test_weather(responses_emulator):
        responses_emulator.on(input_contains="weather").reply("Sunny")
        client = responses_emulator.openai_client()
        assert client.responses.create(model="openai/gpt-4o", input="weather?").output_text == "Sunny"

Fixtures: `responses_emulator` (in-process, no socket), `responses_emulator_server` (real
uvicorn on a free port, one server per test session and xdist worker, a fresh app per test),
`responses_emulator_session_server` (one app for the whole session), and
`responses_emulator_config` (the settings; override it to change them everywhere).
Settings come from `@pytest.mark.emulator(...)`, then `--emulator-scenarios` / `--emulator-seed`
(or the ini keys `emulator_scenarios` / `emulator_seed`), then the test defaults: the clock
frozen at 2026-01-01T00:00:00Z, instant timing, no file watching. When a test fails, its
report gets a section with every request the emulator received and the near misses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from emulator.app import EmulatorApp, create_app
from emulator.clock import FrozenClock
from emulator.config import Config
from emulator.scenarios.files import BUILTIN
from emulator.scenarios.source import ScenarioFilesInvalid
from emulator.testing.handle import Emulator, InProcessEmulator, ServedEmulator
from emulator.testing.server import EmulatorServer

FROZEN_AT = FrozenClock().now()  # 2026-01-01T00:00:00Z
HANDLES = ("responses_emulator", "responses_emulator_server", "responses_emulator_session_server")
MARKER = (
    "emulator(scenarios=None, seed=None, strict=False, **settings): settings of this test's "
    "responses emulator: scenario files or directories (relative to the test file; 'builtin' is "
    "the shipped library), the seed, strict (unknown request fields and unmatched requests are "
    f"400s), and any other setting: {', '.join(f.name for f in fields(Config))}"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("responses-emulator")
    group.addoption(
        "--emulator-scenarios",
        action="append",
        metavar="PATH",
        help="scenario files or directories every emulator fixture loads (repeatable; 'builtin': "
        "the shipped library); a test's emulator marker replaces them",
    )
    group.addoption("--emulator-seed", type=int, metavar="N", help="the emulator fixtures' seed (default 0)")
    group.addoption(
        "--emulator-contract-strict",
        action="store_true",
        help="fail the session when a client sent an emulator fixture a request the contract refuses "
        "(the contract report of each such test is printed at the end)",
    )
    # mypy 1.19 takes the `type` argument's string for a type form it cannot read; it is pytest's ini type.
    parser.addini("emulator_scenarios", "scenario paths the emulator fixtures load", type="args", default=[])  # type: ignore[maybe-unrecognized-str-typeform]
    parser.addini("emulator_seed", "the emulator fixtures' seed", default="0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def base_config(pytestconfig: pytest.Config) -> Config:
    """The settings from the command line and ini file, before any marker."""
    scenarios = [
        p for given in (pytestconfig.getoption("emulator_scenarios") or []) for p in given.split(",") if p
    ] or [
        str(Path(pytestconfig.rootpath, p)) if p != BUILTIN else p
        for p in pytestconfig.getini("emulator_scenarios")
    ]
    seed = pytestconfig.getoption("emulator_seed")
    return Config(
        frozen_time=FROZEN_AT,
        reload=False,
        seed=int(pytestconfig.getini("emulator_seed")) if seed is None else seed,
        scenarios=tuple(scenarios),
    )


def marked_config(base: Config, marker: pytest.Mark | None, test_file: Path) -> Config:
    """`base` with the settings of an emulator marker."""
    if marker is None:
        return base
    if marker.args:
        raise pytest.UsageError("@pytest.mark.emulator takes keyword arguments only")
    settings = dict(marker.kwargs)
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.emulator: unknown setting(s) {', '.join(unknown)}; "
            f"settings: {', '.join(sorted(known))}"
        )
    if "scenarios" in settings:
        given = settings["scenarios"]
        paths = [given] if isinstance(given, str | Path) else list(given or [])
        settings["scenarios"] = tuple(_beside(test_file, p) for p in paths)
    if settings.get("strict"):
        settings.setdefault("strict_scenarios", True)
    return replace(base, **settings)


def _beside(test_file: Path, path: str | Path) -> str:
    if str(path) == BUILTIN or Path(path).is_absolute():
        return str(path)
    return str(test_file.parent / path)


def _app(config: Config) -> EmulatorApp:
    """The app for a fixture; scenario files with problems fail the test with their file:line
    messages alone (no traceback of the emulator's insides)."""
    try:
        return create_app(config)
    except ScenarioFilesInvalid as exc:
        problems = str(exc)
    pytest.fail(f"the emulator's scenario files have problems:\n{problems}", pytrace=False)


@pytest.fixture
def responses_emulator_config(request: pytest.FixtureRequest, pytestconfig: pytest.Config) -> Config:
    """This test's emulator settings (options, ini, then its emulator marker)."""
    return marked_config(base_config(pytestconfig), request.node.get_closest_marker("emulator"), request.path)


BROKEN = pytest.StashKey[list[tuple[str, str]]]()  # (test, contract report) of each broken contract


def _check_contract(request: pytest.FixtureRequest, emulator: Emulator) -> None:
    """Under --emulator-contract-strict, notes a test whose clients broke the contract."""
    report = emulator.app.contract_report
    if request.config.getoption("emulator_contract_strict") and report.broken:
        request.config.stash.setdefault(BROKEN, []).append((request.node.nodeid, report.summary()))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    broken = config.stash.get(BROKEN, [])
    if broken:
        terminalreporter.section("responses-emulator: clients broke the contract")
        for test, summary in broken:
            terminalreporter.write_line(f"{test}:")
            terminalreporter.write_line(summary)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash.get(BROKEN, []) and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def responses_emulator(
    request: pytest.FixtureRequest, responses_emulator_config: Config
) -> Iterator[InProcessEmulator]:
    """A fresh emulator in this process, reached through ASGI (no port)."""
    with closing(InProcessEmulator(_app(responses_emulator_config))) as emulator:
        yield emulator
        _check_contract(request, emulator)


@pytest.fixture(scope="session")
def _responses_emulator_uvicorn(pytestconfig: pytest.Config) -> Iterator[EmulatorServer]:
    """One uvicorn server for this session (each xdist worker is a session of its own)."""
    with EmulatorServer(_app(base_config(pytestconfig))) as server:
        yield server


@pytest.fixture
def responses_emulator_server(
    request: pytest.FixtureRequest,
    _responses_emulator_uvicorn: EmulatorServer,
    responses_emulator_config: Config,
) -> Iterator[ServedEmulator]:
    """A fresh emulator on a real port: this session's server, serving a new app for this test."""
    app = _app(responses_emulator_config)
    _responses_emulator_uvicorn.serve_app(app)
    with closing(ServedEmulator(app, _responses_emulator_uvicorn)) as emulator:
        yield emulator
        _check_contract(request, emulator)


@pytest.fixture(scope="session")
def responses_emulator_session_server(pytestconfig: pytest.Config) -> Iterator[ServedEmulator]:
    """One emulator on a real port for the whole session (settings from options and ini only):
    for session-wide fixtures such as a dev server pointed at it. Tests share its scenarios and
    journal; `reset()` forgets the requests and sequence counts."""
    config = base_config(pytestconfig)
    _app(config)  # scenario problems fail cleanly here, before a server starts
    with ServedEmulator.running(config) as emulator:
        yield emulator


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and call.when == "call":
        funcargs: dict[str, Any] = getattr(item, "funcargs", {})
        for name in HANDLES:
            emulator = funcargs.get(name)
            if isinstance(emulator, Emulator):
                report.sections.append((f"{name}: requests received", emulator.report()))
    return report
