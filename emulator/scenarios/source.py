"""The loaded scenario set, and keeping it current while the server runs.

`load()` reads every file again; a set with problems is never used: the last good set keeps
serving and each problem is logged with its file and line. `watch()` reloads on every change
to the files or directories given (hot reload).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import watchfiles

from emulator.engine.backend import Backend
from emulator.scenarios import compile
from emulator.scenarios.backend import ScenarioBackend
from emulator.scenarios.files import SUFFIXES, Problem, SourceFile, resolve

log = logging.getLogger("emulator")


class ScenarioSource:
    def __init__(self, paths: Sequence[str], fallback: Backend, *, strict: bool = False) -> None:
        self.paths = [str(p) for p in paths]
        # Scenario documents given as data (by tests), by key; matched after the files'.
        self.documents: dict[str, SourceFile] = {}
        self.backend = ScenarioBackend(compile.ScenarioSet(), fallback, strict=strict)
        self.problems: list[Problem] = []  # of the last load; empty when it succeeded

    def load(self) -> list[Problem]:
        """Reads the files again; uses the new set only if it has no problems."""
        built, problems = compile.load(self.paths, self.documents.values())
        self.problems = problems
        if problems:
            for problem in problems:
                log.error("scenario problem: %s", problem)
            log.error(
                "kept the previous %d scenario(s); fix the files to load them",
                len(self.backend.scenarios.scenarios),
            )
            return problems
        self.backend.scenarios = built
        self.backend.counters.reset()
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

    def failures(self, model: str) -> list[int | str]:
        """The model's failure profile in the models catalogue ([]: it always answers)."""
        profile = self.backend.scenarios.model(model)
        return profile.failures if profile is not None else []

    async def watch(self) -> None:
        """Reloads whenever a scenario file under the paths changes; runs until cancelled."""
        watched = [str(path) for path in map(resolve, self.paths) if path.exists()]
        if not watched:
            return

        def scenario_file(change: watchfiles.Change, path: str) -> bool:
            return path.endswith(SUFFIXES)

        async for _ in watchfiles.awatch(*watched, watch_filter=scenario_file, debounce=200, step=50):
            self.load()


class ScenarioFilesInvalid(ValueError):
    """The scenario files a server was started with have problems; it cannot start on them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems
