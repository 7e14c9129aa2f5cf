"""The Responses routes: POST create, GET retrieve (under /v3/router and /v1).

They are plain ASGI endpoints: the hot path builds no Request or Response objects. Errors are
raised as `ApiError` and rendered by the app's exception handlers like everywhere else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from emulator.clock import Clock
from emulator.contract.errors import ApiError, Failure
from emulator.contract.validation import RequestValidator
from emulator.engine.planner import Planner
from emulator.http.body import ClientDisconnected, read_json
from emulator.render import json as render_json
from emulator.state.responses import ResponseStore, StoredResponse

log = logging.getLogger("emulator")

Handler = Callable[[Scope, Receive], Awaitable[tuple[bytes, tuple[str, str], list[Failure]]]]


class _Endpoint:
    """Adapts a handler returning (JSON body, trace ids, warnings) to an ASGI app."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body, trace, warnings = await self.handler(scope, receive)
        except ClientDisconnected:
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-orq-trace-id", trace[0].encode()),
            (b"x-orq-trace-span-id", trace[1].encode()),
        ]
        if warnings:
            headers.append(
                (b"x-emulator-contract-warnings", json.dumps([w.message for w in warnings]).encode())
            )
            for warning in warnings:
                log.warning("contract warning: %s", warning.message)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class ResponsesAPI:
    def __init__(
        self,
        *,
        validator: RequestValidator,
        planner: Planner,
        store: ResponseStore,
        clock: Clock,
        max_body_bytes: int,
    ) -> None:
        self.validator = validator
        self.planner = planner
        self.store = store
        self.clock = clock
        self.max_body_bytes = max_body_bytes

    def routes(self) -> list[Route]:
        create, retrieve = _Endpoint(self.create), _Endpoint(self.retrieve)
        routes = []
        for prefix in ("/v3/router", "/v1"):
            routes.append(Route(f"{prefix}/responses", create, methods=["POST"]))
            routes.append(Route(f"{prefix}/responses/{{response_id}}", retrieve, methods=["GET"]))
        return routes

    async def create(self, scope: Scope, receive: Receive) -> tuple[bytes, tuple[str, str], list[Failure]]:
        body, warnings = self.validator.check(await read_json(scope, receive, self.max_body_bytes))
        if body.get("stream") is True:
            raise ApiError(
                501,
                "not_implemented",
                "stream:true is not supported by this emulator version yet; send stream:false.",
                "/stream",
            )
        plan = self.planner.plan(body)
        response = plan.response
        rendered = render_json.render(plan)
        trace = (response["telemetry"]["trace_id"], response["telemetry"]["span_id"])
        if response["store"]:
            self.store.put(StoredResponse(response["id"], rendered, plan.conversation, trace))
        else:
            self.store.remember_unstored(response["id"])
        delay = plan.total_delay()
        if delay:  # JSON mode answers after the Plan's duration, as a real model would
            await self.clock.sleep(delay)
        return rendered, trace, warnings

    async def retrieve(self, scope: Scope, receive: Receive) -> tuple[bytes, tuple[str, str], list[Failure]]:
        response_id = scope["path_params"]["response_id"]
        if parse_qs(scope["query_string"].decode("latin-1")).get("stream", [""])[-1] in ("true", "1"):
            raise ApiError(
                501,
                "not_implemented",
                "Replaying a stored stream (stream=true) is not supported by this emulator version yet.",
                "stream",
            )
        stored = self.store.get(response_id)
        if stored is None:
            raise ApiError(
                404, "response_not_found", f"Response with id '{response_id}' not found.", "response_id"
            )
        return stored.body, stored.trace, []
