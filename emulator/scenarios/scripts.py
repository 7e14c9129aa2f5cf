"""A scenario turn, compiled once at load, rendered per request into the planner's Turn.

Text comes from a literal, a Jinja template (sandboxed: templates are data, never code), a seeded
Faker generator, literal JSON, or JSON generated from the request's json_schema format. Each
generated piece draws from a random stream derived from the request's digest and the piece's
place in the script, so the same request always gets the same words.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2
import jsonschema
from faker import Faker
from jinja2.sandbox import SandboxedEnvironment

from emulator.contract import schemas
from emulator.contract.echo import redact_variables
from emulator.contract.errors import ApiError, code_for, response_error
from emulator.engine import jsongen, platform_tools, tokens
from emulator.engine.answers import Composer
from emulator.engine.backend import Call, Turn
from emulator.engine.faults import parse_fault
from emulator.engine.gateway import RETRY_AFTER, failure_headers
from emulator.engine.items import (
    ItemPlan,
    function_call_plan,
    message_plan,
    platform_tool_plan,
    reasoning_plan,
)
from emulator.engine.textgen import TextGenerator
from emulator.engine.timing import PROFILES, Timing, parse_timing_setting
from emulator.scenarios.files import SourceFile
from emulator.scenarios.matching import RequestView
from emulator.state.memories import DEFAULT_STORE

TextSource = Callable[["Context"], str]

_environment = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
# Checks that a script's Faker generators exist when it is loaded; never used for output: each
# scenario backend renders with a Faker of its own (two apps may run in two threads of a process).
_checking_faker = Faker("en_US")
_COMPOSER = Composer(TextGenerator())


class ScriptProblem(Exception):
    """A problem in a script found while compiling it: where (pointer) and what."""

    def __init__(self, at: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.at, self.message, self.hint = at, message, hint


class Context:
    """What a script's text sources may read of the request being answered."""

    def __init__(self, view: RequestView, scenario: str, faker: Faker) -> None:
        self.view = view
        self.scenario = scenario
        self._faker = faker  # the backend's own, seeded afresh for each place

    def faker(self, place: str) -> Faker:
        """The backend's Faker, seeded for one place in the script (like `rng`)."""
        self._faker.seed_instance(self.rng(place).getrandbits(64))
        return self._faker

    def rng(self, place: str) -> random.Random:
        """A random source for one place in the script, fixed by the request and the place."""
        return random.Random(hashlib.sha256(self.view.call.digest + place.encode()).digest())

    def template_values(self, place: str) -> dict[str, Any]:
        request = self.view.request
        variables = redact_variables(request.get("variables") or {})
        faker = self.faker(place)
        return {
            "request": {**request, "variables": variables} if "variables" in request else request,
            "model": request["model"],
            "metadata": request.get("metadata") or {},
            "variables": {k: v["value"] if isinstance(v, dict) else v for k, v in variables.items()},
            "last_user_message": self.view.last_user_message,
            "input": self.view.any_input,
            "tool_results": [{"name": n, "output": o} for n, o in self.view.tool_results],
            "turn": self.view.call.history.turns,
            "memory": request.get("memory") or {},
            "memories": self.view.memories,
            "faker": faker,
        }


def text_source(spec: Any, at: str) -> TextSource:
    """Compiles one `Text` of the scenario schema; raises ScriptProblem for what cannot work."""
    if isinstance(spec, str):
        return lambda context: spec
    if "template" in spec:
        try:
            template = _environment.from_string(spec["template"])
        except jinja2.TemplateSyntaxError as exc:
            raise ScriptProblem(
                f"{at}/template", f"template error on its line {exc.lineno}: {exc.message}"
            ) from None
        return lambda context: _render(template, context, at)
    if "faker" in spec:
        return _faker_source(spec, at)
    if "json" in spec:
        text = json.dumps(spec["json"])
        return lambda context: text
    if "shape" in spec:
        return _shaped_source(spec["shape"], at)
    if spec["from_schema"] is not True:
        own = checked_schema(spec["from_schema"], f"{at}/from_schema")
        return lambda context: json.dumps(jsongen.generate(own, context.rng(at)))

    def from_schema(context: Context) -> str:
        text_format = (context.view.request.get("text") or {}).get("format") or {}
        schema = text_format.get("schema") if text_format.get("type") == "json_schema" else {"type": "object"}
        return json.dumps(jsongen.generate(schema or {"type": "object"}, context.rng(at)))

    return from_schema


