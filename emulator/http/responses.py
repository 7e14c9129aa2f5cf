"""The Responses routes: POST create, GET retrieve, under /v3/router and /v1.

`ResponsesRoutes` serves them straight from ASGI, ahead of Starlette's middleware stack (see
`emulator.app.EmulatorApp`): on these routes Starlette's per-request layers (error and exception
middleware, router matching, Request and Response objects) cost more than the emulator's own
work (measured with bench/). It answers exactly as the rest of the app does: the same bearer
check, the same error envelope, 405 with Allow for a wrong method, a logged 500 for a bug. Every
other path goes to Starlette.

This module parses, authenticates, routes, writes and records; the request's life is the
service's (emulator.engine.service).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote

import orjson
from starlette.types import Receive, Scope, Send

from emulator.clock import Clock
from emulator.contract.errors import (
    ApiError,
    Failure,
    error_event,
    method_not_allowed,
    response_error,
    routes_document,
)
from emulator.contract.extensions import items_query, replay_query
from emulator.contract.limits import BodyLimits
from emulator.engine.backend import SCENARIO_HEADER
from emulator.engine.cache import CACHE_HEADER
from emulator.engine.events import PlanEvent
from emulator.engine.faults import StreamFault
from emulator.engine.service import (
    Answer,
    ClientLeft,
    Events,
    RequestContext,
    ResponsesService,
    shutdown_error,
)
from emulator.http.auth import BearerCheck
from emulator.http.body import ClientDisconnected, read_json
from emulator.http.errors import error_response, unexpected
from emulator.http.headers import HeaderMap
from emulator.render.sse import DONE, EventStream, StreamAborted, Write, frame
from emulator.state.contract_report import ContractReport
from emulator.state.journal import SESSION_HEADER, Exchange, Journal, recorded_body

log = logging.getLogger("emulator")


class _QuietAbort(logging.Filter):
    """uvicorn logs every exception an app raises as a crash; a stream:disconnect fault is one on
    purpose (emulator.render.sse.StreamAborted), so it is not logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], StreamAborted))


logging.getLogger("uvicorn.error").addFilter(_QuietAbort())

PREFIXES = ("/v3/router/responses", "/v1/responses")
TIMING_HEADER = b"x-emulator-timing"
REASONING_HEADER = b"x-emulator-reasoning-events"
SHAPE_HEADER = b"x-emulator-shape"
FAULT_HEADER = b"x-emulator-fail"
# The methods of each route under /responses/{id}[/<sub>], and the handler each calls.
_SUB_ROUTES: dict[str, dict[str, str]] = {
    "": {"GET": "retrieve", "HEAD": "retrieve", "DELETE": "delete"},
    "cancel": {"POST": "cancel"},
    "input_items": {"GET": "input_items"},
}
CLIENT_LEFT = 499  # the journal's status for a JSON-mode request whose client left before its answer

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Incoming:
    """One request to a Responses route, as its handler and the journal see it."""

    scope: Scope
    receive: Receive
    headers: dict[bytes, bytes]  # by lower-case name (for a repeated header the last one counts)
    response_id: str | None = None  # the path's, on the retrieve route
    body: bytes | None = None  # the raw body, once read
    parsed: Any = None  # its JSON, once parsed

    def context(self) -> RequestContext:
        """The request's headers and its x-emulator-* settings (the service checks them)."""
        timing, reasoning = self.headers.get(TIMING_HEADER), self.headers.get(REASONING_HEADER)
        shape, faults = self.headers.get(SHAPE_HEADER), self.headers.get(FAULT_HEADER)
        return RequestContext(
            HeaderMap(self.headers),
            timing.decode("latin-1") if timing is not None else None,
            reasoning.decode("latin-1") if reasoning is not None else None,
            shape.decode("latin-1") if shape is not None else None,
            faults.decode("latin-1") if faults is not None else None,
            gone=self.gone,
        )

    @property
    def session(self) -> str:
        """Its X-Emulator-Session ("" without one: the default session)."""
        return self.headers.get(SESSION_HEADER, b"").decode("latin-1")

    async def gone(self) -> None:
        """Returns once the client has gone (the body has been read by then)."""
        await _disconnected(self.receive)


Handler = Callable[[Incoming], Awaitable[Answer]]


