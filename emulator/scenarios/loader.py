"""Loading scenario files into a ScenarioSet: every semantic rule checked, every problem located.

The schema catches shapes; this catches what only the whole set can show: duplicate names, regexes
and templates that do not compile, Faker generators that do not exist, scripts that call tools
their scenario never matches on, statuses without their error, timing specs that do not parse.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from emulator.engine.faults import NO_FAULTS, model_faults
from emulator.engine.timing import parse_timing_setting
from emulator.scenarios.files import Problem, SourceFile, checked, files_in, read
from emulator.scenarios.matching import conditions
from emulator.scenarios.model import ModelProfile, Scenario, ScenarioSet
from emulator.scenarios.scripts import ScriptProblem, TurnScript
from emulator.state.memories import Seed


def load(
    paths: Iterable[str | Path], documents: Iterable[SourceFile] = ()
) -> tuple[ScenarioSet, list[Problem]]:
    """Every scenario in the files and directories named, then in the in-memory `documents`
    (the data a file would hold, and where each part was written), and every problem found in
    them. The set is only meant to be used when there are no problems."""
    sources, problems = _sources(list(paths), documents)
    built = ScenarioSet(files=[s.path for s in sources])
    seen: dict[str, str] = {}
    order: list[tuple[int, int, Scenario]] = []
    for source in sources:
        for index, spec in enumerate(source.data.get("scenarios", [])):
            at = f"/scenarios/{index}"
            name = spec["name"]
            duplicate = name in seen
            if duplicate:
                message = f"scenario {name!r} is already defined at {seen[name]}"
                problems.append(
                    source.problem(f"{at}/name", message, "scenario names must be unique in a set")
                )
            else:
                seen[name] = source.where(at)
            try:
                scenario = _scenario(spec, at, source)  # a duplicate too, to report its own problems
            except ScriptProblem as problem:
                problems.append(source.problem(problem.at, problem.message, problem.hint))
                continue
            if not duplicate:
                order.append((-scenario.priority, len(order), scenario))
        problems += _agents_and_memories(source, built)
        for index, spec in enumerate(source.data.get("models", [])):
            try:
                built.models.append(_model(spec, f"/models/{index}"))
            except ScriptProblem as problem:
                problems.append(source.problem(problem.at, problem.message, problem.hint))
    built.scenarios = [scenario for _, _, scenario in sorted(order, key=lambda entry: entry[:2])]
    return built, problems


def _agents_and_memories(source: SourceFile, built: ScenarioSet) -> list[Problem]:
    """The file's agents and memory stores added to the set; a key defined twice is a problem."""
    problems = []
    for index, spec in enumerate(source.data.get("agents", [])):
        if spec["key"] in built.agents:
            problems.append(source.problem(f"/agents/{index}/key", f"agent {spec['key']!r} is defined twice"))
        built.agents[spec["key"]] = dict(spec)
    for index, spec in enumerate(source.data.get("memory_stores", [])):
        key = spec["key"]
        if key in built.memory_stores:
            said = f"memory store {key!r} is defined twice"
            problems.append(source.problem(f"/memory_stores/{index}/key", said))
        built.memory_stores[key] = spec.get("description", "")
        for entity_id, texts in spec.get("entities", {}).items():
            built.memories += [Seed(entity_id, key, text) for text in texts]
    return problems


def _sources(
    paths: list[str | Path], documents: Iterable[SourceFile]
) -> tuple[list[SourceFile], list[Problem]]:
    """The files under `paths`, then the documents, each read and checked against the schema."""
    sources: list[SourceFile] = []
    problems: list[Problem] = []
    found_any = False
    for path in files_in(paths):
        found_any = True
        if not path.exists():
            problems.append(Problem(str(path), None, "no such file or directory"))
            continue
        source, found = read(path)
        problems += found
        if source is not None:
            sources.append(source)
    if paths and not found_any:
        problems.append(
            Problem(", ".join(map(str, paths)), None, "no scenario files (*.yaml, *.yml, *.json) found")
        )
    for document in documents:
        source, found = checked(document)
        problems += found
        if source is not None:
            sources.append(source)
    return sources, problems


def _scenario(spec: dict[str, Any], at: str, source: SourceFile) -> Scenario:
    match = spec.get("match", {})
    _check_patterns(match, f"{at}/match")
    tools = match.get("tools")
    turns_spec = spec["turns"] if "turns" in spec else [spec["reply"]]
    turns_at = f"{at}/turns" if "turns" in spec else None
    turns = [
        TurnScript(turn, f"{turns_at}/{n}" if turns_at else f"{at}/reply", source, tools)
        for n, turn in enumerate(turns_spec)
    ]
    return Scenario(
        name=spec["name"],
        where=source.where(at),
        priority=spec.get("priority", 0),
        tests=conditions(match),
        turns=turns,
        after=spec.get("after", "repeat_last"),
    )


def _check_patterns(match: dict[str, Any], at: str) -> None:
    """Regexes compile; turn ranges are ranges."""
    specs = [
        (f"{at}/{k}", match[k])
        for k in ("model", "last_user_message", "any_input", "instructions")
        if k in match
    ]
    specs += [(f"{at}/headers/{h}", v) for h, v in match.get("headers", {}).items()]
    for where, spec in specs:
        if isinstance(spec, dict):
            if len([k for k in ("equals", "contains", "regex", "glob") if k in spec]) != 1:
                raise ScriptProblem(
                    where, "a text match takes exactly one of equals, contains, regex or glob"
                )
            if "regex" in spec:
                try:
                    re.compile(spec["regex"])
                except re.error as exc:
                    raise ScriptProblem(f"{where}/regex", f"the regex does not compile: {exc}") from None
    turn = match.get("turn")
    if isinstance(turn, dict) and turn.get("max", turn.get("min", 0)) < turn.get("min", 0):
        raise ScriptProblem(f"{at}/turn", "turn.max is below turn.min")


def _model(spec: dict[str, Any], at: str) -> ModelProfile:
    timing = None
    if "timing" in spec:
        try:
            timing = parse_timing_setting(spec["timing"])
        except ValueError as exc:
            raise ScriptProblem(f"{at}/timing", str(exc)) from None
    faults = NO_FAULTS
    for n, text in enumerate(spec.get("faults", [])):
        try:
            faults += model_faults(spec["name"], [text])
        except ValueError as exc:
            raise ScriptProblem(f"{at}/faults/{n}", str(exc)) from None
    return ModelProfile(
        spec["name"],
        timing,
        spec.get("reasoning", True),
        spec.get("tools", True),
        spec.get("failures", []),
        faults,
    )
