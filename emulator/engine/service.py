"""The Responses service: the life of every request, whichever transport carries it.

A transport (the HTTP routes, which the pytest fixtures reach in process or on a port) parses,
authenticates and writes; everything between is here: validation, the gateway's retries
and fallbacks, the scenario layer or the default backend, the Plan, waiting on the clock, the
store, and replay. Nothing here knows ASGI, header bytes or status lines.

A response's life in the store: a paced response is stored in progress (GET shows the
`in_progress` snapshot) and replaced by its final form as its terminal event goes out, so GET
after `response.completed` returns exactly what that event carried. A stream whose client goes
away is stored as `incomplete`, reason `client_disconnected`, with the output the client was sent;
so is a JSON-mode response whose client leaves while it waits, with the output due by then. A
response cut off by the server shutting down is stored `failed`, as far as it got.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from emulator.clock import Clock
from emulator.contract.errors import ApiError, Failure, response_error
from emulator.contract.extensions import check_shape_header, check_timing_header, reasoning_events
from emulator.contract.validation import RequestValidator
from emulator.engine import jsongen, templates, tokens
from emulator.engine.backend import SESSION_HEADER, Backend, Scenarios, Turn
from emulator.engine.events import PlanEvent, numbered
from emulator.engine.gateway import Gateway, Route
from emulator.engine.items import ItemPlan
from emulator.engine.live_http import LiveHttp
from emulator.engine.plan import Plan, item_texts
from emulator.engine.planner import Planner
from emulator.engine.textgen import request_digest
from emulator.engine.timing import Timing, bounded, parse_timing
from emulator.state.journal import Miss
from emulator.state.responses import Conversation, ResponseStore, StoredResponse

Trace = tuple[str, str]  # (trace id, span id) of a response's telemetry


@dataclass(slots=True)
class RequestContext:
    """What a transport knows of a request besides its body."""

    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names: conditions read them
    timing: str | None = None  # a pacing spec over the server's (x-emulator-timing)
    reasoning_events: str | None = None  # orq | openai (x-emulator-reasoning-events); None: the server's
    shape: str | None = None  # the default backend's answer shape (x-emulator-shape)
    gone: Callable[[], Awaitable[None]] | None = None  # returns once the client has left, if it can tell

    @property
    def session(self) -> str:
        """The sequence namespace of scenarios and failure profiles (X-Emulator-Session)."""
        return self.headers.get(SESSION_HEADER, "")


class ClientLeft(Exception):
    """The client went away while its JSON-mode answer was being waited for."""

    def __init__(self, response_id: str) -> None:
        super().__init__(response_id)
        self.response_id = response_id


def shutdown_error() -> dict[str, str]:
    """The error a response cut off by the server shutting down is stored with."""
    return response_error("server_error", "The emulator shut down before the response finished.")


@dataclass(slots=True)
class Events:
    """A response's events to send, numbered from 0, and what to do if sending stops early."""

    numbered: Iterator[tuple[int, PlanEvent]]
    paced: bool = True
    # Told how many events went out when the stream is cut short: by the client leaving (error
    # None), by a bug or the server shutting down (the response error to record). Returns the
    # response as stored, for a transport that can still tell the client (None: already final).
    interrupted: Callable[[int, dict[str, str] | None], dict[str, Any] | None] | None = None


@dataclass(slots=True)
class Answer:
    """What a create request produced: for its transport to send, and for the journal."""

    warnings: list[Failure] = field(default_factory=list)  # contract warnings (unknown fields)
    response_id: str | None = None
    trace: Trace | None = None
    body: bytes | None = None  # JSON mode: the response object, as stored
    events: Events | None = None  # stream mode
    error: ApiError | None = None  # answered with an HTTP error: a scenario's, or the gateway's
    route: Route | None = None  # the gateway's attempts, when it ran
    scenario: str | None = None  # the scenario that answered, if one did
    misses: tuple[Miss, ...] = ()  # the scenarios tried before it, and why each missed
    history: Conversation | None = None  # the conversation the request continued


@dataclass(slots=True)
class Settings:
    timing: Timing  # the server's pacing
    reasoning_events: str = "orq"  # the server's reasoning event names
    max_delay: float = 60.0  # the longest wait (seconds) a request's own timing may ask for
    live_http: LiveHttp | None = None  # orq:http's real calls (serve --allow-live-http)


