"""Match conditions: each one either holds for a request or says why it does not.

The reasons are what `--strict-scenarios` reports for the closest scenarios when nothing
matches, so they name the field, what it held, and what the scenario wanted.
"""

from __future__ import annotations

import fnmatch
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from emulator.engine.backend import Call
from emulator.engine.items import content_text, last_user_message

Test = Callable[["RequestView"], str | None]  # None: the condition holds; else why it does not


AGENT_KEY = "_agent"  # the key an agent's run keeps its agent under (engine.service); never echoed


class RequestView:
    """The parts of a request that conditions look at, each worked out once, when first asked."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.request = call.request

    @cached_property
    def last_user_message(self) -> str:
        return last_user_message(self.call.input_items)

    @cached_property
    def any_input(self) -> str:
        texts = []
        for item in self.call.input_items:
            if item["type"] == "message":
                texts.append(content_text(item.get("content")))
            elif item["type"] == "function_call_output":
                texts.append(content_text(item.get("output")))
            elif item["type"] == "function_call":
                texts.append(item.get("arguments", ""))
        return "\n".join(texts)

    @cached_property
    def memory_entity_id(self) -> str | None:
        return (self.request.get("memory") or {}).get("entity_id")

    @property
    def memories(self) -> list[str]:
        """The bound entity's memories, oldest first (read afresh: a turn's memory tools change them)."""
        entity_id, world = self.memory_entity_id, self.call.world
        return [] if entity_id is None or world is None else world.memories.texts(entity_id)

    @cached_property
    def tool_names(self) -> set[str]:
        return {t.get("name") or t["type"] for t in self.request.get("tools", [])}

    @cached_property
    def tool_results(self) -> list[tuple[str | None, str]]:
        """(name of the function called, output) of each function_call_output in the input."""
        names = dict(self.call.history.calls)
        names.update((i["call_id"], i["name"]) for i in self.call.input_items if i["type"] == "function_call")
        return [
            (names.get(i["call_id"]), content_text(i.get("output")))
            for i in self.call.input_items
            if i["type"] == "function_call_output"
        ]


@dataclass(frozen=True)
class TextMatch:
    mode: str  # equals | contains | regex | glob
    value: str
    ignore_case: bool = False

    @classmethod
    def of(cls, spec: str | dict[str, Any], plain: str) -> TextMatch:
        """From a scenario's spec: a plain string means `plain` mode."""
        if isinstance(spec, str):
            return cls(plain, spec)
        mode = next(m for m in ("equals", "contains", "regex", "glob") if m in spec)
        return cls(mode, spec[mode], bool(spec.get("ignore_case", False)))

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        flags = re.IGNORECASE if self.ignore_case else 0
        if self.mode == "regex":
            return re.compile(self.value, flags)
        if self.mode == "glob":
            return re.compile(fnmatch.translate(self.value), flags)
        return re.compile(re.escape(self.value), flags)

    def __call__(self, text: str) -> bool:
        if self.mode == "equals":
            return text == self.value if not self.ignore_case else text.lower() == self.value.lower()
        if self.mode == "contains":
            return self._regex.search(text) is not None
        if self.mode == "glob":
            return self._regex.match(text) is not None
        return self._regex.search(text) is not None

    def describe(self) -> str:
        verb = {"equals": "equal", "contains": "contain", "regex": "match the regex", "glob": "match"}[
            self.mode
        ]
        return f"{verb} {self.value!r}" + (" (ignoring case)" if self.ignore_case else "")


def _text(label: str, read: Callable[[RequestView], str], match: TextMatch) -> Test:
    def test(view: RequestView) -> str | None:
        text = read(view)
        if match(text):
            return None
        shown = text if len(text) <= 60 else text[:57] + "..."
        return f"{label} {shown!r} does not {match.describe()}"

    return test