def _faker_source(spec: dict[str, Any], at: str) -> TextSource:
    """A seeded Faker generator, checked (it exists, it takes these args) when the file loads."""
    method, args = spec["faker"], spec.get("args", {})
    if not callable(getattr(_checking_faker, method, None)):
        raise ScriptProblem(
            f"{at}/faker",
            f"Faker has no generator {method!r}",
            "try sentence, paragraph, name, city, word",
        )
    try:
        getattr(_checking_faker, method)(**args)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ScriptProblem(f"{at}/args", f"Faker's {method} does not take these args: {exc}") from None

    def fake(context: Context) -> str:
        value = getattr(context.faker(at), method)(**args)
        return "\n\n".join(map(str, value)) if isinstance(value, list | tuple) else str(value)

    return fake


def _shaped_source(shape: str, at: str) -> TextSource:
    """An answer of this shape (emulator.engine.answers), from the request's stream at `at`."""

    def shaped(context: Context) -> str:
        digest = context.view.call.digest
        stream = hashlib.shake_128(digest + at.encode()).digest(len(digest))
        return "".join(_COMPOSER.answer(stream, context.view.last_user_message, shape))

    return shaped


def checked_schema(schema: dict[str, Any], at: str) -> dict[str, Any]:
    """A JSON Schema written in a scenario file, once it is known to be one that values can meet;
    ScriptProblem at its exact place otherwise."""
    try:
        jsongen.generate(schema, random.Random(0))
    except jsonschema.SchemaError as exc:
        where = at + "".join(f"/{p}" for p in exc.absolute_path)
        raise ScriptProblem(where, f"not a valid JSON Schema: {exc.message}") from None
    except jsongen.Unsatisfiable as exc:
        raise ScriptProblem(at, f"{exc} (keyword `{exc.keyword}`)", "loosen that keyword") from None
    return schema


def _render(template: jinja2.Template, context: Context, at: str) -> str:
    try:
        return template.render(context.template_values(at))
    except jinja2.TemplateError as exc:
        raise ApiError(
            500, "scenario_error", f"Scenario '{context.scenario}': the template at {at} failed: {exc}."
        ) from None


