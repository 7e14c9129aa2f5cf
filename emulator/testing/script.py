"""The fluent scripting API: scenarios written as calls that read like a test's intent.

    emu.on(input_contains="weather").call_tool("get_weather", city="Paris").then_reply("Sunny")
    emu.model("openai/gpt-4o").fails(503, times=2)

Each call adds to one scenario document (the same data a scenario file holds, see
scenarios/README.md), which the emulator loads at once: a mistake raises there, in the test,
naming the call. Scripted reactions are tried before any scenario file, in the order declared.

A reaction is a sequence of steps. `reply`, `refuse`, `http_error`... answer the reaction's next
matching request in turn (the last one repeats). `call_tool` ends a step with a function call;
the steps after it answer the request that carries that tool's result (a `tool_results` match),
whichever way the client sends it back (`previous_response_id` or the whole conversation again).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.scenarios.files import SourceFile

# Scripted reactions come before every scenario file's (whose priorities are small numbers); a
# step after a tool call comes before the step that made it.
SCRIPTED_PRIORITY = 1_000_000

# on(...) and assert_called(...) keyword -> the scenario `match` field it sets.
MATCH_KEYWORDS = {
    "input_contains": "any_input",
    "message": "last_user_message",
    "model": "model",
    "instructions": "instructions",
    "tools": "tools",
    "tool_result": "tool_results",
    "metadata": "metadata",
    "headers": "headers",
    "thread_id": "thread_id",
    "identity_id": "identity_id",
    "agent": "agent",
    "turn": "turn",
    "memory_entity_id": "memory_entity_id",
    "memories": "memories",
}


def match_spec(conditions: dict[str, Any]) -> dict[str, Any]:
    """A scenario `match` block from on()/assert_called() keywords; `match=` passes one as is."""
    __tracebackhide__ = True  # a typo is the test's: pytest points at its line
    spec: dict[str, Any] = dict(conditions.pop("match", None) or {})
    for keyword, value in conditions.items():
        field = MATCH_KEYWORDS.get(keyword)
        if field is None:
            known = [*MATCH_KEYWORDS, "match"]
            close = difflib.get_close_matches(keyword, known, n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            raise TypeError(f"unknown condition {keyword!r}; {guess}the conditions are: {', '.join(known)}")
        if field == "tools" and isinstance(value, str):
            value = [value]
        elif field == "tool_results":
            value = [{"name": value} if isinstance(value, str) else value]
        spec[field] = value
    return spec


def _calling_frame() -> Any:
    """The first frame outside this package: where the test wrote the call."""
    frame = sys._getframe(1)
    here = str(Path(__file__).parent)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(here):
        frame = frame.f_back
    return frame


def calling_file() -> Path:
    """The absolute path of the file that made the call (the test file)."""
    return Path(_calling_frame().f_code.co_filename).resolve()


def caller() -> tuple[str, int]:
    """The file (relative to the working directory when under it) and line of the first frame
    outside this package: where the test wrote the call."""
    frame = _calling_frame()
    path = frame.f_code.co_filename
    with contextlib.suppress(ValueError):  # on another drive
        path = os.path.relpath(path)
    return (path if not path.startswith("..") else frame.f_code.co_filename), frame.f_lineno


def slug(text: str) -> str:
    """A scenario name from free text: lower-case letters, digits, '.', '_' and '-'."""
    return re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-")[:60] or "on"


class Reaction:
    """What the model does for the requests that match: built step by step, each returning self."""

    def __init__(self, name: str, match: dict[str, Any], changed: Callable[[], None]) -> None:
        self.name = name
        self.written_at = caller()
        self._changed = changed
        # Stages: (match, steps); a call_tool step opens the next stage.
        self._stages: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [(match, [])]

    def reply(self, text: str | dict[str, Any], *, times: int = 1, **turn: Any) -> Reaction:
        """Answers with this text (or any scenario `text` form: {template: ...}, {faker: ...},
        {json: ...}, {from_schema: true}); `turn` takes the other turn fields (usage, timing...)."""
        return self.step({"output": [{"text": text}], **turn}, times)

    then_reply = reply

    def refuse(self, refusal: str, *, times: int = 1) -> Reaction:
        return self.step({"output": [{"refusal": refusal}]}, times)

    def call_tool(self, name: str, arguments: dict[str, Any] | None = None, /, **kwargs: Any) -> Reaction:
        """Calls the function `name` with these arguments (a dict, or keywords); the steps after
        this one answer the request that brings its result back."""
        self.step(
            {"output": [{"function_call": {"name": name, "arguments": {**(arguments or {}), **kwargs}}}]}
        )
        self._stages.append(({"tool_results": [{"name": name}]}, []))
        return self

    def remember(
        self, text: str | dict[str, Any], *, reply: str | dict[str, Any] | None = None,
        store: str | None = None, times: int = 1,
    ) -> Reaction:  # fmt: skip
        """Writes `text` (any scenario `text` form) to the request's memory entity with the memory
        tool, then replies `reply` if given."""
        return self._memory({"write": text}, reply, store, times)

    def recall(
        self, query: str | dict[str, Any], *, reply: str | dict[str, Any] | None = None,
        store: str | None = None, limit: int | None = None, times: int = 1,
    ) -> Reaction:  # fmt: skip
        """Queries the request's memory entity with the memory tool (its item lists what it
        found), then replies `reply` if given (a {template: ...} reads `memories`)."""
        return self._memory({"query": query, **({"limit": limit} if limit else {})}, reply, store, times)

    def _memory(self, tool: dict[str, Any], reply: Any, store: str | None, times: int) -> Reaction:
        output: list[dict[str, Any]] = [{"memory": {**tool, **({"store": store} if store else {})}}]
        if reply is not None:
            output.append({"text": reply})
        return self.step({"output": output}, times)

    def http_error(
        self,
        status: int,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        times: int = 1,
    ) -> Reaction:
        """Answers with an HTTP error (a 4xx or 5xx in orq's error envelope); `retry_after`
        (seconds) and `should_retry` set the Retry-After, retry-after-ms and x-should-retry headers
        clients read (x-should-retry: true by default for 408, 409, 429 and 5xx)."""
        error: dict[str, Any] = {"status": status}
        if message is not None:
            error["message"] = message
        if retry_after is not None:
            error["retry_after"] = retry_after
        if should_retry is not None:
            error["should_retry"] = should_retry
        return self.step({"http_error": error}, times)

    def fail(self, message: str, *, code: str = "server_error", text: str | None = None) -> Reaction:
        """A response that fails (status failed, streamed as an error event), after `text` if given."""
        output = [{"text": text}] if text is not None else []
        return self.step({"output": output, "status": "failed", "error": {"code": code, "message": message}})

    def step(self, turn: dict[str, Any], times: int = 1) -> Reaction:
        """Any scenario turn, as a scenario file would write it (see scenarios/README.md)."""
        self._stages[-1][1].append({**turn, "times": times} if times != 1 else dict(turn))
        self._changed()
        return self

    def document(self, order: int) -> SourceFile:
        """This reaction as a scenario document, located where the test wrote it (stages with
        no step yet are left out)."""
        scenarios = []
        for depth, (match, steps) in enumerate(self._stages):
            if steps:
                tool = match["tool_results"][0]["name"] if depth else ""
                name = self.name if depth == 0 else f"{self.name}.after-{tool}"
                priority = SCRIPTED_PRIORITY - order * 100 + depth
                scenarios.append({"name": name, "priority": priority, "match": match, "turns": steps})
        path, line = self.written_at
        return SourceFile(path, {"scenarios": scenarios}, {"/scenarios": line})


class ModelScript:
    """A model in the catalogue: how it fails, paces, and what it supports."""

    def __init__(self, pattern: str, changed: Callable[[], None]) -> None:
        self.spec: dict[str, Any] = {"name": pattern}
        self.written_at = caller()
        self._changed = changed

    def fails(self, *statuses: int, times: int = 1) -> ModelScript:
        """Its next calls fail with these statuses (each repeated `times`), then it answers; the
        gateway simulation retries and falls back as the request's `retry` and `fallbacks` say."""
        failures = [status for status in statuses for _ in range(times)]
        self.spec["failures"] = [*self.spec.get("failures", [])[:-1], *failures, "ok"]
        return self._set()

    def fault(self, *faults: str) -> ModelScript:
        """Faults on demand, as X-Emulator-Fail writes them after `<glob>=`: `503`, `503*2`,
        `latency:800ms`, `stream:truncate@5`, `stream:stall@3:2s`... (emulator.engine.faults)."""
        self.spec["faults"] = [*self.spec.get("faults", []), *faults]
        return self._set()

    def timing(self, spec: str | dict[str, Any]) -> ModelScript:
        """Its pacing: a profile or spec as for --timing ("realistic,ttft_ms=800") or an object."""
        self.spec["timing"] = spec
        return self._set()

    def without_tools(self) -> ModelScript:
        """A request offering it tools gets a 400 naming /tools."""
        self.spec["tools"] = False
        return self._set()

    def without_reasoning(self) -> ModelScript:
        """Requests asking it to reason get no reasoning."""
        self.spec["reasoning"] = False
        return self._set()

    def _set(self) -> ModelScript:
        self._changed()
        return self


class Script:
    """Everything scripted through one emulator, as one scenario document."""

    def __init__(self, apply: Callable[[dict[str, SourceFile]], None]) -> None:
        self._apply = apply
        self._reactions: list[Reaction] = []
        self._models: list[ModelScript] = []

    def on(self, *, name: str | None = None, **conditions: Any) -> Reaction:
        __tracebackhide__ = True
        match = match_spec(conditions)
        if name is None:
            name = slug("on-" + "-".join(f"{k}-{v}" for k, v in conditions.items()))
            taken = {r.name for r in self._reactions}
            name = next(
                n for n in (name, *(f"{name}-{i}" for i in range(2, len(taken) + 3))) if n not in taken
            )
        reaction = Reaction(name, match, self._changed)
        self._reactions.append(reaction)
        return reaction

    def model(self, pattern: str) -> ModelScript:
        script = ModelScript(pattern, self._changed)
        self._models.append(script)
        return script

    def documents(self) -> dict[str, SourceFile]:
        """A scenario document per reaction and per model, keyed in declaration order."""
        documents = {f"scripted reaction {n}": r.document(n) for n, r in enumerate(self._reactions)}
        for n, model in enumerate(self._models):
            path, line = model.written_at
            documents[f"scripted model {n}"] = SourceFile(path, {"models": [model.spec]}, {"/models": line})
        return documents

    def clear(self) -> None:
        self._reactions.clear()
        self._models.clear()

    def _changed(self) -> None:
        self._apply(self.documents())