def conditions(match: dict[str, Any]) -> list[Test]:
    """The tests of a scenario's `match` block; all must hold."""
    tests: list[Test] = []
    if "model" in match:
        tests.append(_text("model", lambda v: v.request["model"], TextMatch.of(match["model"], "glob")))
    for field, label in (("last_user_message", "the last user message"), ("any_input", "the input")):
        if field in match:
            tests.append(_text(label, operator.attrgetter(field), TextMatch.of(match[field], "contains")))
    if "instructions" in match:
        read_instructions: Callable[[RequestView], str] = lambda v: v.request.get("instructions") or ""  # noqa: E731
        tests.append(
            _text("instructions", read_instructions, TextMatch.of(match["instructions"], "contains"))
        )
    tests += [_offered(name) for name in match.get("tools", [])]
    for wanted in match.get("tool_results", []):
        tests.append(_tool_result(wanted))
    for key, value in match.get("metadata", {}).items():
        tests.append(_metadata(key, value))
    for header, spec in match.get("headers", {}).items():
        tests.append(_text(f"header {header}", _header(header.lower()), TextMatch.of(spec, "equals")))
    return tests + _state_conditions(match)


def _state_conditions(match: dict[str, Any]) -> list[Test]:
    """The tests on what the request continues or belongs to: thread, identity, memory, agent, turn."""
    tests: list[Test] = []
    for condition, field, key in _IDS:
        if condition in match:
            tests.append(_id_of(field, key, match[condition]))
    if "memories" in match:
        read_memories: Callable[[RequestView], str] = lambda v: "\n".join(v.memories)  # noqa: E731
        tests.append(_text("the memories", read_memories, TextMatch.of(match["memories"], "contains")))
    if "agent" in match:
        tests.append(_text("model", _agent_model, TextMatch("equals", f"agent/{match['agent']}")))
    if "turn" in match:
        tests.append(_turn(match["turn"]))
    return tests


def _header(name: str) -> Callable[[RequestView], str]:
    return lambda view: view.call.headers.get(name, "")


def _tool_result(wanted: dict[str, str]) -> Test:
    name, needle = wanted.get("name"), wanted.get("output_contains")

    def test(view: RequestView) -> str | None:
        for called, output in view.tool_results:
            if (name is None or called == name) and (needle is None or needle in output):
                return None
        what = " and ".join(
            part
            for part in (f"of {name!r}" if name else "", f"containing {needle!r}" if needle else "")
            if part
        )
        return f"no tool result {what} in the input"

    return test


def _metadata(key: str, value: str) -> Test:
    def test(view: RequestView) -> str | None:
        got = (view.request.get("metadata") or {}).get(key)
        return None if got == value else f"metadata {key!r} is {got!r}, not {value!r}"

    return test


# (match condition, the request's object, its key the condition compares)
_IDS = (
    ("thread_id", "thread", "id"),
    ("identity_id", "identity", "id"),
    ("memory_entity_id", "memory", "entity_id"),
)


def _id_of(field: str, key: str, wanted: str) -> Test:
    def test(view: RequestView) -> str | None:
        got = (view.request.get(field) or {}).get(key)
        return None if got == wanted else f"{field}.{key} is {got!r}, not {wanted!r}"

    return test


def _turn(spec: int | dict[str, int]) -> Test:
    low, high = (spec, spec) if isinstance(spec, int) else (spec.get("min", 0), spec.get("max"))

    def test(view: RequestView) -> str | None:
        turn = view.call.history.turns
        if turn >= low and (high is None or turn <= high):
            return None
        wanted = f"{low}" if low == high else f"{low} to {'any' if high is None else high}"
        return f"this is turn {turn} of its conversation, not {wanted}"

    return test


def _offered(name: str) -> Test:
    def test(view: RequestView) -> str | None:
        return None if name in view.tool_names else f"tool {name!r} is not offered"

    return test


def _agent_model(view: RequestView) -> str:
    """`agent/<key>` as the request named it (an agent's run names its own model: AGENT_KEY keeps it)."""
    agent = view.request.get(AGENT_KEY)
    return f"agent/{agent}" if agent is not None else str(view.request["model"])
