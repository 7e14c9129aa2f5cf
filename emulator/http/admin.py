"""The emulator's own routes, under /_emulator/ (behind the same bearer key as the API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.render.json import dumps


async def reset(request: Request) -> Response:
    """Forgets how far every scenario's sequence has got: all of them, or one session's
    (`?session=<X-Emulator-Session value>`)."""
    request.app.scenarios.reset(request.query_params.get("session"))
    return Response(status_code=204)


async def listing(request: Request) -> Response:
    """The loaded scenarios in matching order, and the problems of the last reload, if any."""
    scenarios = request.app.scenarios
    loaded = scenarios.loaded
    body = {
        "scenarios": [
            {
                "name": s.name,
                "where": s.where,
                "priority": s.priority,
                "turns": len(s.turns),
                "after": s.after,
            }
            for s in loaded.scenarios
        ],
        "files": loaded.files,
        "problems": [str(p) for p in scenarios.problems],
    }
    return Response(dumps(body), media_type="application/json")


async def requests(request: Request) -> Response:
    """The request journal, oldest first (GET); DELETE empties it."""
    journal = request.app.journal
    if request.method == "DELETE":
        journal.clear()
        return Response(status_code=204)
    return Response(dumps({"requests": [entry.json() for entry in journal]}), media_type="application/json")


def routes() -> list[Route]:
    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/scenarios", listing, methods=["GET"]),
        Route("/_emulator/requests", requests, methods=["GET", "DELETE"]),
    ]