class TurnScript:
    """One compiled turn of a scenario."""

    def __init__(self, spec: dict[str, Any], at: str, source: SourceFile, tools: list[str] | None) -> None:
        self.at, self.where = at, source.where(at)
        self.spec = spec
        self.elements = [
            self._element(e, f"{at}/output/{n}", tools) for n, e in enumerate(spec.get("output", []))
        ]
        self.timing_spec = spec.get("timing")
        if self.timing_spec is not None:
            self.timing_of(PROFILES["instant"], at=f"{at}/timing")  # raises ScriptProblem if it cannot parse
        self.times = spec.get("times", 1)
        self._check_status(at)

    def _check_status(self, at: str) -> None:
        spec, status = self.spec, self.spec.get("status", "completed")
        if "http_error" in spec and ("output" in spec or "status" in spec):
            raise ScriptProblem(
                f"{at}/http_error", "a turn that answers an HTTP error has no output or status"
            )
        if status == "failed" and "error" not in spec:
            raise ScriptProblem(
                f"{at}/status",
                "a failed turn needs an error",
                "add error: {code: server_error, message: ...}",
            )
        if "error" in spec and status != "failed":
            raise ScriptProblem(f"{at}/error", "only a failed turn has an error", "add status: failed")
        if "incomplete_reason" in spec and status != "incomplete":
            raise ScriptProblem(f"{at}/incomplete_reason", "only an incomplete turn has an incomplete_reason")
        code = spec.get("error", {}).get("code", "server_error")
        if code not in RESPONSE_ERROR_CODES:
            raise ScriptProblem(
                f"{at}/error/code", f"{code!r} is not a response error code",
                f"use one of {', '.join(sorted(RESPONSE_ERROR_CODES)[:6])}, ...",
            )  # fmt: skip
        if "output" not in spec and "http_error" not in spec and status != "failed":
            raise ScriptProblem(at, "a turn needs an output, an http_error, or status: failed")

    def _element(self, element: dict[str, Any], at: str, tools: list[str] | None) -> Element:
        kinds = ("text", "refusal", "function_call", "reasoning", "tool_result", "memory")
        kind = next(k for k in kinds if k in element)
        if kind in ("text", "refusal"):
            source = text_source(element[kind], f"{at}/{kind}")
            annotations = [{"type": "url_citation", "title": "", **a} for a in element.get("annotations", [])]
            if annotations and kind == "refusal":
                raise ScriptProblem(f"{at}/annotations", "only text can have annotations")
            part_type = "output_text" if kind == "text" else "refusal"
            # each answer gets its own copies of the annotations
            return lambda context: MessagePart(part_type, source(context), [dict(a) for a in annotations])
        if kind == "function_call":
            call = element["function_call"]
            name = call["name"]
            if tools is not None and name not in tools:
                raise ScriptProblem(
                    f"{at}/function_call/name",
                    f"function {name!r} is not among the tools this scenario matches",
                    f"add {name!r} to match.tools, or call one of {tools}",
                )  # fmt: skip
            if call.get("generate") and "arguments" in call:
                raise ScriptProblem(f"{at}/function_call", "give arguments or generate: true, not both")
            if isinstance(call.get("generate"), dict):
                checked_schema(call["generate"], f"{at}/function_call/generate")
            elif call.get("generate") and tools is None:
                raise ScriptProblem(
                    f"{at}/function_call/generate", "generated arguments need the tool's schema",
                    f"add match.tools: [{name}] so the request offers it",
                )  # fmt: skip
            return lambda context: FunctionCall(name, self._arguments(call, context, at))
        if kind == "reasoning":
            parts = element["reasoning"]
            content = text_source(parts["content"], f"{at}/reasoning/content") if "content" in parts else None
            summary = text_source(parts["summary"], f"{at}/reasoning/summary") if "summary" in parts else None
            return lambda context: Reasoning(
                content(context) if content else None, summary(context) if summary else None
            )
        if kind == "memory":
            return _memory_tool(element["memory"], f"{at}/memory")
        spec = element["tool_result"]
        return lambda context: ToolResult(spec, context.view.call)

    @staticmethod
    def _arguments(call: dict[str, Any], context: Context, at: str) -> str:
        if isinstance(call.get("generate"), dict):
            return json.dumps(jsongen.generate(call["generate"], context.rng(at)))
        if call.get("generate"):
            offered: dict[str, Any] = next(
                (t for t in context.view.request.get("tools", []) if t.get("name") == call["name"]), {}
            )
            schema = offered.get("parameters") or {"type": "object"}
            return json.dumps(jsongen.generate(schema, context.rng(at)))
        arguments = call.get("arguments", {})
        return arguments if isinstance(arguments, str) else json.dumps(arguments)

    def timing_of(self, base: Timing, at: str | None = None) -> Timing | None:
        if self.timing_spec is None:
            return None
        try:
            return parse_timing_setting(self.timing_spec, base)
        except ValueError as exc:
            raise ScriptProblem(at or f"{self.at}/timing", str(exc)) from None

    def render(self, view: RequestView, scenario: str, timing: Timing, faker: Faker) -> Turn:
        """This turn for one request (an http_error turn: the error it answers with)."""
        spec = self.spec
        if "http_error" in spec:
            return Turn([], scenario=scenario, http_error=_http_error(spec["http_error"], scenario))
        context = Context(view, scenario, faker)
        items: list[ItemPlan] = []
        message: list[tuple[str, list[str], list[dict[str, Any]]]] = []  # consecutive parts
        delays = [e.get("delay_ms", 0) / 1000 for e in spec.get("output", [])]
        message_delay = 0.0
        for element, delay in zip(self.elements, delays, strict=True):
            piece = element(context)
            if isinstance(piece, MessagePart):
                if not message:
                    message_delay = delay
                message.append((piece.type, tokens.tokenize(piece.text), piece.annotations))
                continue
            if message:
                items.append(message_plan(message, message_delay))
                message = []
            items.append(piece.plan(delay))
        if message:
            items.append(message_plan(message, message_delay))
        status = spec.get("status", "completed")
        error = None
        if status == "failed":
            error = response_error(spec["error"].get("code", "server_error"), spec["error"]["message"])
        return Turn(
            items,
            status=status,
            incomplete_reason=spec.get("incomplete_reason"),
            error=error,
            usage=spec.get("usage"),
            timing=self.timing_of(timing),
            scenario=scenario,
            stream_fault=parse_fault(spec["fault"]).stream if "fault" in spec else None,
        )


@dataclass(frozen=True, slots=True)
class MessagePart:
    """Text or a refusal: consecutive parts make one assistant message."""

    type: str  # output_text | refusal
    text: str
    annotations: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class FunctionCall:
    name: str
    arguments: str  # JSON text

    def plan(self, delay: float) -> ItemPlan:
        return function_call_plan(self.name, tokens.tokenize(self.arguments), delay)


