"""The Responses routes: POST create, GET retrieve, under /v3/router and /v1.

`ResponsesRoutes` serves them straight from ASGI, ahead of Starlette's middleware stack (see
`emulator.app.EmulatorApp`): on these routes Starlette's per-request layers (error and exception
middleware, router matching, Request and Response objects) cost more than the emulator's own
work (measured with bench/). It answers exactly as the rest of the app does: the same bearer
check, the same error envelope, 405 with Allow for a wrong method, a logged 500 for a bug. Every
other path goes to Starlette.

A response's life in the store: a paced response is stored in progress (GET shows the
`in_progress` snapshot) and replaced by its final form as its terminal event goes out, so GET
after `response.completed` returns exactly what that event carried. A stream whose client goes
away is stored as `incomplete`, reason `client_disconnected`, with the output the client was sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import orjson
from starlette.types import Receive, Scope, Send

from emulator.clock import Clock
from emulator.contract.errors import ApiError, Failure, method_not_allowed, response_error
from emulator.contract.validation import RequestValidator
from emulator.engine import tokens
from emulator.engine.events import REASONING_EVENTS, PlanEvent
from emulator.engine.gateway import Gateway
from emulator.engine.items import ItemPlan
from emulator.engine.plan import Plan, item_texts
from emulator.engine.planner import Planner
from emulator.engine.textgen import request_digest
from emulator.engine.timing import Timing, parse_timing
from emulator.http.auth import BearerCheck
from emulator.http.body import RAW_BODY_KEY, ClientDisconnected, read_json
from emulator.http.errors import error_response, unexpected
from emulator.http.headers import headers_of
from emulator.render import json as render_json
from emulator.render.sse import EventStream, numbered
from emulator.scenarios.backend import SCENARIO_HEADER, SESSION_HEADER
from emulator.state.journal import Journal
from emulator.state.responses import ResponseStore, StoredResponse

log = logging.getLogger("emulator")

PREFIXES = ("/v3/router/responses", "/v1/responses")
TIMING_HEADER = b"x-emulator-timing"
REASONING_HEADER = b"x-emulator-reasoning-events"

Trace = tuple[str, str]  # (trace id, span id) for the x-orq-trace-* headers
PLAN_KEY = "emulator.plan"  # a create request's Plan, left in its scope for the journal


class HeaderMap(Mapping[str, str]):
    """A request's headers by lower-case name, decoded only if a backend asks for them."""

    __slots__ = ("_decoded", "_raw")

    def __init__(self, scope: Scope) -> None:
        self._raw = headers_of(scope)
        self._decoded: dict[str, str] | None = None

    @property
    def _map(self) -> dict[str, str]:
        if self._decoded is None:
            self._decoded = {k.decode("latin-1"): v.decode("latin-1") for k, v in self._raw.items()}
        return self._decoded

    def __getitem__(self, name: str) -> str:
        return self._map[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)


Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class JsonAnswer:
    body: bytes
    trace: Trace
    warnings: list[Failure]
    headers: Headers  # the emulator's own: x-emulator-scenario, x-emulator-attempts...


@dataclass(slots=True)
class StreamAnswer:
    events: Iterable[tuple[int, PlanEvent]]  # (sequence_number, event)
    trace: Trace
    warnings: list[Failure]
    paced: bool = True
    headers: Headers = field(default_factory=list)
    # Told how many events went out when the stream is cut short: by the client leaving (error
    # None) or by a bug (the error to record).
    interrupted: Callable[[int, dict[str, str] | None], None] | None = None


