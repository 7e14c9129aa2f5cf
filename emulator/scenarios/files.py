"""Reading scenario files: safe YAML or JSON, every problem reported with its file and line.

Scenario files are data: YAML is read with the safe loader only (no tags that build objects),
and JSON with the standard parser. Alongside the data, every value's line is recorded (JSON
pointer -> line), so a problem found anywhere later can say where it is in the file.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import ValidationError

from emulator.contract import schemas
from emulator.contract.messages import failures, pointer

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


@dataclass(slots=True)
class SourceFile:
    path: str
    data: dict[str, Any]
    lines: dict[str, int]  # JSON pointer -> 1-based line

    def line(self, at: str) -> int | None:
        """The line of the value at pointer `at`, or of its nearest ancestor that has one."""
        while True:
            if at in self.lines:
                return self.lines[at]
            if not at:
                return None
            at = at.rsplit("/", 1)[0]

    def where(self, at: str) -> str:
        """`file:line` of the value at `at`; `name#pointer` for a document with no lines (in memory)."""
        line = self.line(at)
        return f"{self.path}:{line}" if line else f"{self.path}#{at}"

    def problem(self, at: str, message: str, hint: str | None = None) -> Problem:
        line = self.line(at)
        return Problem(self.path if line or not at else f"{self.path}#{at}", line, message, hint)


BUILTIN = "builtin"  # the shipped library (scenarios/), wherever the package is installed


def resolve(raw: str | Path) -> Path:
    """A scenario path as given; `builtin` is the shipped library."""
    return schemas.data_dir("scenarios") if str(raw) == BUILTIN else Path(raw)


def files_in(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The scenario files named: files as given, directories' files (recursively) in name order."""
    for raw in paths:
        path = resolve(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            yield path


def read(path: Path) -> tuple[SourceFile | None, list[Problem]]:
    """The file's data and line map, or the problems that stop it being read at all."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, None, f"cannot read the file: {exc}")]
    return parse(name, text, as_json=path.suffix == ".json")


def parse(name: str, text: str, *, as_json: bool = False) -> tuple[SourceFile | None, list[Problem]]:
    """A scenario document's text (YAML, safe loader only; or JSON), read and checked as a file's."""
    try:
        data = json.loads(text) if as_json else yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except json.JSONDecodeError as exc:
        return None, [Problem(name, exc.lineno, f"not valid JSON: {exc.msg}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        detail = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(name, mark.line + 1 if mark else None, f"not valid YAML: {detail}")]
    if data is None:
        return None, [Problem(name, None, "the file is empty", "start with 'scenarios:'")]
    lines: dict[str, int] = {}
    if node is not None:
        _map_lines(node, [], lines)
    return checked(SourceFile(name, data, lines))


def checked(source: SourceFile) -> tuple[SourceFile | None, list[Problem]]:
    """The source if its data is a valid scenario document, else the schema's problems with it."""
    errors = list(schemas.validator(schemas.SCENARIO).iter_errors(source.data))
    hints = _unknown_field_hints(errors)
    problems = [
        source.problem(f.param or "", _wording(f.message), hints.get(f.param or "")) for f in failures(errors)
    ]
    return (source if not problems else None), problems


def _unknown_field_hints(errors: list[ValidationError]) -> dict[str, str]:
    """For each unknown field, the known ones there, and the likeliest it was meant to be."""
    hints: dict[str, str] = {}
    pending = list(errors)
    while pending:
        error = pending.pop()
        pending += error.context or []
        if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
            continue
        known = sorted(error.schema.get("properties", {}) if isinstance(error.schema, dict) else ())
        for key in error.instance:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                guess = f"did you mean {close[0]!r}? " if close else ""
                hints[pointer([*error.absolute_path, key])] = f"{guess}fields here: {', '.join(known)}"
    return hints


def _wording(message: str) -> str:
    return message.replace("the request body", "the file")


def _map_lines(node: yaml.Node, path: list[Any], lines: dict[str, int]) -> None:
    lines[pointer(path)] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = [*path, key.value]
            lines[pointer(child)] = key.start_mark.line + 1
            _map_lines(value, child, lines)
            lines[pointer(child)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _map_lines(value, [*path, index], lines)
