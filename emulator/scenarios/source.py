"""The loaded scenario set, and keeping it current while the server runs.

`load()` reads every file again; a set with problems is never used: the last good set keeps
serving and each problem is logged with its file and line. `watch()` reloads on every change
to the files or directories given (hot reload).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import watchfiles

from emulator.engine.backend import Backend
from emulator.engine.faults import NO_FAULTS, Faults
from emulator.engine.timing import Timing
from emulator.scenarios.backend import Counters, ScenarioBackend
from emulator.scenarios.files import SUFFIXES, Problem, SourceFile, parse, resolve
from emulator.scenarios.loader import load
from emulator.scenarios.model import ScenarioSet

log = logging.getLogger("emulator")


class ScenarioSource:
    """The scenario layer of one app, built once, empty until files or scripted documents come.

    The service answers through it once it is `active`; until then it skips it (and the gateway
    simulation, which reads its models catalogue) at no cost.
    """

    def __init__(self, paths: Sequence[str], fallback: Backend, *, strict: bool = False) -> None:
        self.paths = [str(p) for p in paths]
        # Scenario documents given as data (by tests), by key; matched after the files'.
        self.documents: dict[str, SourceFile] = {}
        self.backend = ScenarioBackend(ScenarioSet(), fallback, strict=strict)
        self.problems: list[Problem] = []  # of the last load; empty when it succeeded
        self.loads = 0  # loads that succeeded (the dashboard shows a hot reload by it)
        self.on_load: Callable[[], None] | None = None  # told after each load that succeeded

    @property
    def active(self) -> bool:
        """It answers requests: files or documents were given, or unmatched requests are refused."""
        return bool(self.paths or self.documents) or self.backend.strict

    @property
    def loaded(self) -> ScenarioSet:
        """The set in use: the last load without problems."""
        return self.backend.scenarios

    @property
    def sequences(self) -> Counters:
        return self.backend.counters

    def reset(self, session: str | None = None) -> None:
        """Forgets how far every scenario's sequence (and each model's failures) has got: in every
        session, or in one."""
        self.backend.counters.reset(session)

    def load(self, *, reloading: bool = False) -> list[Problem]:
        """Reads the files again; uses the new set only if it has no problems. Problems are
        logged only on a reload (the watcher's): a first load or an `add` raises them instead."""
        built, problems = load(self.paths, self.documents.values())
        self.problems = problems
        if problems:
            if reloading:
                for problem in problems:
                    log.error("scenario problem: %s", problem)
                log.error(
                    "kept the previous %d scenario(s); fix the files to load them",
                    len(self.loaded.scenarios),
                )
            return problems
        self.backend.scenarios = built
        self.backend.counters.reset()
        self.loads += 1
        if self.on_load is not None:
            self.on_load()
        log.info("loaded %d scenario(s) from %d file(s)", len(built.scenarios), len(built.files))
        return []

    def add(self, *, paths: Sequence[str] = (), documents: Mapping[str, SourceFile] | None = None) -> None:
        """Adds files or documents to the set and loads it; raises ScenarioFilesInvalid (and
        keeps the set as it was) if that shows problems."""
        before = (list(self.paths), dict(self.documents))
        self.paths += [str(p) for p in paths]
        self.documents.update(documents or {})
        if problems := self.load():
            self.paths, self.documents = before
            self.problems = []
            raise ScenarioFilesInvalid(problems)

    def upload(self, name: str, text: str, *, as_json: bool = False) -> list[Problem]:
        """A scenario document's text added to the set under `name` (replacing one of that name);
        its problems, or the set's with it, instead (the set then stays as it was)."""
        source, problems = parse(f"upload:{name}", text, as_json=as_json)
        if source is None:
            return problems
        try:
            self.add(documents={name: source})
        except ScenarioFilesInvalid as invalid:
            return invalid.problems
        return []

    def remove(self, name: str) -> bool:
        """Takes the document `name` (uploaded, or given by a test) out of the set; False if none."""
        if self.documents.pop(name, None) is None:
            return False
        self.load()
        return True

    def failures(self, model: str) -> list[int | str]:
        """The model's failure profile in the models catalogue ([]: it always answers)."""
        profile = self.loaded.model(model)
        return profile.failures if profile is not None else []

    def faults(self, model: str) -> Faults:
        """The model's faults in the models catalogue."""
        profile = self.loaded.model(model)
        return profile.faults if profile is not None else NO_FAULTS

    @property
    def defines_agents(self) -> bool:
        return bool(self.loaded.agents)

    def agent(self, key: str) -> dict[str, Any] | None:
        """The agent `agent/<key>` names in the scenario files, if one is defined."""
        return self.loaded.agents.get(key)

    def timing(self, model: str) -> Timing | None:
        """The model's timing in the models catalogue (None: the server's)."""
        profile = self.loaded.model(model)
        return profile.timing if profile is not None else None

    async def watch(self) -> None:
        """Reloads whenever a scenario file under the paths changes; runs until cancelled."""
        watched = [str(path) for path in map(resolve, self.paths) if path.exists()]
        if not watched:
            return

        def scenario_file(change: watchfiles.Change, path: str) -> bool:
            return path.endswith(SUFFIXES)

        async for _ in watchfiles.awatch(*watched, watch_filter=scenario_file, debounce=200, step=50):
            self.load(reloading=True)


class ScenarioFilesInvalid(ValueError):
    """The scenario files a server was started with have problems; it cannot start on them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems
