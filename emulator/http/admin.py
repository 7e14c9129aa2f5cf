"""The emulator's own routes, under /_emulator/ (behind the same bearer key as the API), and the
dashboard page that reads them (`/_emulator/ui`, open: it asks for the key itself)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import re
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from emulator.contract.echo import REDACTED
from emulator.contract.errors import ApiError, Failure
from emulator.engine.world import World
from emulator.http.auth import DASHBOARD
from emulator.http.body import read_body, request_json, request_object
from emulator.render.json import dumps
from emulator.state.journal import Exchange
from emulator.state.memories import DEFAULT_STORE, MemoryStore

STORE_KEY = re.compile(r"[A-Za-z0-9_.-]+")
FEED_KEEPALIVE = 15.0  # seconds of silence before a `: keepalive` comment on the feed
FEED_BACKLOG = 1000  # entries a slow page may fall behind by before the newest are dropped


async def reset(request: Request) -> Response:
    """Forgets everything: stored responses, background runs, conversations, memories (back to the
    scenario files' seeds), the caches, ids, the journal, the contract report, and how far every
    scenario's sequence has got. With `?session=<X-Emulator-Session value>`: that session's state,
    sequences and journal entries only."""
    app = request.app
    session = request.query_params.get("session")
    app.scenarios.reset(session)
    app.service.forget(session)
    if session is None:
        app.journal.clear()
        app.contract_report.clear()
    else:
        app.journal.drop(lambda entry: entry.session == session)
    return Response(status_code=204)


def _session(request: Request) -> str:
    """The session an admin call is about: `?session=`, else its own X-Emulator-Session."""
    return request.query_params.get("session", request.headers.get("x-emulator-session", ""))


def _world(request: Request) -> World:
    world: World = request.app.service.worlds.of(_session(request))
    return world


async def config(request: Request) -> Response:
    """The settings the server runs with (keys redacted but the documented dev key)."""
    app_config = request.app.config
    settings = dataclasses.asdict(app_config)
    for name in ("api_keys", "admin_keys"):  # the public dev key alone is shown: it is documented
        public = name == "api_keys" and app_config.uses_dev_key
        settings[name] = settings[name] if public else [REDACTED] * len(settings[name])
    return Response(dumps(settings), media_type="application/json")


async def clock(request: Request) -> Response:
    """The emulator's clock (GET); POST `{"freeze": "<ISO time>"}` (or `{"freeze": true}`: where it
    is), `{"advance": <seconds>}` or `{"thaw": true}` moves it."""
    app_clock = request.app.clock
    if request.method == "POST":
        _move(app_clock, await request_object(request))
    now = app_clock.now()
    at = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat().replace("+00:00", "Z")
    return Response(dumps({"now": now, "iso": at, "frozen": bool(getattr(app_clock, "frozen", False))}),
                    media_type="application/json")  # fmt: skip


def _move(app_clock: Any, change: Any) -> None:
    if (
        not isinstance(change, dict)
        or len(change) != 1
        or next(iter(change)) not in ("freeze", "advance", "thaw")
    ):
        raise ApiError(
            400, "invalid_request_body",
            'The body is one of {"freeze": "<ISO time>" or true}, {"advance": <seconds>}, {"thaw": true}.',
            "",
        )  # fmt: skip
    if not hasattr(app_clock, "thaw"):
        raise ApiError(409, "clock_fixed", "This emulator was given its own clock; it cannot be moved here.")
    ((name, value),) = change.items()
    if name == "advance":
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ApiError(400, "invalid_request_body", "advance is a number of seconds >= 0.", "/advance")
        app_clock.advance(float(value))
    elif name == "thaw":
        app_clock.thaw()
    elif value is True:
        app_clock.freeze()
    else:
        try:
            app_clock.freeze(datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())
        except ValueError:
            raise ApiError(
                400, "invalid_request_body", f"freeze: {value!r} is not an ISO time.", "/freeze"
            ) from None


async def contract_report(request: Request) -> Response:
    """Per client, every way its requests broke the contract or leaned on tolerance
    (emulator.state.contract_report); `?format=text`: the readable summary."""
    report = request.app.contract_report
    kind = request.query_params.getlist("format")
    if any(k not in ("json", "text") for k in kind):
        raise ApiError(400, "invalid_request", "format is json (the default) or text.", "format")
    if kind and kind[-1] == "text":
        return Response(report.summary() + "\n", media_type="text/plain")
    return Response(dumps(report.json()), media_type="application/json")


async def conversations(request: Request) -> Response:
    """The session's conversations, least recently used first: id, creation time, metadata, items."""
    store = _world(request).conversations
    listed = [
        {**c.json(), "items": len(c.items), "turns": c.context.turns}
        for c in (store.get(i) for i in store.ids()) if c is not None
    ]  # fmt: skip
    return Response(dumps({"conversations": listed}), media_type="application/json")


