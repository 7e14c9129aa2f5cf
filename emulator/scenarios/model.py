"""A loaded scenario set, as the scenario backend uses it (emulator.scenarios.loader builds it)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from emulator.contract.errors import ApiError
from emulator.engine.faults import NO_FAULTS, Faults
from emulator.engine.timing import Timing
from emulator.scenarios.matching import RequestView, Test
from emulator.scenarios.scripts import TurnScript
from emulator.state.memories import Seed


@dataclass
class Scenario:
    name: str
    where: str  # file:line, for messages
    priority: int
    tests: list[Test]
    turns: list[TurnScript]
    after: str = "repeat_last"

    def misses(self, view: RequestView) -> list[str]:
        return [why for test in self.tests if (why := test(view)) is not None]

    def turn_at(self, index: int) -> TurnScript | None:
        """The turn answering this scenario's `index`-th match (from 0); None lets the next
        scenario answer (after: fall_through)."""
        sequence = [turn for turn in self.turns for _ in range(turn.times)]
        if index < len(sequence):
            return sequence[index]
        match self.after:
            case "cycle":
                return sequence[index % len(sequence)]
            case "fall_through":
                return None
            case "fail":
                raise ApiError(
                    400, "no_scenario_matched",
                    f"Scenario '{self.name}' ({self.where}) has used all {len(sequence)} of its turns "
                    "and is set to fail after them (after: fail); reset it with POST /_emulator/reset.",
                )  # fmt: skip
        return sequence[-1]


@dataclass
class ModelProfile:
    pattern: str
    timing: Timing | None = None
    reasoning: bool = True
    tools: bool = True
    failures: list[int | str] = field(default_factory=list)  # read by the gateway simulation
    faults: Faults = NO_FAULTS  # its `faults`, for the gateway and the stream

    def covers(self, model: str) -> bool:
        return fnmatch.fnmatchcase(model, self.pattern)


@dataclass
class ScenarioSet:
    scenarios: list[Scenario] = field(default_factory=list)  # in matching order
    models: list[ModelProfile] = field(default_factory=list)
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by key, as the files give them
    memory_stores: dict[str, str] = field(default_factory=dict)  # key: description
    memories: list[Seed] = field(default_factory=list)  # the documents entities start with
    files: list[str] = field(default_factory=list)

    def named(self, name: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.name == name), None)

    def model(self, model: str) -> ModelProfile | None:
        return next((m for m in self.models if m.covers(model)), None)