@dataclass(slots=True)
class Target:
    """Where a request to a Responses route goes."""

    handler: Handler
    response_id: str | None = None


@dataclass(frozen=True, slots=True)
class StreamFraming:
    keepalive: float  # seconds of silence before a `: keepalive` comment
    done_sentinel: bool  # `data: [DONE]` after the terminal event


@dataclass(slots=True)
class ResponsesRoutes:
    """The Responses routes, served straight from ASGI; see the module docstring."""

    service: ResponsesService
    auth: BearerCheck | None
    journal: Journal
    clock: Clock
    limits: BodyLimits
    framing: StreamFraming
    max_streams: int = 1000  # streams open at once; more get a 503
    report: ContractReport | None = None  # the contract report (emulator.state.contract_report)
    streams: int = 0  # open now
    _create: Target = field(init=False)  # every create goes to the same place

    def __post_init__(self) -> None:
        self._create = Target(self.create)

    def match(self, scope: Scope) -> Target | None:
        """Where this request goes, or None when it is not a Responses route."""
        if scope["type"] != "http":
            return None
        path, method = scope["path"], scope["method"]
        for prefix in PREFIXES:
            if path == prefix:
                return self._create if method == "POST" else Target(_not_allowed(method, path, "POST"))
            if path.startswith(prefix) and path[len(prefix)] == "/":
                return self._sub_route(path, path[len(prefix) + 1 :], method)
        return None

    def _sub_route(self, path: str, rest: str, method: str) -> Target | None:
        """The routes under /responses/: input_tokens, {id}, {id}/cancel, {id}/input_items; any
        other path is no route (Starlette's 404), never a 405 that misreads it."""
        if rest == "input_tokens":
            return (
                Target(self.input_tokens) if method == "POST" else Target(_not_allowed(method, path, "POST"))
            )
        response_id, _, sub = rest.partition("/")
        allowed = _SUB_ROUTES.get(sub) if response_id else None
        if allowed is None:
            return None
        if method not in allowed:
            return Target(_not_allowed(method, path, ", ".join(allowed)), response_id)
        handler: Handler = getattr(self, allowed[method])
        return Target(handler, response_id)

    async def create(self, request: Incoming) -> Answer:
        request.body, request.parsed = await read_json(request.headers, request.receive, self.limits)
        if self.streams >= self.max_streams and _streamed(request.parsed):
            raise _too_many_streams(self.max_streams)
        return await self.service.create(request.parsed, request.context())

    async def retrieve(self, request: Incoming) -> Answer:
        assert request.response_id is not None
        # an unknown id is a 404 first, whatever the query
        query = parse_qs(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        stored = self.service.retrieve(request.response_id, request.session)
        stream, starting_after = replay_query(query)
        if not stream:
            self.service.checked_settings(request.context())  # the headers it documents, as replay does
            return Answer(response_id=stored.id, trace=stored.trace, body=stored.body)
        events, trace = self.service.replay(request.response_id, starting_after, request.context())
        return Answer(response_id=request.response_id, trace=trace, events=events)

    async def delete(self, request: Incoming) -> Answer:
        """DELETE /responses/{id}: gone for good (decision 2)."""
        assert request.response_id is not None
        return _json(*self.service.delete(request.response_id, request.session))

    async def input_items(self, request: Incoming) -> Answer:
        """GET /responses/{id}/input_items: a page of the items it was given (decision 2)."""
        assert request.response_id is not None
        query = parse_qs(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)
        return _json(*self.service.input_items(request.response_id, items_query(query), request.session))

    async def input_tokens(self, request: Incoming) -> Answer:
        """POST /responses/input_tokens: the input tokens a create with this body would count."""
        request.body, request.parsed = await read_json(request.headers, request.receive, self.limits)
        return _json(*self.service.count_input_tokens(request.parsed, request.session))

    async def cancel(self, request: Incoming) -> Answer:
        """POST .../{id}/cancel: a background response ends `cancelled` (contract decision 2)."""
        assert request.response_id is not None
        cancelled = self.service.cancel(request.response_id, request.session)
        return Answer(response_id=cancelled.id, trace=cancelled.trace, body=cancelled.body)

    async def serve(self, target: Target, scope: Scope, receive: Receive, send: Send) -> None:
        request = Incoming(scope, receive, dict(scope["headers"]), target.response_id)
        try:
            if self.auth is not None:
                self.auth.check(request.headers, scope["headers"])
            answer: Answer | None = await target.handler(request)
        except Exception as exc:
            answer = _failed(request, exc)
        except asyncio.CancelledError:
            # uvicorn cancels what is still running when the shutdown grace runs out (a JSON answer
            # still waiting, stored failed by the service): it is answered, and ends, as any error
            # (re-raised, uvicorn would log it as a crash and answer a plain-text 500).
            answer = Answer(error=_shut_down())
        if answer is None:
            return
        exchange = self._record(request, answer) if self.journal.enabled else None
        if answer.error is not None:
            if answer.error.status != CLIENT_LEFT:
                await _refuse(answer, answer.error, scope, receive, send)
            return
        assert answer.trace is not None
        trace_id, span_id = answer.trace
        headers = [(b"x-orq-trace-id", trace_id.encode()), (b"x-orq-trace-span-id", span_id.encode())]
        if answer.route is not None or answer.scenario is not None or answer.cache is not None:
            headers += _emulator_headers(answer)
        if answer.headers:
            headers += [(k.encode(), v.encode()) for k, v in answer.headers.items()]
        if answer.warnings:
            headers.append(_warned(answer.warnings))
        if answer.events is not None:
            times = None
            if exchange is not None:
                times = exchange.event_times = []
            await self._stream(answer.events, headers, scope, receive, send, times)
            return
        assert answer.body is not None
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _stream(
        self,
        events: Events,
        headers: Headers,
        scope: Scope,
        receive: Receive,
        send: Send,
        times: list[float] | None = None,
    ) -> None:
        """Writes the events while listening for the client going away; if it does, the writing
        stops at once and the service is told how far it got."""
        headers += [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        async def write(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        framing = self.framing
        stream = EventStream(
            self.clock,
            keepalive=framing.keepalive,
            done=framing.done_sentinel,
            paced=events.paced,
            times=times,
            fault=events.fault,
        )
        writer = asyncio.ensure_future(stream.run(events.numbered, write))
        watcher = asyncio.ensure_future(_disconnected(receive))
        self.streams += 1
        cut_off = False
        try:
            await asyncio.wait((writer, watcher), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the shutdown grace ran out
            cut_off = True
        finally:
            self.streams -= 1
            for task in (writer, watcher):
                task.cancel()
            await asyncio.gather(writer, watcher, return_exceptions=True)
        if cut_off:  # stored, and told to the client: it ends, not crashes (see serve)
            await self._cut_off(events, stream, write, send)
            return
        failure = None if writer.cancelled() else writer.exception()
        if stream.struck is not None and failure is None and not writer.cancelled():
            await self._struck(events, stream, stream.struck, write, send)
            return
        if not writer.cancelled() and failure is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        error = None
        if isinstance(failure, Exception):  # a bug after the headers went out: log it, record it, close
            bug = unexpected(scope["method"], scope["path"], failure)
            error = response_error("server_error", bug.message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        if events.interrupted is not None:
            events.interrupted(stream.sent, error)

    async def _struck(
        self, events: Events, stream: EventStream, fault: StreamFault, write: Write, send: Send
    ) -> None:
        """Ends a stream a fault broke (emulator.engine.faults): stored failed, as far as it went;
        `error` tells the client, `truncate` ends the body cleanly, `disconnect` drops the
        connection."""
        error = response_error(
            "server_error", f"The model's stream broke off after {fault.after} events ({fault})."
        )
        if fault.kind == "error":
            await self._cut_off(events, stream, write, send, error)
            return
        if events.interrupted is not None:
            events.interrupted(stream.sent, error)
        if fault.kind == "disconnect":
            raise StreamAborted(str(fault))
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _cut_off(
        self,
        events: Events,
        stream: EventStream,
        write: Write,
        send: Send,
        error: dict[str, str] | None = None,
    ) -> None:
        """Ends a stream the server cut off (or a fault's `error`): stored failed, and, if the
        client is still there, told so with the error event and `response.failed` (then [DONE])."""
        if events.interrupted is None:
            return
        failed = events.interrupted(stream.sent, error or shutdown_error())
        if failed is None:  # it had already finished
            return
        error = failed["error"]
        closing = [PlanEvent("error", error_event(error)), PlanEvent("response.failed", {"response": failed})]
        for number, event in enumerate(closing, stream.sent):
            await write(frame(number, event))
        if self.framing.done_sentinel:
            await write(DONE)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _record(self, request: Incoming, answer: Answer) -> Exchange:
        """Adds the request to the journal: references only, see emulator.state.journal."""
        scope = request.scope
        route = answer.route
        error = answer.error
        exchange = Exchange(
            self.clock.now(), scope["method"], scope["path"], scope["query_string"], request.headers,
            recorded_body(request.body, request.parsed), error.status if error is not None else 200,
            answer.events is not None, answer.response_id or request.response_id, answer.scenario,
            answer.misses, error, answer.warnings, answer.history,
            () if route is None else tuple(a.json() for a in route.attempts), answer.cache,
        )  # fmt: skip
        self.journal.record(exchange)
        report = self.report
        if report is not None:  # every request counted; only what broke or bent the contract looked into
            report.count(request.headers.get(b"user-agent", b""))
            if error is not None or answer.warnings:
                report(exchange)
        return exchange


async def _refuse(answer: Answer, error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    """An error answer: the envelope, with how it was answered and the rate limits."""
    extra = {k.decode(): v.decode() for k, v in _emulator_headers(answer)}
    if answer.headers:
        extra |= answer.headers
    await error_response(error, extra)(scope, receive, send)


def _warned(warnings: list[Failure]) -> tuple[bytes, bytes]:
    """The contract warnings' header; each is logged too."""
    messages = [w.message for w in warnings]
    for message in messages:
        log.warning("contract warning: %s", message)
    return (b"x-emulator-contract-warnings", json.dumps(messages).encode())


def _json(body: dict[str, Any], trace: tuple[str, str]) -> Answer:
    """An answer that is a JSON object of another kind than a response."""
    return Answer(trace=trace, body=orjson.dumps(body))


def _emulator_headers(answer: Answer) -> Headers:
    """What the emulator adds about how it answered: the gateway's attempts, the scenario."""
    headers: Headers = []
    if answer.route is not None:
        headers += [
            (b"x-emulator-attempts", str(len(answer.route.attempts)).encode()),
            # model names are the client's: anything outside printable ASCII is percent-encoded
            (b"x-emulator-attempt-log", quote(answer.route.log(), safe=" /,.:*+-_@()").encode()),
            (b"x-emulator-gateway-delay", f"{answer.route.delay:.3f}".encode()),
        ]
    if answer.scenario is not None:
        headers.append((SCENARIO_HEADER.encode(), answer.scenario.encode()))
    if answer.cache is not None:
        headers.append((CACHE_HEADER.encode(), answer.cache.encode()))
    return headers


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _failed(request: Incoming, exc: Exception) -> Answer | None:
    """The answer to a request whose handling raised `exc`; None when the client left before its
    body was in (there is nobody to answer, and nothing to record)."""
    if isinstance(exc, ApiError):
        return Answer(error=exc)
    if isinstance(exc, ClientDisconnected):
        return None
    if isinstance(exc, ClientLeft):  # nobody to answer; the journal still shows the request
        return Answer(response_id=exc.response_id, error=_left())
    # a bug still gets the envelope, and the server lives on
    return Answer(error=unexpected(request.scope["method"], request.scope["path"], exc))


def _streamed(body: Any) -> bool:
    return isinstance(body, dict) and body.get("stream") is True


def _shut_down() -> ApiError:
    message = "The emulator shut down before the response was ready; it is stored as failed."
    return ApiError(503, "service_unavailable", message)


def _left() -> ApiError:
    """What the journal records for a JSON-mode client that left before its answer (499, as nginx
    logs a client that closed its request)."""
    return ApiError(
        CLIENT_LEFT, "client_closed_request", "The client went away before the response was ready."
    )


def _too_many_streams(cap: int) -> ApiError:
    return ApiError(
        503, "service_unavailable",
        f"The emulator is already sending {cap} streams (its --max-streams); retry when one ends.",
        headers={"Retry-After": "1"},
    )  # fmt: skip


def _not_allowed(method: str, path: str, allowed: str) -> Handler:
    async def refuse(request: Incoming) -> Answer:
        raise method_not_allowed(method, path, allowed, routes_document(request.scope))

    return refuse
