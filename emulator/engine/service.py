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
from emulator.contract.extensions import (
    ItemsQuery,
    check_shape_header,
    check_timing_header,
    page_of,
    reasoning_events,
)
from emulator.contract.validation import RequestValidator
from emulator.engine import jsongen, prompt_cache, templates, tokens
from emulator.engine.backend import SESSION_HEADER, Backend, Call, Scenarios, Turn
from emulator.engine.background import Run
from emulator.engine.cache import DEFAULT_TTL, cache_key
from emulator.engine.events import PlanEvent, numbered
from emulator.engine.faults import FAULT_HEADER, NO_FAULTS, Faults, StreamFault, parse_faults
from emulator.engine.gateway import Gateway, Route
from emulator.engine.items import ItemPlan
from emulator.engine.live_http import LiveHttp
from emulator.engine.plan import Plan, item_texts
from emulator.engine.planner import Planner
from emulator.engine.ratelimit import RateLimiter
from emulator.engine.textgen import request_digest
from emulator.engine.timing import Timing, bounded, parse_timing
from emulator.engine.world import World, Worlds
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
    faults: str | None = None  # faults on demand (x-emulator-fail), checked by the service
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
    fault: StreamFault | None = None  # what breaks the stream, and after how many events


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
    cache: str | None = None  # the response cache: hit or miss (None: not asked for)
    headers: dict[str, str] | None = None  # more to send with it (the rate limits')


@dataclass(slots=True)
class _Asked:
    """A create request once admitted, as the steps of its answer read it."""

    request: dict[str, Any]
    warnings: list[Failure]
    reasoning: str  # the event names its stream uses
    world: World  # its session's state
    faults: Faults = NO_FAULTS  # the request's own (x-emulator-fail)
    background: bool = False
    key: str = ""  # the rate limits' key (its bearer token)
    limits: dict[str, str] | None = None  # its rate-limit headers, when limits are on
    cache_key: bytes | None = None  # when it asks for the response cache
    cached: list[dict[str, Any]] | None = None  # the cached output, on a hit
    remembers: bool = False  # its answer leaves state behind: cache, limits, prompt cache, conversation

    def settled(self, route: Route | None) -> bool:
        """Its answer is settled without a model: by the cache, or by the gateway's failure."""
        return self.cached is not None or (route is not None and route.error is not None)


@dataclass(slots=True)
class Settings:
    timing: Timing  # the server's pacing
    reasoning_events: str = "orq"  # the server's reasoning event names
    max_delay: float = 60.0  # the longest wait (seconds) a request's own timing may ask for
    live_http: LiveHttp | None = None  # orq:http's real calls (serve --allow-live-http)
    limiter: RateLimiter | None = None  # per-key rate limits (--rate-limit, --token-limit)