async def groups(request: Request) -> Response:
    """Responses by `thread.id` (with its tags) or by `identity.id`, from the journal's creates."""
    by = "thread" if request.url.path.endswith("threads") else "identity"
    session = request.query_params.get("session")
    found: dict[str, dict[str, Any]] = {}
    for entry in request.app.journal:
        if session is not None and entry.session != session:
            continue
        body = entry.body
        group = body.get(by) if isinstance(body, dict) else None
        if not isinstance(group, dict) or not isinstance(group.get("id"), str) or entry.response_id is None:
            continue
        kept = found.setdefault(group["id"], {"id": group["id"], "responses": []})
        kept.update({k: v for k, v in group.items() if k != "id" and v is not None})
        kept["responses"].append(entry.response_id)
    return Response(dumps({f"{by}s" if by == "thread" else "identities": list(found.values())}),
                    media_type="application/json")  # fmt: skip


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


async def memories(request: Request) -> Response:
    """The session's memory stores (from the scenario files) and each entity's documents."""
    memory = _world(request).memories
    body = {
        "memory_stores": [
            {"key": key, "description": description}
            for key, description in request.app.scenarios.loaded.memory_stores.items()
        ],
        "entities": [_entity(memory, e) for e in memory.entity_ids()],
    }
    return Response(dumps(body), media_type="application/json")


def _entity(memory: MemoryStore, entity_id: str) -> dict[str, Any]:
    return {"entity_id": entity_id, "documents": [d.json() for d in memory.documents(entity_id)]}


async def entity(request: Request) -> Response:
    """One entity's documents (GET); POST `{"text", "store"?}` adds one, PUT `{"documents": [text
    or {"text", "store"?}...]}` replaces them all, DELETE forgets the entity."""
    memory, entity_id = _world(request).memories, request.path_params["entity_id"]
    now = request.app.clock.now()
    if request.method == "POST":
        text, store = _document(await request_json(request), "")
        added = memory.write(entity_id, text, store, now)
        return Response(dumps(added.json()), status_code=201, media_type="application/json")
    if request.method == "PUT":
        given = (await request_object(request)).get("documents")
        if not isinstance(given, list):
            raise ApiError(400, "invalid_request_body", "documents is an array of texts or {text, store}.",
                           "/documents")  # fmt: skip
        memory.replace(entity_id, [_document(d, f"/documents/{n}") for n, d in enumerate(given)], now)
    elif request.method == "DELETE":
        if not memory.forget(entity_id):
            raise _no_entity(entity_id)
        return Response(status_code=204)
    elif not memory.documents(entity_id):
        raise _no_entity(entity_id)
    return Response(dumps(_entity(memory, entity_id)), media_type="application/json")


async def document(request: Request) -> Response:
    """DELETE one document of an entity."""
    entity_id, document_id = request.path_params["entity_id"], request.path_params["document_id"]
    if not _world(request).memories.delete(entity_id, document_id):
        raise ApiError(404, "not_found", f"Entity '{entity_id}' has no document '{document_id}'.",
                       "document_id")  # fmt: skip
    return Response(status_code=204)


def _document(given: Any, at: str) -> tuple[str, str]:
    """(text, store) of a document as the admin API takes it: a text, or {text, store?}."""
    if isinstance(given, str) and given:  # (the schema's MemoryDocumentInput)
        return given, DEFAULT_STORE
    store = given.get("store", DEFAULT_STORE) if isinstance(given, dict) else None
    if not isinstance(given, dict) or not isinstance(given.get("text"), str) or not given["text"]:
        raise ApiError(400, "invalid_request_body", f"{at or 'the body'}: a document is a text or "
                       "{\"text\": ..., \"store\": ...}.", f"{at}/text")  # fmt: skip
    if not isinstance(store, str) or not STORE_KEY.fullmatch(store):
        raise ApiError(400, "invalid_request_body", f"{at}/store is a memory store key ([A-Za-z0-9_.-]+).",
                       f"{at}/store")  # fmt: skip
    return given["text"], store


