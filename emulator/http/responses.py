"""The Responses routes: POST create, GET retrieve, under /v3/router and /v1.

`ResponsesRoutes` serves them straight from ASGI, ahead of Starlette's middleware stack (see
`emulator.app.EmulatorApp`): on these routes Starlette's per-request layers (error and exception
middleware, router matching, Request and Response objects) cost more than the emulator's own
work (measured with bench/).
It answers exactly as the rest of the app does: the same bearer check, the same error envelope,
405 with Allow for a wrong method, a logged 500 for a bug. Every other path goes to Starlette.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from emulator.clock import Clock
from emulator.contract.errors import ApiError, Failure, method_not_allowed
from emulator.contract.validation import RequestValidator
from emulator.engine.planner import Planner
from emulator.http.auth import BearerCheck
from emulator.http.body import ClientDisconnected, read_json
from emulator.http.errors import error_response, unexpected
from emulator.render import json as render_json
from emulator.state.responses import ResponseStore, StoredResponse

log = logging.getLogger("emulator")

PREFIXES = ("/v3/router/responses", "/v1/responses")

Answer = tuple[bytes, tuple[str, str], list[Failure]]  # JSON body, (trace id, span id), warnings
Handler = Callable[[Scope, Receive], Awaitable[Answer]]


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

    async def create(self, scope: Scope, receive: Receive) -> Answer:
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

    async def retrieve(self, scope: Scope, receive: Receive) -> Answer:
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


class ResponsesRoutes:
    """The Responses routes, served straight from ASGI; see the module docstring."""

    def __init__(self, *, api: ResponsesAPI, auth: BearerCheck | None) -> None:
        self.api = api
        self.auth = auth

    def match(self, scope: Scope) -> Handler | None:
        """The handler for this request, or None when it is not a Responses route."""
        return self._route(scope) if scope["type"] == "http" else None

    async def serve(self, route: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if self.auth is not None:
                self.auth.check(scope)
            body, trace, warnings = await route(scope, receive)
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        except ClientDisconnected:
            return
        except Exception as exc:
            await error_response(unexpected(scope["method"], scope["path"], exc))(scope, receive, send)
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-orq-trace-id", trace[0].encode()),
            (b"x-orq-trace-span-id", trace[1].encode()),
        ]
        if warnings:
            messages = [w.message for w in warnings]
            headers.append((b"x-emulator-contract-warnings", json.dumps(messages).encode()))
            for message in messages:
                log.warning("contract warning: %s", message)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

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


def _not_allowed(method: str, path: str, allowed: str) -> Handler:
    async def refuse(scope: Scope, receive: Receive) -> Answer:
        raise method_not_allowed(method, path, allowed)

    return refuse