@dataclass(slots=True)
class ResponsesService:
    validator: RequestValidator
    planner: Planner
    clock: Clock
    settings: Settings
    backend: Backend  # answers when no scenario layer is in use
    scenarios: Scenarios
    gateway: Gateway = field(init=False)  # with the scenarios' models catalogue (decision 9)

    def __post_init__(self) -> None:
        scenarios = self.scenarios
        self.gateway = Gateway(scenarios.failures, scenarios.sequences, scenarios.faults, self.planner.seed)

    @property
    def worlds(self) -> Worlds:
        """Each session's state (emulator.engine.world)."""
        return self.planner.worlds

    @property
    def store(self) -> ResponseStore:
        """The default session's stored responses."""
        return self.planner.worlds.default.store

    async def create(self, body: Any, context: RequestContext) -> Answer:
        """Raises ApiError for a request the contract refuses; answers everything else."""
        asked = self._admitted(body, context)
        request = asked.request
        route = None
        active = self.scenarios.active
        faulty = asked.faults is not NO_FAULTS
        if asked.cached is None and (active or faulty or "load_balancer" in request or "timeout" in request):
            route = await self._routed(asked, context)
            if route.error is not None and not asked.background:
                return Answer(asked.warnings, error=route.error, route=route, headers=asked.limits)
        world = asked.world
        call = self.planner.call(asked.request, context.headers, self.settings.timing, context.shape, world)
        backend = self.scenarios.backend if active else self.backend
        if self.settings.live_http is not None and _calls_out(asked.request) and not asked.settled(route):
            call.live_http = self.settings.live_http  # a real call blocks: off the event loop
            turn = await asyncio.to_thread(backend.turn, call)
        else:
            turn = self._turn(asked, call, route, backend)
        if turn.http_error is not None:
            return Answer(
                asked.warnings, error=turn.http_error, route=route, scenario=turn.scenario,
                misses=turn.misses, history=call.history,
            )  # fmt: skip
        warnings = asked.warnings
        if turn.scenario is not None and (text_format := (asked.request.get("text") or {}).get("format")):
            warnings = [*warnings, *_misfits(turn, text_format)]
        plan = self.planner.plan(call, turn, context.timing)
        telemetry = plan.response["telemetry"]
        trace = (telemetry["trace_id"], telemetry["span_id"])
        answer = Answer(
            warnings, call.response_id, trace, route=route,
            scenario=turn.scenario, misses=turn.misses, history=call.history,
        )  # fmt: skip
        if asked.remembers:
            self._remember(asked, call, plan, answer)
        stream = asked.request.get("stream") is True
        if asked.background:
            plan.queued += route.delay if route is not None else 0.0
            return self._background(plan, trace, asked.reasoning, answer, stream, world)
        if stream:
            answer.events = self._streamed(plan, trace, asked.reasoning, world)
            answer.events.fault = turn.stream_fault
            if turn.stream_fault is None and (faulty or active):
                model = plan.response["model"]
                answer.events.fault = (asked.faults + self.scenarios.faults(model)).stream(model)
            return answer
        delay = plan.total_delay()
        if delay:  # JSON mode answers after the Plan's duration, as a real model would
            _store_in_progress(world, plan, trace)
            await self._wait(plan, trace, delay, context, world)
        answer.body = _store_final(world, plan, trace)
        return answer

    def _admitted(self, body: Any, context: RequestContext) -> _Asked:
        """The request validated, its settings checked, counted against the rate limits, and
        looked up in the response cache."""
        request, warnings = self.validator.check(body)
        if request["model"].startswith("agent/"):  # contract 2.6: the agent's settings, then the request's
            request = self._as_agent(request)
        if templates.applies(request):  # decision 12: filled before anything reads the text
            request = templates.filled(request)
        # The body's problems first, then the settings' (most requests have none of their own).
        no_settings = (
            context.timing is None and context.reasoning_events is None and context.shape is None
            and context.faults is None
        )  # fmt: skip
        asked = _Asked(
            request,
            warnings,
            self.settings.reasoning_events if no_settings else self.checked_settings(context),
            world := self.worlds.of(context.session),
        )
        if context.faults is not None:
            asked.faults = _faults(context.faults)
        if (limiter := self.settings.limiter) is not None:  # counted before anything is done
            asked.key = context.headers.get("authorization") or ""
            asked.limits = limiter.admit(asked.key, self.clock.now())
        if world.runs.by_id:
            self._settle(world)
        asked.background = request.get("background") is True
        if request.get("conversation") is not None:
            asked.request = request = _in_conversation(request, world)
        if request.get("cache") is not None:
            asked.cache_key = cache_key(request)
            asked.cached = world.cache.get(asked.cache_key, self.clock.now())
        asked.remembers = (  # (prompt_cache.asked, inline: this runs for every request)
            asked.cache_key is not None or asked.limits is not None or request.get("conversation") is not None
            or request.get("prompt_cache_key") is not None or request.get("cache_control") is not None
        )  # fmt: skip
        return asked

    def _as_agent(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request run by its agent (scenario files' `agents:`): the agent's model (which the
        response names), and its instructions, tools, variables, template engine and limits where
        the request gives none of its own (its variables fill in the request's). When the files
        define no agent at all, `agent/<key>` is answered as any model is (scenarios match it by
        agent); once they define some, an unknown key is a 404."""
        key = request["model"].removeprefix("agent/")
        agent = self.scenarios.agent(key)
        if agent is None and not self.scenarios.defines_agents:  # none defined: answered as any model
            return request
        if agent is None:
            raise ApiError(
                404, "agent_not_found",
                f"No agent '{key}': define it under agents: in a scenario file (key, model, ...).",
                "/model",
            )  # fmt: skip
        if agent.get("memory") == "required" and not (request.get("memory") or {}).get("entity_id"):
            raise ApiError(
                400, "memory_entity_id_required",
                f"Agent '{key}' keeps memories: send memory: {{entity_id: ...}} with the request.", "/memory",
            )  # fmt: skip
        run = {k: v for k, v in agent.items() if k in ("instructions", "tools", "template_engine", "limits")}
        run.update({k: v for k, v in request.items() if v is not None})
        if "variables" in agent:
            run["variables"] = {**agent["variables"], **(request.get("variables") or {})}
        run["model"] = agent["model"]
        run["_agent"] = key  # scenarios still match it by agent (not a field: never echoed)
        return run

    async def _routed(self, asked: _Asked, context: RequestContext) -> Route:
        """The gateway's attempts, waited out on the clock (a background response's are waited
        queued); the request then names the model that answers."""
        request = asked.request
        digest = request_digest(self.planner.seed, request)
        route = self.gateway.route(request, context.session, digest, asked.faults, self._ttft)
        if route.delay and not asked.background:
            await self.clock.sleep(route.delay)
        if route.error is None and route.model != request["model"]:
            asked.request = {**request, "model": route.model}
        return route

    def _turn(self, asked: _Asked, call: Call, route: Route | None, backend: Backend) -> Turn:
        """What answers: the cache, the gateway's failure (a background response's), or the
        backend (the scenario layer's, or the default one)."""
        if asked.cached is not None:
            cached = asked.cached
            return Turn([ItemPlan(item, [tokens.tokenize(t) for t in item_texts(item)]) for item in cached])
        if route is not None and route.error is not None:  # background: every attempt failed
            code = "rate_limit_exceeded" if route.error.status == 429 else "server_error"
            return Turn([], status="failed", error=response_error(code, route.error.message))
        return backend.turn(call)

    def _prompt_cached(self, request: dict[str, Any], call: Call, plan: Plan, world: World) -> None:
        """The usage's cache counters, for a request that takes part in prompt caching."""
        continued = request.get("previous_response_id") or (request.get("conversation") or {}).get("id") or ""
        history = (continued, call.history.turns)
        cached, written = world.prompt_cache.usage(request, history, call.history.tokens, self.clock.now())
        details = plan.response["usage"]["input_tokens_details"]
        details["cached_tokens"] = cached
        details["cache_creation_tokens"] = details["cache_write_tokens"] = written

    def _remember(self, asked: _Asked, call: Call, plan: Plan, answer: Answer) -> None:
        """What a planned answer leaves behind: the response cache filled (a miss that completed),
        the tokens' rate limit spent, the prompt cache's counters, the conversation's new turn."""
        request, response, now, world = asked.request, plan.response, self.clock.now(), asked.world
        if asked.cache_key is not None or asked.limits is not None:
            self._account(asked, plan, answer, world)
        if prompt_cache.asked(request):
            self._prompt_cached(request, call, plan, world)
        if (conversation := request.get("conversation")) is not None:
            turn_items = [*response["input"], *response["output"]]
            world.conversations.record(conversation["id"], turn_items, plan.conversation, now)

    def _account(self, asked: _Asked, plan: Plan, answer: Answer, world: World) -> None:
        """Fills the response cache (a miss that completed) and spends the tokens' rate limit."""
        response, now = plan.response, self.clock.now()
        if asked.cache_key is not None:
            answer.cache = "miss" if asked.cached is None else "hit"
            if asked.cached is None and response["status"] == "completed":
                ttl = asked.request["cache"].get("ttl", DEFAULT_TTL)
                world.cache.put(asked.cache_key, response["output"], ttl, now)
        if asked.limits is not None and self.settings.limiter is not None:
            self.settings.limiter.spend(asked.key, response["usage"]["total_tokens"], now)
            answer.headers = asked.limits

    async def _wait(
        self, plan: Plan, trace: Trace, delay: float, context: RequestContext, world: World
    ) -> None:
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
            self._store_cut(world, plan, trace, self.clock.monotonic() - start, shutdown_error())
            raise
        finally:
            for task in (waiting, leaving):
                if task is not None:
                    task.cancel()
        if not waiting.done() or waiting.cancelled():
            self._store_cut(world, plan, trace, self.clock.monotonic() - start, None)
            raise ClientLeft(plan.response["id"])

    def _store_cut(
        self, world: World, plan: Plan, trace: Trace, elapsed: float, error: dict[str, str] | None
    ) -> None:
        sent = plan.events_due(elapsed)
        _store_final(world, plan.cut(sent, completed_at=int(self.clock.now()), error=error), trace)

    def retrieve(self, response_id: str, session: str = "") -> StoredResponse:
        """A response of the session (`X-Emulator-Session`; "" the default one), as GET shows it."""
        return self._retrieve(self.worlds.of(session), response_id)

    def _retrieve(self, world: World, response_id: str) -> StoredResponse:
        if world.runs.by_id:
            self._settle(world)
            if (run := world.runs.get(response_id)) is not None:  # a background response, running
                snapshot = orjson.dumps(run.snapshot(self.clock.monotonic()))
                return StoredResponse(response_id, snapshot, None, run.trace)
        stored = world.store.get(response_id)
        if stored is None:
            raise ApiError(
                404, "response_not_found", f"Response with id '{response_id}' not found.", "response_id"
            )
        return stored

    def replay(self, response_id: str, starting_after: int, context: RequestContext) -> tuple[Events, Trace]:
        """A finished response's events again, those after sequence number `starting_after` (-1: all)."""
        world = self.worlds.of(context.session)
        stored = self._retrieve(world, response_id)
        if (run := world.runs.get(response_id)) is not None:  # still running: what is due, then live
            if starting_after >= (last := sum(1 for _ in run.plan.events(run.reasoning)) - 1):
                raise _nothing_after(starting_after, last)
            events = self._run_events(world, response_id, run, starting_after)
            return Events(events, interrupted=None), run.trace
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
            raise _nothing_after(starting_after, last)
        return Events(numbered(plan.events(reasoning), starting_after), paced=False), stored.trace

    def events_of(self, response_id: str, session: str = "") -> list[dict[str, Any]] | None:
        """A finished stored response's events, as a stream of it sends them (with the server's
        reasoning event names); None when it is not stored or still in progress."""
        stored = self.worlds.of(session).store.get(response_id)
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

    def _streamed(self, plan: Plan, trace: Trace, reasoning: str, world: World) -> Events:
        _store_in_progress(world, plan, trace)
        finished = False

        def events() -> Iterator[tuple[int, PlanEvent]]:
            nonlocal finished
            for sequence_number, event in numbered(plan.events(reasoning)):
                if event.data.get("response") is plan.response:  # the terminal event
                    _store_final(world, plan, trace)
                    finished = True
                yield sequence_number, event

        def interrupted(sent: int, error: dict[str, str] | None) -> dict[str, Any] | None:
            if finished:
                return None
            cut = plan.cut(sent, completed_at=int(self.clock.now()), error=error)
            _store_final(world, cut, trace)
            return cut.response

        return Events(events(), interrupted=interrupted)

    def _ttft(self, model: str) -> float:
        """A model's time to first token, by its timing (what a call timeout compares)."""
        return (self.scenarios.timing(model) or self.settings.timing).ttft

    def _background(
        self, plan: Plan, trace: Trace, reasoning: str, answer: Answer, stream: bool, world: World
    ) -> Answer:
        """Answers a background request at once (queued); its life goes on by the clock."""
        run = Run(plan, trace, self.clock.monotonic(), reasoning)
        _store_in_progress(world, plan, trace)
        world.runs.add(plan.response["id"], run)
        if stream:  # a client leaving this stream leaves the response running: nothing to cut
            events = self._run_events(world, plan.response["id"], run, -1)
            answer.events = Events(events, interrupted=None)
        else:
            answer.body = orjson.dumps(plan.in_progress_snapshot())
        return answer

    def _run_events(
        self, world: World, response_id: str, run: Run, after: int
    ) -> Iterator[tuple[int, PlanEvent]]:
        for number, event in run.events(after, self.clock.monotonic()):
            if event.data.get("response") is run.plan.response and world.runs.pop(response_id) is not None:
                _store_final(world, run.plan, run.trace)  # the terminal event: it has finished
            yield number, event

    def settle(self) -> None:
        """Stores the background responses that have finished by now as they finished, in every session."""
        for world in self.worlds:
            self._settle(world)

    def _settle(self, world: World) -> None:
        for _, run in world.runs.due(self.clock.monotonic()):
            _store_final(world, run.plan, run.trace)

    def delete(self, response_id: str, session: str = "") -> tuple[dict[str, Any], Trace]:
        """DELETE /responses/{id} (decision 2): it is gone, and so is a background one's run. The
        deleted object, and the response's trace."""
        world = self.worlds.of(session)
        trace = self._retrieve(world, response_id).trace  # a 404 for an unknown id
        world.runs.pop(response_id)
        world.store.delete(response_id)
        return {"id": response_id, "object": "response", "deleted": True}, trace

    def input_items(
        self, response_id: str, query: ItemsQuery, session: str = ""
    ) -> tuple[dict[str, Any], Trace]:
        """GET /responses/{id}/input_items: a page of the response's own input items, and its trace."""
        stored = self.retrieve(response_id, session)
        items: list[dict[str, Any]] = orjson.loads(stored.body)["input"]
        return page_of(items, query, "input item", f"in response '{response_id}'"), stored.trace

    def count_input_tokens(self, body: Any, session: str = "") -> tuple[dict[str, Any], Trace]:
        """POST /responses/input_tokens: what a create with this body counts as input, and a trace
        for it made from the request (so counting draws none of the seeded ids)."""
        request, _ = self.validator.check(body)
        if templates.applies(request):
            request = templates.filled(request)
        world = self.worlds.of(session)
        if request.get("conversation") is not None:
            request = _in_conversation(request, world)
        digits = request_digest(self.planner.seed, request)[:24].hex()
        counted = {
            "object": "response.input_tokens", "input_tokens": self.planner.input_tokens(request, world)
        }  # fmt: skip
        return counted, (digits[:32], digits[32:])

    def forget(self, session: str | None = None) -> None:
        """What it remembers gone (POST /_emulator/reset): stored responses, background runs,
        conversations, memories (back to the scenario files' seeds), the caches, ids from the
        start; in every session, or in one."""
        self.worlds.forget(session)

    def cancel(self, response_id: str, session: str = "") -> StoredResponse:
        """Cancels a background response still queued or in progress: stored `cancelled`, with
        the output produced so far; cancelling it again returns it as it is. The response as
        stored."""
        world = self.worlds.of(session)
        stored = self._retrieve(world, response_id)
        run = world.runs.pop(response_id)
        if run is not None:
            run.cancelled = True
            cut = run.plan.cut(run.due(self.clock.monotonic()), completed_at=None, cancelled=True)
            body = _store_final(world, cut, run.trace)
            return StoredResponse(response_id, body, cut.conversation, run.trace)
        response = orjson.loads(stored.body)
        if not response["background"]:
            raise ApiError(
                400, "response_not_cancellable",
                f"Response '{response_id}' was not created with background=true; only background "
                "responses can be cancelled.", "response_id",
            )  # fmt: skip
        if response["status"] == "cancelled":
            return stored
        raise ApiError(
            400, "response_not_cancellable",
            f"Response '{response_id}' has already finished ({response['status']}); only a queued or "
            "in-progress response can be cancelled.", "response_id",
        )  # fmt: skip


def _store_in_progress(world: World, plan: Plan, trace: Trace) -> None:
    response = plan.response
    if response["store"]:
        snapshot = orjson.dumps(plan.in_progress_snapshot())
        world.store.put(StoredResponse(response["id"], snapshot, None, trace))
    else:
        world.store.remember_unstored(response["id"])


def _store_final(world: World, plan: Plan, trace: Trace) -> bytes:
    """The response object as JSON, stored (unless store: false) as GET will return it."""
    response = plan.response
    rendered = orjson.dumps(response)
    if response["store"]:
        pieces = [item.pieces for item in plan.items] if plan.chunked else None
        world.store.put(StoredResponse(response["id"], rendered, plan.conversation, trace, pieces))
    else:
        world.store.remember_unstored(response["id"])
    return rendered


def _in_conversation(request: dict[str, Any], world: World) -> dict[str, Any]:
    """The request with its conversation in orq's form (`{id}`); OpenAI's form, a `conv_` id,
    must name one that exists in the session."""
    conversation = request["conversation"]  # (and no previous_response_id: validation saw to it)
    if isinstance(conversation, dict):
        return request
    if world.conversations.get(conversation) is None:
        said = f"Conversation '{conversation}' not found."
        raise ApiError(404, "conversation_not_found", said, "/conversation")
    return {**request, "conversation": {"id": conversation}}


def _faults(header: str) -> Faults:
    try:
        return parse_faults(header)
    except ValueError as exc:
        raise ApiError(400, "invalid_header", f"{FAULT_HEADER}: {exc}.", FAULT_HEADER) from None


def _nothing_after(starting_after: int, last: int) -> ApiError:
    return ApiError(
        400, "invalid_request",
        f"starting_after must be before the stream's last event ({last}), got {starting_after}: "
        "there is nothing after it to replay.",
        "starting_after",
    )  # fmt: skip


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