@dataclass(slots=True)
class ResponsesService:
    validator: RequestValidator
    planner: Planner
    store: ResponseStore
    clock: Clock
    settings: Settings
    backend: Backend  # answers when no scenario layer is in use
    scenarios: Scenarios
    gateway: Gateway = field(init=False)  # with the scenarios' models catalogue (decision 9)

    def __post_init__(self) -> None:
        self.gateway = Gateway(self.scenarios.failures, self.scenarios.sequences)

    async def create(self, body: Any, context: RequestContext) -> Answer:
        """Raises ApiError for a request the contract refuses; answers everything else."""
        request, warnings = self.validator.check(body)
        if templates.applies(request):  # decision 12: filled before anything reads the text
            request = templates.filled(request)
        # The body's problems first, then the settings' (most requests have none of their own).
        no_settings = context.timing is None and context.reasoning_events is None and context.shape is None
        reasoning = self.settings.reasoning_events if no_settings else self.checked_settings(context)
        route = None
        active = self.scenarios.active
        if active:  # retries and fallbacks, on the clock, before any byte
            route = self.gateway.route(request, context.session, request_digest(self.planner.seed, request))
            if route.delay:
                await self.clock.sleep(route.delay)
            if route.error is not None:
                return Answer(warnings, error=route.error, route=route)
            if route.model != request["model"]:
                request = {**request, "model": route.model}
        call = self.planner.call(request, context.headers, self.settings.timing, context.shape)
        backend = self.scenarios.backend if active else self.backend
        if self.settings.live_http is not None and _calls_out(request):
            call.live_http = self.settings.live_http  # a real call blocks: off the event loop
            turn = await asyncio.to_thread(backend.turn, call)
        else:
            turn = backend.turn(call)
        if turn.http_error is not None:
            return Answer(
                warnings, error=turn.http_error, route=route, scenario=turn.scenario,
                misses=turn.misses, history=call.history,
            )  # fmt: skip
        if turn.scenario is not None and (text_format := (request.get("text") or {}).get("format")):
            warnings = [*warnings, *_misfits(turn, text_format)]
        plan = self.planner.plan(call, turn, context.timing)
        telemetry = plan.response["telemetry"]
        trace = (telemetry["trace_id"], telemetry["span_id"])
        answer = Answer(
            warnings, call.response_id, trace, route=route,
            scenario=turn.scenario, misses=turn.misses, history=call.history,
        )  # fmt: skip
        if request.get("stream") is True:
            answer.events = self._streamed(plan, trace, reasoning)
            return answer
        delay = plan.total_delay()
        if delay:  # JSON mode answers after the Plan's duration, as a real model would
            self._store_in_progress(plan, trace)
            await self._wait(plan, trace, delay, context)
        answer.body = self._store_final(plan, trace)
        return answer

    async def _wait(self, plan: Plan, trace: Trace, delay: float, context: RequestContext) -> None:
        """Waits `delay` for a JSON-mode answer; raises ClientLeft if the client leaves first. A
        wait cut short (the client leaving, the server shutting down) stores the response as far
        as it had got."""
        start = self.clock.monotonic()
        waiting = asyncio.ensure_future(self.clock.sleep(delay))
        leaving = asyncio.ensure_future(context.gone()) if context.gone is not None else None
        try:
            tasks = [waiting] if leaving is None else [waiting, leaving]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._store_cut(plan, trace, self.clock.monotonic() - start, shutdown_error())
            raise
        finally:
            for task in (waiting, leaving):
                if task is not None:
                    task.cancel()
        if not waiting.done() or waiting.cancelled():
            self._store_cut(plan, trace, self.clock.monotonic() - start, None)
            raise ClientLeft(plan.response["id"])

    def _store_cut(self, plan: Plan, trace: Trace, elapsed: float, error: dict[str, str] | None) -> None:
        sent = plan.events_due(elapsed)
        self._store_final(plan.cut(sent, completed_at=int(self.clock.now()), error=error), trace)

    def retrieve(self, response_id: str) -> StoredResponse:
        stored = self.store.get(response_id)
        if stored is None:
            raise ApiError(
                404, "response_not_found", f"Response with id '{response_id}' not found.", "response_id"
            )
        return stored

    def replay(self, response_id: str, starting_after: int, context: RequestContext) -> tuple[Events, Trace]:
        """A finished response's events again, those after sequence number `starting_after` (-1: all)."""
        stored = self.retrieve(response_id)
        if stored.in_progress:
            raise ApiError(
                409, "response_in_progress",
                f"Response '{response_id}' is still in progress; replay its stream once it has finished.",
                "response_id",
            )  # fmt: skip
        plan = _replayed(stored)
        reasoning = self.checked_settings(context)
        last = sum(1 for _ in plan.events(reasoning)) - 1
        if starting_after >= last:
            raise ApiError(
                400, "invalid_request",
                f"starting_after must be before the stream's last event ({last}), got {starting_after}: "
                "there is nothing after it to replay.",
                "starting_after",
            )  # fmt: skip
        return Events(numbered(plan.events(reasoning), starting_after), paced=False), stored.trace

    def events_of(self, response_id: str) -> list[dict[str, Any]] | None:
        """A finished stored response's events, as a stream of it sends them (with the server's
        reasoning event names); None when it is not stored or still in progress."""
        stored = self.store.get(response_id)
        if stored is None or stored.in_progress:
            return None
        events = _replayed(stored).events(self.settings.reasoning_events)
        return [{"type": e.type, "sequence_number": n, **e.data} for n, e in enumerate(events)]

    def checked_settings(self, context: RequestContext) -> str:
        """Checks the request's own settings; the reasoning event names it gets."""
        if context.shape is not None:
            check_shape_header(context.shape)
        if context.timing is not None:
            check_timing_header(context.timing)
            try:
                bounded(parse_timing(context.timing, self.settings.timing), self.settings.max_delay)
            except ValueError as exc:
                raise ApiError(
                    400, "invalid_header", f"x-emulator-timing: {exc}.", "x-emulator-timing"
                ) from None
        if context.reasoning_events is None:
            return self.settings.reasoning_events
        return reasoning_events(context.reasoning_events)

    def _streamed(self, plan: Plan, trace: Trace, reasoning: str) -> Events:
        self._store_in_progress(plan, trace)
        finished = False

        def events() -> Iterator[tuple[int, PlanEvent]]:
            nonlocal finished
            for sequence_number, event in numbered(plan.events(reasoning)):
                if event.data.get("response") is plan.response:  # the terminal event
                    self._store_final(plan, trace)
                    finished = True
                yield sequence_number, event

        def interrupted(sent: int, error: dict[str, str] | None) -> dict[str, Any] | None:
            if finished:
                return None
            cut = plan.cut(sent, completed_at=int(self.clock.now()), error=error)
            self._store_final(cut, trace)
            return cut.response

        return Events(events(), interrupted=interrupted)

    def _store_in_progress(self, plan: Plan, trace: Trace) -> None:
        response = plan.response
        if response["store"]:
            snapshot = orjson.dumps(plan.in_progress_snapshot())
            self.store.put(StoredResponse(response["id"], snapshot, None, trace))
        else:
            self.store.remember_unstored(response["id"])

    def _store_final(self, plan: Plan, trace: Trace) -> bytes:
        """The response object as JSON, stored (unless store: false) as GET will return it."""
        response = plan.response
        rendered = orjson.dumps(response)
        if response["store"]:
            pieces = [item.pieces for item in plan.items] if plan.chunked else None
            self.store.put(StoredResponse(response["id"], rendered, plan.conversation, trace, pieces))
        else:
            self.store.remember_unstored(response["id"])
        return rendered