@dataclass(frozen=True, slots=True)
class Reasoning:
    content: str | None
    summary: str | None

    def plan(self, delay: float) -> ItemPlan:
        content, summary = self.content, self.summary
        return reasoning_plan(
            tokens.tokenize(content) if content is not None else None,
            tokens.tokenize(summary) if summary is not None else None,
            delay,
        )


@dataclass(frozen=True, slots=True)
class ToolResult:
    spec: dict[str, Any]  # {tool, arguments?, result?}, as the scenario wrote it
    call: Call  # the request answered: a tool without a scripted result runs for it

    def plan(self, delay: float) -> ItemPlan:
        spec = self.spec
        if "result" not in spec:
            plan = platform_tools.scripted(spec["tool"], spec.get("arguments"), self.call)
            plan.delay_before = delay
            return plan
        arguments = json.dumps(spec["arguments"]) if "arguments" in spec else None
        return platform_tool_plan(spec["tool"], arguments, spec["result"], delay)


@dataclass(frozen=True, slots=True)
class MemoryToolRun:
    """A memory tool run: the item it leaves (it has changed the memories already)."""

    tool: str
    arguments: dict[str, Any]
    result: Any

    def plan(self, delay: float) -> ItemPlan:
        return platform_tool_plan(self.tool, json.dumps(self.arguments), self.result, delay)


_MEMORY_TOOLS = {
    "write": "orq:write_memory_store",
    "query": "orq:query_memory_store",
    "delete": "orq:delete_memory_document",
}


def _memory_tool(spec: dict[str, Any], at: str) -> Element:
    """A scripted memory tool (emulator.state.memories), run on the request's memory entity when
    its turn is rendered, so what the turn says afterwards (its templates) reads the change."""
    action = next(a for a in _MEMORY_TOOLS if a in spec)
    source = text_source(spec[action], f"{at}/{action}")
    store, limit = spec.get("store"), spec.get("limit", 5)

    def run(context: Context) -> MemoryToolRun:
        view = context.view
        entity_id, world = view.memory_entity_id, view.call.world
        if entity_id is None or world is None:
            raise ApiError(
                400, "memory_entity_id_required",
                f"Scenario '{context.scenario}' uses memory tools ({at}): send memory: {{entity_id: ...}} "
                "with the request.", "/memory",
            )  # fmt: skip
        text, memories = source(context), world.memories
        arguments: dict[str, Any] = {"entity_id": entity_id}
        if store is not None or action == "write":
            arguments["memory_store_key"] = store or DEFAULT_STORE
        result: Any
        if action == "write":
            arguments["text"] = text
            written = memories.write(entity_id, text, store or DEFAULT_STORE, view.call.created_at)
            result = {"document": written.json()}
        elif action == "query":
            arguments |= {"query": text, "limit": limit}
            result = {"documents": [d.json() for d in memories.query(entity_id, text, store, limit)]}
        else:
            arguments["contains"] = text
            doomed = [
                d.id for d in memories.documents(entity_id)
                if text in d.text and (store is None or d.store == store)
            ]  # fmt: skip
            for document_id in doomed:
                memories.delete(entity_id, document_id)
            result = {"deleted": doomed}
        return MemoryToolRun(_MEMORY_TOOLS[action], arguments, result)

    return run


Piece = MessagePart | FunctionCall | Reasoning | ToolResult | MemoryToolRun
Element = Callable[[Context], Piece]  # a compiled output element: what it says for one request


def _http_error(spec: dict[str, Any], scenario: str) -> ApiError:
    status = spec["status"]
    headers = failure_headers(status, spec.get("retry_after", RETRY_AFTER))
    if "retry_after" in spec:
        headers["Retry-After"] = f"{spec['retry_after']:g}"
        headers["retry-after-ms"] = str(round(spec["retry_after"] * 1000))
    if "should_retry" in spec:
        headers["x-should-retry"] = "true" if spec["should_retry"] else "false"
    message = spec.get("message") or f"Scenario '{scenario}' answers HTTP {status}."
    return ApiError(status, spec.get("code", code_for(status)), message, headers=headers)


# The codes a failed response may carry: OpenAI's closed list, as schemas/response states it.
RESPONSE_ERROR_CODES = frozenset(
    schemas.load(schemas.RESPONSE)["properties"]["error"]["properties"]["code"]["enum"]
)
