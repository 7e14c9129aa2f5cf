"""OpenAI's Conversations API (under /v1 and /v3/router), on the store orq's `conversation`
uses too (emulator.state.conversations): create, read, update the metadata of and delete a
conversation; list, add, read and delete its items. `conversation="conv_..."` in a create then
continues one, as `conversation: {id}` does."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.contract.errors import ApiError, Failure, invalid_request
from emulator.contract.extensions import item_list, items_query, page_of
from emulator.engine import items as kinds
from emulator.engine.backend import SESSION_HEADER
from emulator.engine.items import normalise_input
from emulator.engine.world import World
from emulator.http.body import request_object
from emulator.render.json import dumps
from emulator.state.conversations import StoredConversation
from emulator.state.responses import Conversation

PREFIXES = ("/v1", "/v3/router")
MAX_METADATA = 16


def _json(body: Any) -> Response:
    return Response(dumps(body), media_type="application/json")


async def _body(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The JSON body, an object with only the `allowed` keys (the schema's ConversationCreate,
    ConversationUpdate or ConversationItems)."""
    body = await request_object(request, empty={})
    for key in body:
        if key not in allowed:
            raise invalid_request(
                [Failure(f"/{key}", f"/{key} is not a field here (fields: {', '.join(allowed)})")]
            )
    return body


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    metadata = body.get("metadata")
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA:
        raise invalid_request(
            [Failure("/metadata", f"metadata is an object of at most {MAX_METADATA} pairs")]
        )
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise invalid_request(
                [
                    Failure(
                        f"/metadata/{key}", "metadata values are strings of at most 512 characters, keys 64"
                    )
                ]
            )
    return metadata


def _items(request: Request, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The body's `items`, checked as a create's `input` is, with their ids given."""
    raw = body.get("items", [])
    if not isinstance(raw, list):
        raise invalid_request([Failure("/items", "/items must be an array of input items")])
    app = request.app
    try:
        app.service.validator.check({"model": "openai/gpt-4o", "input": raw})
    except ApiError as error:  # its pointers say /input: here they are /items
        error.param = error.param and error.param.replace("/input", "/items", 1)
        error.failures = [
            Failure((f.param or "").replace("/input", "/items", 1), f.message) for f in error.failures
        ]
        error.message = error.message.replace("/input", "/items")
        raise
    items: list[dict[str, Any]] = normalise_input(raw, _world(request).ids)
    return items


def _world(request: Request) -> World:
    """The state of the request's session (X-Emulator-Session)."""
    world: World = request.app.service.worlds.of(request.headers.get(SESSION_HEADER, ""))
    return world


def _recounted(conversation: StoredConversation) -> None:
    """Its context worked out again from its items (after items were added or deleted)."""
    calls = {i["call_id"]: i["name"] for i in conversation.items if i.get("type") == "function_call"}
    context = Conversation(kinds.input_tokens(conversation.items), calls, conversation.context.turns)
    conversation.context = context


def _found(request: Request) -> StoredConversation:
    conversation_id = request.path_params["conversation_id"]
    found = _world(request).conversations.get(conversation_id)
    if found is None:
        raise ApiError(
            404, "conversation_not_found", f"Conversation '{conversation_id}' not found.", "conversation_id"
        )
    assert isinstance(found, StoredConversation)
    return found


async def create(request: Request) -> Response:
    body = await _body(request, ("items", "metadata"))
    metadata = _metadata(body)
    items = _items(request, body)
    world = _world(request)
    conversation = StoredConversation(world.ids.prefixed("conv"), int(request.app.clock.now()), metadata)
    conversation.items = items
    _recounted(conversation)
    world.conversations.put(conversation)
    return _json(conversation.json())


async def one(request: Request) -> Response:
    conversation = _found(request)
    if request.method == "POST":  # update its metadata
        conversation.metadata = _metadata(await _body(request, ("metadata",)))
    elif request.method == "DELETE":
        _world(request).conversations.delete(conversation.id)
        return _json({"id": conversation.id, "object": "conversation.deleted", "deleted": True})
    return _json(conversation.json())


async def items(request: Request) -> Response:
    conversation = _found(request)
    if request.method == "POST":
        body = await _body(request, ("items",))
        if "items" not in body:
            raise invalid_request([Failure("/items", "/items is required: the items to add")])
        added = _items(request, body)
        conversation.items += added
        _recounted(conversation)
        return _json(item_list(added))
    query = items_query(parse_qs(request.url.query, keep_blank_values=True))
    return _json(page_of(conversation.items, query, "item", "in this conversation"))


async def item(request: Request) -> Response:
    conversation = _found(request)
    item_id = request.path_params["item_id"]
    at = next((n for n, i in enumerate(conversation.items) if i.get("id") == item_id), None)
    if at is None:
        raise ApiError(
            404, "item_not_found", f"No item '{item_id}' in conversation '{conversation.id}'.", "item_id"
        )
    if request.method == "DELETE":
        del conversation.items[at]
        _recounted(conversation)
        return _json(conversation.json())
    return _json(conversation.items[at])


def routes() -> list[Route]:
    return [
        route
        for prefix in PREFIXES
        for route in (
            Route(f"{prefix}/conversations", create, methods=["POST"]),
            Route(f"{prefix}/conversations/{{conversation_id}}", one, methods=["GET", "POST", "DELETE"]),
            Route(f"{prefix}/conversations/{{conversation_id}}/items", items, methods=["GET", "POST"]),
            Route(
                f"{prefix}/conversations/{{conversation_id}}/items/{{item_id}}",
                item,
                methods=["GET", "DELETE"],
            ),
        )
    ]
