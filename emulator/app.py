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
from starlette.types import Receive, Scope, Send

from emulator import __version__
from emulator.clock import Clock, FrozenClock, SystemClock
from emulator.config import DEV_API_KEY, Config
from emulator.contract import openapi
from emulator.contract.errors import ApiError
from emulator.contract.validation import RequestValidator
from emulator.engine.gateway import Gateway
from emulator.engine.lorem import LoremBackend
from emulator.engine.planner import Planner
from emulator.engine.textgen import TextGenerator
from emulator.engine.timing import parse_timing
from emulator.http import admin, errors
from emulator.http.auth import BearerAuth, BearerCheck
from emulator.http.responses import ResponsesAPI, ResponsesRoutes, StreamSettings
from emulator.ids import IdSource
from emulator.render.json import dumps
from emulator.scenarios.source import ScenarioFilesInvalid, ScenarioSource
from emulator.state.journal import Journal
from emulator.state.responses import ResponseStore


class EmulatorApp(Starlette):
    """Starlette, with the Responses routes served before its middleware stack is entered."""

    def __init__(self, *, responses: ResponsesRoutes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.responses = responses

    @property
    def journal(self) -> Journal:
        return self.responses.journal

    def scenario_source(self) -> ScenarioSource:
        """The app's scenarios, set up on first use when it was started without any (tests that
        script the emulator at run time): until then, requests skip the scenario layer."""
        scenarios: ScenarioSource | None = self.state.scenarios
        if scenarios is None:
            api, config = self.responses.api, self.state.config
            scenarios = ScenarioSource([], api.planner.backend, strict=config.strict_scenarios)
            api.planner.backend = scenarios.backend
            api.gateway = Gateway(scenarios.failures, scenarios.backend.counters)
            self.state.scenarios = scenarios
        return scenarios

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.responses.match(scope)
        if route is None:
            await super().__call__(scope, receive, send)
        else:
            await self.responses.serve(route, scope, receive, send)


def create_app(config: Config | None = None, *, clock: Clock | None = None) -> EmulatorApp:
    config = config or Config()
    if clock is None:
        clock = SystemClock() if config.frozen_time is None else FrozenClock(config.frozen_time)
    store = ResponseStore(config.max_stored)
    ids = IdSource(config.seed, clock)
    planner = Planner(
        seed=config.seed,
        clock=clock,
        ids=ids,
        store=store,
        backend=LoremBackend(TextGenerator()),
        function_call_status=config.function_call_status,
    )
    scenarios, gateway = None, None
    if config.scenarios or config.strict_scenarios:
        scenarios = ScenarioSource(config.scenarios, planner.backend, strict=config.strict_scenarios)
        if config.scenarios and (problems := scenarios.load()):
            raise ScenarioFilesInvalid(problems)
        planner.backend = scenarios.backend
        gateway = Gateway(scenarios.failures, scenarios.backend.counters)
    api = ResponsesAPI(
        validator=RequestValidator(strict=config.strict),
        planner=planner,
        store=store,
        clock=clock,
        max_body_bytes=config.max_body_bytes,
        streams=StreamSettings(
            timing=parse_timing(config.timing),
            keepalive=config.keepalive,
            done_sentinel=config.done_sentinel,
            reasoning_events=config.reasoning_events,
        ),
        gateway=gateway,
    )
    openapi_body = _openapi_body()

    async def health(request: Request) -> Response:
        return Response(dumps({"status": "ok", "version": __version__}), media_type="application/json")

    async def openapi_json(request: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    auth = (
        BearerCheck(config.api_keys, hint=DEV_API_KEY if config.uses_dev_key else None)
        if config.auth
        else None
    )
    # The other /v1 and /v3 paths answer 401 before 404, as the Responses routes do.
    middleware = [Middleware(BearerAuth, check=auth)] if auth is not None else []
    app = EmulatorApp(
        responses=ResponsesRoutes(api=api, auth=auth, journal=Journal(config.journal)),
        routes=[Route("/health", health), Route("/openapi.json", openapi_json), *admin.routes()],
        lifespan=_watching(scenarios) if scenarios is not None and config.reload else None,
        middleware=middleware,
        exception_handlers={
            ApiError: errors.on_api_error,
            HTTPException: errors.on_http_exception,
            Exception: errors.on_unexpected,
        },
    )
    app.state.config = config
    app.state.clock = clock
    app.state.store = store
    app.state.scenarios = scenarios
    return app


@functools.cache
def _openapi_body() -> bytes:
    return dumps(openapi.document())


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
