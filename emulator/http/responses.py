"""The Responses routes: POST create, GET retrieve (under /v3/router and /v1)."""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.clock import Clock
from emulator.contract.errors import ApiError, Failure
from emulator.contract.validation import RequestValidator
from emulator.engine.planner import Planner
from emulator.http.body import read_json
from emulator.render import json as render_json
from emulator.state.responses import ResponseStore, StoredResponse

log = logging.getLogger("emulator")


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
        routes = []
        for prefix in ("/v3/router", "/v1"):
            routes.append(Route(f"{prefix}/responses", self.create, methods=["POST"]))
            routes.append(Route(f"{prefix}/responses/{{response_id}}", self.retrieve, methods=["GET"]))
        return routes

    async def create(self, request: Request) -> Response:
        body, warnings = self.validator.check(await read_json(request, self.max_body_bytes))
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
        return _json(rendered, trace, warnings)

    async def retrieve(self, request: Request) -> Response:
        response_id = request.path_params["response_id"]
        if request.query_params.get("stream") in ("true", "1"):
            raise ApiError(
                501,
                "not_implemented",
                "Replaying a stored stream (stream=true) is not supported by this emulator version yet.",
                "stream",
            )
        stored = self.store.get(response_id)
        if stored is None:
            raise ApiError(
                404,
                "response_not_found",
                f"Response with id '{response_id}' not found.",
                "response_id",
            )
        return _json(stored.body, stored.trace, [])


def _json(body: bytes, trace: tuple[str, str], warnings: list[Failure]) -> Response:
    headers = {"x-orq-trace-id": trace[0], "x-orq-trace-span-id": trace[1]}
    if warnings:
        headers["x-emulator-contract-warnings"] = json.dumps([w.message for w in warnings])
        for warning in warnings:
            log.warning("contract warning: %s", warning.message)
    return Response(body, media_type="application/json", headers=headers)