Answer = JsonAnswer | StreamAnswer
Handler = Callable[[Scope, Receive], Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class StreamSettings:
    timing: Timing
    keepalive: float
    done_sentinel: bool
    reasoning_events: str


class ResponsesAPI:
    def __init__(
        self,
        *,
        validator: RequestValidator,
        planner: Planner,
        store: ResponseStore,
        clock: Clock,
        max_body_bytes: int,
        streams: StreamSettings,
        gateway: Gateway | None = None,
    ) -> None:
        self.validator = validator
        self.planner = planner
        self.store = store
        self.clock = clock
        self.max_body_bytes = max_body_bytes
        self.streams = streams
        self.gateway = gateway  # with a models catalogue: retries and fallbacks (decision 9)

    async def create(self, scope: Scope, receive: Receive) -> Answer:
        body, warnings = self.validator.check(await read_json(scope, receive, self.max_body_bytes))
        adjust, reasoning = self._settings(scope)
        headers = HeaderMap(scope)
        extra: Headers = []
        if self.gateway is not None:  # retries and fallbacks, on the clock, before any byte
            route = self.gateway.route(
                body, headers.get(SESSION_HEADER, ""), request_digest(self.planner.seed, body)
            )
            if route.delay:
                await self.clock.sleep(route.delay)
            if route.error is not None:
                raise route.error
            if route.model != body["model"]:
                body = {**body, "model": route.model}
            extra = route.headers()
        plan = self.planner.plan(body, self.streams.timing, headers, adjust)
        scope[PLAN_KEY] = plan
        if plan.scenario is not None:
            extra.append((SCENARIO_HEADER.encode(), plan.scenario.encode()))
        telemetry = plan.response["telemetry"]
        trace = (telemetry["trace_id"], telemetry["span_id"])
        if body.get("stream") is True:
            return self._stream(plan, trace, warnings, reasoning, extra)
        delay = plan.total_delay()
        if delay:  # JSON mode answers after the Plan's duration, as a real model would
            self._store_in_progress(plan, trace)
            await self.clock.sleep(delay)
        rendered = render_json.render(plan)
        self._store_final(plan, rendered, trace)
        return JsonAnswer(rendered, trace, warnings, extra)

    async def retrieve(self, scope: Scope, receive: Receive) -> Answer:
        response_id = scope["path_params"]["response_id"]
        query = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        stored = self.store.get(response_id)
        if stored is None:
            raise ApiError(
                404, "response_not_found", f"Response with id '{response_id}' not found.", "response_id"
            )
        if query.get("stream", [""])[-1] not in ("true", "1"):
            return JsonAnswer(stored.body, stored.trace, [], [])
        if stored.in_progress:
            raise ApiError(
                409, "response_in_progress",
                f"Response '{response_id}' is still in progress; replay its stream once it has finished.",
                "response_id",
            )  # fmt: skip
        starting_after = _starting_after(query)
        _, reasoning = self._settings(scope)
        events = numbered(_replayed(stored).events(reasoning), starting_after)
        return StreamAnswer(events, stored.trace, [], paced=False)

    def _settings(self, scope: Scope) -> tuple[str | None, str]:
        """This request's x-emulator-timing spec (checked here, applied by the planner) and its
        reasoning event names: the server's, unless its headers say."""
        headers = headers_of(scope)
        adjust, reasoning = None, self.streams.reasoning_events
        timing = headers.get(TIMING_HEADER)
        if timing is not None:
            adjust = timing.decode("latin-1")
            try:
                parse_timing(adjust, self.streams.timing)
            except ValueError as exc:
                raise ApiError(
                    400, "invalid_header", f"x-emulator-timing: {exc}.", "x-emulator-timing"
                ) from None
        named = headers.get(REASONING_HEADER)
        if named is not None:
            reasoning = named.decode("latin-1").strip().lower()
            if reasoning not in REASONING_EVENTS:
                raise ApiError(
                    400, "invalid_header",
                    f"x-emulator-reasoning-events must be one of {', '.join(REASONING_EVENTS)}.",
                    "x-emulator-reasoning-events",
                )  # fmt: skip
        return adjust, reasoning

    def _stream(
        self, plan: Plan, trace: Trace, warnings: list[Failure], reasoning: str, extra: Headers
    ) -> StreamAnswer:
        self._store_in_progress(plan, trace)
        finished = False

        def events() -> Iterator[tuple[int, PlanEvent]]:
            nonlocal finished
            for sequence_number, event in numbered(plan.events(reasoning)):
                if event.data.get("response") is plan.response:  # the terminal event
                    self._store_final(plan, render_json.render(plan), trace)
                    finished = True
                yield sequence_number, event

        def interrupted(sent: int, error: dict[str, str] | None) -> None:
            if not finished:
                partial = plan.cut(sent, completed_at=int(self.clock.now()), error=error)
                self._store_final(partial, render_json.render(partial), trace)

        return StreamAnswer(events(), trace, warnings, headers=extra, interrupted=interrupted)

    def _store_in_progress(self, plan: Plan, trace: Trace) -> None:
        response = plan.response
        if response["store"]:
            snapshot = render_json.dumps(plan.in_progress_snapshot())
            self.store.put(StoredResponse(response["id"], snapshot, None, trace))
        else:
            self.store.remember_unstored(response["id"])

    def _store_final(self, plan: Plan, rendered: bytes, trace: Trace) -> None:
        response = plan.response
        if response["store"]:
            pieces = [item.pieces for item in plan.items] if plan.chunked else None
            self.store.put(StoredResponse(response["id"], rendered, plan.conversation, trace, pieces))
        else:
            self.store.remember_unstored(response["id"])


def _replayed(stored: StoredResponse) -> Plan:
    """The Plan a stored response was streamed from, rebuilt for `?stream=true`."""
    assert stored.conversation is not None
    response = orjson.loads(stored.body)
    output = response["output"]
    pieces = stored.pieces or [[tokens.tokenize(text) for text in item_texts(item)] for item in output]
    items = [ItemPlan(item, item_pieces) for item, item_pieces in zip(output, pieces, strict=True)]
    return Plan(response, items, stored.conversation, chunked=stored.pieces is not None)


def _starting_after(query: dict[str, list[str]]) -> int:
    raw = query.get("starting_after", ["-1"])[-1]
    try:
        value = int(raw)
    except ValueError:
        value = -2
    if value < -1:
        raise ApiError(
            400, "invalid_request",
            f"starting_after must be a sequence number (an integer >= 0), got '{raw}'.", "starting_after",
        )  # fmt: skip
    return value


class ResponsesRoutes:
    """The Responses routes, served straight from ASGI; see the module docstring."""

    def __init__(self, *, api: ResponsesAPI, auth: BearerCheck | None, journal: Journal) -> None:
        self.api = api
        self.auth = auth
        self.journal = journal

    def match(self, scope: Scope) -> Handler | None:
        """The handler for this request, or None when it is not a Responses route."""
        return self._route(scope) if scope["type"] == "http" else None

    async def serve(self, route: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.auth is not None:
                self.auth.check(scope)
            answer = await route(scope, receive)
        except ApiError as error:
            self._record(scope, error=error)
            await error_response(error)(scope, receive, send)
            return
        except ClientDisconnected:
            return
        except Exception as exc:  # a bug still gets the envelope, and the server lives on
            bug = unexpected(scope["method"], scope["path"], exc)
            self._record(scope, error=bug)
            await error_response(bug)(scope, receive, send)
            return
        self._record(scope, answer=answer)
        headers = [
            (b"x-orq-trace-id", answer.trace[0].encode()),
            (b"x-orq-trace-span-id", answer.trace[1].encode()),
        ]
        headers += answer.headers
        if answer.warnings:
            messages = [w.message for w in answer.warnings]
            headers.append((b"x-emulator-contract-warnings", json.dumps(messages).encode()))
            for message in messages:
                log.warning("contract warning: %s", message)
        if isinstance(answer, StreamAnswer):
            await self._stream(answer, headers, scope, receive, send)
            return
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _stream(
        self,
        answer: StreamAnswer,
        headers: list[tuple[bytes, bytes]],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Writes the events while listening for the client going away; if it does, the writing
        stops at once and the answer is told how far it got."""
        headers += [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        settings = self.api.streams
        stream = EventStream(
            self.api.clock, keepalive=settings.keepalive, done=settings.done_sentinel, paced=answer.paced
        )
        writer = asyncio.ensure_future(stream.run(answer.events, write))
        watcher = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((writer, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, watcher):
                task.cancel()
            await asyncio.gather(writer, watcher, return_exceptions=True)
        failure = None if writer.cancelled() else writer.exception()
        if not writer.cancelled() and failure is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        error = None
        if failure is not None:  # a bug after the headers went out: log it, record it, close
            bug = unexpected(scope["method"], scope["path"], failure)  # type: ignore[arg-type]
            error = response_error("server_error", bug.message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        if answer.interrupted is not None:
            answer.interrupted(stream.sent, error)

    def _record(self, scope: Scope, *, answer: Answer | None = None, error: ApiError | None = None) -> None:
        """Adds the request to the journal: references only, see emulator.state.journal."""
        journal = self.journal
        if not journal.enabled:
            return
        plan: Plan | None = scope.get(PLAN_KEY)
        raw = scope.get(RAW_BODY_KEY)
        history = plan.call.history if plan is not None and plan.call is not None else None
        if plan is not None:
            response_id, scenario, misses = plan.response["id"], plan.scenario, plan.misses
        else:
            response_id = scope.get("path_params", {}).get("response_id")
            scenario = error.headers.get(SCENARIO_HEADER) if error is not None else None
            misses = error.misses if error is not None else ()
        journal.record(
            self.api.clock.now(),
            scope["method"],
            scope["path"],
            scope["query_string"],
            headers_of(scope),
            raw,
            error.status if error is not None else 200,
            isinstance(answer, StreamAnswer),
            response_id,
            scenario,
            misses,
            error,
            answer.warnings if answer is not None else (),
            history,
        )

    def _route(self, scope: Scope) -> Handler | None:
        path, method = scope["path"], scope["method"]
        for prefix in PREFIXES:
            if path == prefix:
                return self.api.create if method == "POST" else _not_allowed(method, path, "POST")
            if path.startswith(prefix) and path[len(prefix)] == "/":
                response_id = path[len(prefix) + 1 :]
                if not response_id or "/" in response_id:
                    return None  # not a route: Starlette's 404
                if method not in ("GET", "HEAD"):
                    return _not_allowed(method, path, "GET, HEAD")
                scope["path_params"] = {"response_id": response_id}
                return self.api.retrieve
        return None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _not_allowed(method: str, path: str, allowed: str) -> Handler:
    async def refuse(scope: Scope, receive: Receive) -> Answer:
        raise method_not_allowed(method, path, allowed)

    return refuse
