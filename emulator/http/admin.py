"""The emulator's own routes, under /_emulator/ (behind the same bearer key as the API), and the
dashboard page that reads them (`/_emulator/ui`, open: it asks for the key itself)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from emulator.contract.errors import ApiError
from emulator.http.auth import DASHBOARD
from emulator.render.json import dumps
from emulator.state.journal import Exchange

FEED_KEEPALIVE = 15.0  # seconds of silence before a `: keepalive` comment on the feed
FEED_BACKLOG = 1000  # entries a slow page may fall behind by before the newest are dropped


async def reset(request: Request) -> Response:
    """Forgets how far every scenario's sequence has got: all of them, or one session's
    (`?session=<X-Emulator-Session value>`)."""
    request.app.scenarios.reset(request.query_params.get("session"))
    return Response(status_code=204)


async def listing(request: Request) -> Response:
    """The loaded scenarios in matching order, their files, and the state of reloading: whether
    the files are watched, how many loads succeeded, the problems of the last one that failed."""
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
        "paths": list(scenarios.paths),
        "watching": bool(scenarios.paths) and request.app.config.reload,
        "loads": scenarios.loads,
    }
    return Response(dumps(body), media_type="application/json")


async def requests(request: Request) -> Response:
    """The request journal, oldest first (GET); DELETE empties it."""
    journal = request.app.journal
    if request.method == "DELETE":
        journal.clear()
        return Response(status_code=204)
    return Response(dumps({"requests": [entry.json() for entry in journal]}), media_type="application/json")


async def detail(request: Request) -> Response:
    """One journal entry with what the dashboard shows of it: its stream's events, each with the
    time it went out (`at`, seconds from the first; null when it was answered in JSON), and the
    final response as stored."""
    index = request.path_params["index"]
    entry = request.app.journal.entry(index)
    if entry is None:
        raise ApiError(404, "not_found", f"No journal entry {index} (evicted, or not made yet).", "index")
    body: dict[str, Any] = entry.json()
    events = response = None
    if entry.response_id is not None and entry.failure is None:
        service = request.app.service
        events = service.events_of(entry.response_id)
        stored = service.store.get(entry.response_id)
        response = None if stored is None else orjson.loads(stored.body)
    times = entry.event_times or []
    if events is not None:
        for n, event in enumerate(events):
            event_at: float | None = times[n] if n < len(times) else None
            event["at"] = None if event_at is None else round(event_at, 4)
    body["events"] = events
    body["response"] = response
    return Response(dumps(body), media_type="application/json")


async def feed(request: Request) -> StreamingResponse:
    """Server-sent events: each journal entry (as `GET /_emulator/requests` lists it) the moment it
    is recorded, after the entries already kept (`?after=<index>`: only those after it)."""
    journal = request.app.journal
    after = int(request.query_params.get("after", "-1"))
    queue: asyncio.Queue[Exchange] = asyncio.Queue(FEED_BACKLOG)

    def told(entry: Exchange) -> None:
        if not queue.full():
            queue.put_nowait(entry)

    unsubscribe = journal.subscribe(told)
    kept = [e for e in journal if e.index > after]

    async def frames() -> AsyncIterator[bytes]:
        try:
            for entry in kept:
                yield b"data: " + dumps(entry.json()) + b"\n\n"
            last = kept[-1].index if kept else after
            while True:
                try:
                    entry = await asyncio.wait_for(queue.get(), FEED_KEEPALIVE)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if entry.index > last:
                    last = entry.index
                    yield b"data: " + dumps(entry.json()) + b"\n\n"
        finally:
            unsubscribe()

    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)


async def dashboard(request: Request) -> Response:
    """The page: plain HTML, CSS and JS, no build step and no network."""
    return Response(_page(), media_type="text/html; charset=utf-8", headers={"cache-control": "no-cache"})


async def home(request: Request) -> Response:
    return RedirectResponse(DASHBOARD, status_code=307)


def _page() -> bytes:
    return files("emulator.http").joinpath("dashboard.html").read_bytes()


def routes() -> list[Route]:
    return [
        Route("/", home, methods=["GET"]),
        Route(DASHBOARD, dashboard, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/scenarios", listing, methods=["GET"]),
        Route("/_emulator/requests", requests, methods=["GET", "DELETE"]),
        Route("/_emulator/requests/feed", feed, methods=["GET"]),
        Route("/_emulator/requests/{index:int}", detail, methods=["GET"]),
    ]