def _misfits(turn: Turn, text_format: dict[str, Any]) -> list[Failure]:
    """A scenario's scripted text that the request's `text.format` would not accept: a contract
    warning (the scripted reply is sent as written)."""
    kind = text_format.get("type")
    if kind not in ("json_schema", "json_object"):
        return []
    schema = text_format.get("schema", True) if kind == "json_schema" else {"type": "object"}
    found = []
    for plan in turn.items:
        if plan.item.get("type") != "message":
            continue
        for part in plan.item.get("content", ()):
            if part.get("type") == "output_text" and (why := jsongen.misfit(schema, part["text"])):
                said = f"scenario '{turn.scenario}' replied with text that /text/format rejects: {why}"
                found.append(Failure("/text/format", said))
    return found


def _replayed(stored: StoredResponse) -> Plan:
    """The Plan a stored response was streamed from, rebuilt for replay."""
    assert stored.conversation is not None
    response = orjson.loads(stored.body)
    output = response["output"]
    pieces = stored.pieces or [[tokens.tokenize(text) for text in item_texts(item)] for item in output]
    items = [ItemPlan(item, item_pieces) for item, item_pieces in zip(output, pieces, strict=True)]
    return Plan(response, items, stored.conversation, chunked=stored.pieces is not None)


def _calls_out(request: dict[str, Any]) -> bool:
    """Whether the request offers an `orq:http` tool its network policy lets call out."""
    return any(
        t.get("type") == "orq:http" and (t.get("network") or {}).get("mode") == "allowlist"
        for t in request.get("tools") or ()
    )