def _no_entity(entity_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No memories for entity '{entity_id}' in this session.", "entity_id")


async def upload(request: Request) -> Response:
    """PUT a scenario document (YAML or JSON, by its Content-Type) under a name: added to the set
    (replacing an upload of that name), or a 400 listing its problems (the set stays as it was).
    DELETE removes an uploaded one."""
    scenarios, name = request.app.scenarios, request.path_params["name"]
    if request.method == "DELETE":
        if not scenarios.remove(name):
            raise ApiError(404, "not_found", f"No uploaded scenario document '{name}' (files on disk are "
                           "removed from disk).", "name")  # fmt: skip
        return await listing(request)
    raw = await read_body(dict(request.scope["headers"]), request.receive, request.app.responses.limits)
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_request_body", "A scenario document is UTF-8 text.") from None
    if problems := scenarios.upload(name, text, as_json=media.endswith("json")):
        raise _invalid(problems)
    return await listing(request)


async def reload(request: Request) -> Response:
    """Reads the scenario files again (the set is kept as it was if they have problems: a 400)."""
    if problems := request.app.scenarios.load():
        raise _invalid(problems)
    return await listing(request)


def _invalid(problems: list[Any]) -> ApiError:
    """The 400 for scenario problems (emulator.scenarios.files.Problem: file, line, message)."""
    error = ApiError(400, "scenario_invalid", f"The scenarios have {len(problems)} problem(s): {problems[0]}")
    error.failures = [Failure(p.file + (f":{p.line}" if p.line else ""), str(p)) for p in problems]
    return error


async def requests(request: Request) -> Response:
    """The request journal, oldest first (GET), filtered by `session`, `scenario`, `thread`,
    `status` and `path` when given; DELETE empties it."""
    journal = request.app.journal
    if request.method == "DELETE":
        journal.clear()
        return Response(status_code=204)
    query = request.query_params
    kept = [entry for entry in journal if _matches(entry, query)]
    return Response(dumps({"requests": [entry.json() for entry in kept]}), media_type="application/json")


def _matches(entry: Exchange, query: Any) -> bool:
    if (session := query.get("session")) is not None and entry.session != session:
        return False
    if (scenario := query.get("scenario")) is not None and entry.scenario != scenario:
        return False
    if (status := query.get("status")) is not None and str(entry.status) != status:
        return False
    if (path := query.get("path")) is not None and entry.path != path:
        return False
    if (thread := query.get("thread")) is not None:
        body = entry.body
        return (
            isinstance(body, dict)
            and isinstance(body.get("thread"), dict)
            and body["thread"].get("id") == thread
        )
    return True


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
        events = service.events_of(entry.response_id, entry.session)
        stored = service.worlds.of(entry.session).store.get(entry.response_id)
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
        Route("/_emulator/config", config, methods=["GET"]),
        Route("/_emulator/clock", clock, methods=["GET", "POST"]),
        Route("/_emulator/conversations", conversations, methods=["GET"]),
        Route("/_emulator/contract-report", contract_report, methods=["GET"]),
        Route("/_emulator/threads", groups, methods=["GET"]),
        Route("/_emulator/identities", groups, methods=["GET"]),
        Route("/_emulator/scenarios", listing, methods=["GET"]),
        Route("/_emulator/scenarios/reload", reload, methods=["POST"]),
        Route("/_emulator/scenarios/{name}", upload, methods=["PUT", "DELETE"]),
        Route("/_emulator/memories", memories, methods=["GET"]),
        Route("/_emulator/memories/{entity_id}", entity, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/_emulator/memories/{entity_id}/{document_id}", document, methods=["DELETE"]),
        Route("/_emulator/requests", requests, methods=["GET", "DELETE"]),
        Route("/_emulator/requests/feed", feed, methods=["GET"]),
        Route("/_emulator/requests/{index:int}", detail, methods=["GET"]),
    ]
