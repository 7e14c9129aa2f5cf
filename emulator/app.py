"""create_app(config) -> the Starlette app. The only place that wires the pieces together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import __version__
from emulator.clock import Clock, ControlledClock
from emulator.config import DEV_API_KEY, Config
from emulator.contract import openapi
from emulator.contract.errors import ApiError
from emulator.contract.limits import BodyLimits
from emulator.contract.validation import RequestValidator
from emulator.engine.lorem import LoremBackend
from emulator.engine.planner import Planner
from emulator.engine.ratelimit import RateLimiter, parse_limit
from emulator.engine.service import ResponsesService, Settings
from emulator.engine.textgen import TextGenerator
from emulator.engine.timing import parse_timing
from emulator.engine.world import Caps, Worlds
from emulator.http import admin, conversations, errors
from emulator.http.auth import BearerAuth, BearerCheck
from emulator.http.connections import ConnectionLimits
from emulator.http.cors import from_a_page, with_cors
from emulator.http.journaling import journaled, recorded
from emulator.http.outbound import HttpxCaller
from emulator.http.responses import ResponsesRoutes, StreamFraming
from emulator.render.json import dumps
from emulator.scenarios.source import ScenarioFilesInvalid, ScenarioSource
from emulator.state.contract_report import ContractReport
from emulator.state.journal import Journal
from emulator.state.responses import ResponseStore


class EmulatorApp(Starlette):
    """Starlette, with the Responses routes served before its middleware stack is entered (CORS
    wraps both), and the parts tests and the admin routes look at as typed attributes."""

    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        service: ResponsesService,
        scenarios: ScenarioSource,
        responses: ResponsesRoutes,
        contract_report: ContractReport | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.contract_report = contract_report or ContractReport()
        self._cors: ASGIApp | None = with_cors(self._route, config.cors_origins) if config.cors else None
        self.config = config
        self.clock = clock
        self.service = service
        self.scenarios = scenarios
        self.responses = responses

    @property
    def journal(self) -> Journal:
        return self.responses.journal

    @property
    def store(self) -> ResponseStore:
        return self.service.store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._cors is not None and from_a_page(scope):  # CORS (http/cors.py) only for browsers
            await self._cors(scope, receive, send)
            return
        target = self.responses.match(scope)  # _route's, inline: the hot path awaits one call less
        if target is None:
            await self._other(scope, receive, send)
        else:
            await self.responses.serve(target, scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.responses.match(scope)
        if target is None:
            await self._other(scope, receive, send)
        else:
            await self.responses.serve(target, scope, receive, send)

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The routes besides the Responses ones; a client's requests to them journaled."""
        if scope["type"] == "http" and self.journal.enabled and recorded(scope["path"]):
            serve = super().__call__
            limit = self.config.max_body_bytes
            await journaled(
                serve, self.journal, self.contract_report, self.clock, limit, scope, receive, send
            )
        else:
            await super().__call__(scope, receive, send)


def rate_limiter(config: Config) -> RateLimiter | None:
    """The per-key rate limits the configuration asks for, if any."""
    if config.rate_limit is None and config.token_limit is None:
        return None
    requests = parse_limit(config.rate_limit) if config.rate_limit is not None else None
    return RateLimiter(requests, parse_limit(config.token_limit) if config.token_limit is not None else None)


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> EmulatorApp:
    config = config or Config()
    if clock is None:
        clock = ControlledClock(config.frozen_time)
    journal = Journal(config.journal)
    contract_report = ContractReport()
    default = LoremBackend(TextGenerator())
    scenarios = ScenarioSource(config.scenarios, default, strict=config.strict_scenarios)
    if config.scenarios and (problems := scenarios.load()):
        raise ScenarioFilesInvalid(problems)
    caps = Caps(
        config.max_stored, config.max_conversations, config.max_memories, config.cache_size,
        config.max_sessions,
    )  # fmt: skip
    worlds = Worlds(config.seed, clock, caps, lambda: scenarios.loaded.memories)
    scenarios.on_load = worlds.reseed  # a reload's seeded memories replace the last load's
    planner = Planner(
        seed=config.seed, clock=clock, worlds=worlds, function_call_status=config.function_call_status
    )
    service = ResponsesService(
        validator=RequestValidator(strict=config.strict, default_provider=config.default_provider),
        planner=planner,
        clock=clock,
        settings=Settings(
            parse_timing(config.timing),
            config.reasoning_events,
            config.max_delay,
            HttpxCaller() if config.allow_live_http else None,
            rate_limiter(config),
        ),
        backend=default,
        scenarios=scenarios,
    )

    async def health(request: Request) -> Response:
        return Response(dumps({"status": "ok", "version": __version__}), media_type="application/json")

    async def openapi_json(request: Request) -> Response:
        """The document, its `servers` naming the address this server listens on."""
        host, port = request.scope.get("server") or ("127.0.0.1", config.port)
        scheme = request.url.scheme
        base = f"{scheme}://{host}" + ("" if (scheme, port) in (("http", 80), ("https", 443)) else f":{port}")
        return Response(_openapi_body(base), media_type="application/json")

    auth = (
        BearerCheck(config.api_keys, hint=DEV_API_KEY if config.uses_dev_key else None)
        if config.auth
        else None
    )
    admin_auth = BearerCheck(config.admin_keys, what="admin key") if config.admin_keys else auth
    # The other /v1 and /v3 paths answer 401 before 404, as the Responses routes do.
    middleware = [Middleware(BearerAuth, check=auth, admin=admin_auth)] if auth or admin_auth else []
    responses = ResponsesRoutes(
        service=service,
        auth=auth,
        journal=journal,
        clock=clock,
        limits=body_limits(config),
        framing=StreamFraming(config.keepalive, config.done_sentinel),
        max_streams=config.max_streams,
        report=contract_report,  # every request counted, however many the journal keeps
    )
    return EmulatorApp(
        config=config,
        clock=clock,
        service=service,
        scenarios=scenarios,
        responses=responses,
        contract_report=contract_report,
        routes=[
            Route("/health", health),
            Route("/openapi.json", openapi_json),
            *admin.routes(),
            *conversations.routes(),
        ],
        lifespan=_watching(scenarios) if config.scenarios and config.reload else None,
        middleware=middleware,
        exception_handlers={
            ApiError: errors.on_api_error,
            HTTPException: errors.on_http_exception,
            Exception: errors.on_unexpected,
        },
    )


def body_limits(config: Config) -> BodyLimits:
    return BodyLimits(
        config.max_body_bytes, config.max_depth, config.max_string, config.max_input_items, config.max_tools
    )


def connection_limits(config: Config) -> ConnectionLimits:
    return ConnectionLimits(
        config.header_timeout, config.body_timeout, config.max_connections, config.max_header_bytes
    )


@functools.lru_cache(maxsize=8)
def _openapi_body(base_url: str) -> bytes:
    return dumps(openapi.document(base_url))


def _watching(scenarios: ScenarioSource) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that reloads the scenario files whenever they change."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(scenarios.watch())
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    return lifespan
