"""The served OpenAPI 3.1 document, assembled from `schemas/` (never written by hand).

Each schema file's `$defs` are hoisted into `components/schemas` and every `$ref` rewritten to
point there, so generic OpenAPI tools need no cross-file resolution.
"""

from __future__ import annotations

import functools
from typing import Any

from emulator import __version__
from emulator.contract import schemas

_TOP_NAMES = {
    schemas.REQUEST: "CreateResponseRequest",
    schemas.RESPONSE: "Response",
    schemas.ERROR: "ErrorBody",
    schemas.STREAM_EVENT: "ResponseStreamEvent",
    schemas.SCENARIO: "ScenarioFile",
}
_DROP = ("$schema", "$id", "$defs")


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v) for k, v in node.items() if k != "errorMessage"}
        ref = node.get("$ref")
        if isinstance(ref, str):
            target, _, fragment = ref.partition("#")
            if fragment.startswith("/$defs/"):
                out["$ref"] = "#/components/schemas/" + fragment.removeprefix("/$defs/")
            elif fragment == "" and target in _TOP_NAMES:
                out["$ref"] = "#/components/schemas/" + _TOP_NAMES[target]
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _components() -> dict[str, Any]:
    components: dict[str, Any] = {}
    for file, top in _TOP_NAMES.items():
        schema = schemas.load(file)
        for name, definition in {**schema.get("$defs", {}), top: schema}.items():
            if name in components:
                raise ValueError(f"schema name {name!r} is defined twice across schemas/")
            body = {k: v for k, v in definition.items() if k not in _DROP}
            components[name] = _rewrite(body)
    return components


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_DESCRIBED: dict[int | str, str] = {
    400: "Invalid request: the body, a header or the query breaks the contract (`param` names it)",
    401: "Missing or wrong bearer key",
    404: "Not found",
    408: "The request's headers or body arrived too slowly",
    409: "Still in progress",
    413: "Body too large",
    415: "Body is not JSON",
    431: "Request line and headers too large",
    500: "A bug in the emulator (reported in the envelope; the server goes on)",
    "4XX": "A failure a scenario or x-emulator-fail asked for, with the status it named; 429 also "
    "for --rate-limit and --token-limit",
    "5XX": "A model's failure, simulated by the gateway (x-emulator-fail, the models catalogue): "
    "its status after every retry and fallback, 504 provider_timeout for a call timeout",
    503: "Too many connections or streams at once; retry later",
}


def _errors(*statuses: int | str) -> dict[str, Any]:
    return {
        str(s): {"description": _DESCRIBED[s], "content": {"application/json": {"schema": _ref("ErrorBody")}}}
        for s in statuses
    }


def _parameter(name: str, where: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


def _header(name: str, schema_name: str) -> dict[str, Any]:
    described = schemas.load(schemas.EMULATOR_API)["$defs"][schema_name]["description"]
    return _parameter(name, "header", "Emulator extension. " + described, _ref(schema_name))


_EMULATOR_HEADERS = [
    _header("x-emulator-timing", "TimingHeader"),
    _header("x-emulator-reasoning-events", "ReasoningEventsHeader"),
    _header("x-emulator-shape", "ShapeHeader"),
    _header("x-emulator-session", "SessionHeader"),
    _header("x-emulator-fail", "FailHeader"),
]

# A server-sent event (OpenAPI 3.2 `itemSchema`): its data is a stream event's JSON, or the
# `[DONE]` sentinel that ends the stream.
_SERVER_SENT_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {
            "type": "string",
            "if": {"const": "[DONE]"},
            "else": {"contentMediaType": "application/json", "contentSchema": _ref("ResponseStreamEvent")},
        },
    },
}


def _answers(description: str, events: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": _ref("Response")}}
    if events:
        content["text/event-stream"] = {"itemSchema": _ref("ServerSentEvent")}
    return {"description": description, "content": content}


# Whole create bodies (schemathesis's examples phase builds none of its own from a schema with
# rules across fields).
_CREATE_EXAMPLES = {
    "hello": {"value": {"model": "openai/gpt-4o", "input": "Hello"}},
    "streamed": {"value": {"model": "anthropic/claude-sonnet-4-5", "input": "Tell me more", "stream": True}},
    "conversation": {"value": {"model": "openai/gpt-4o", "input": "Hi", "conversation": {"id": "chat-1"}}},
}


_CREATE_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _ref("CreateResponseRequest"), "examples": _CREATE_EXAMPLES}},
}


def _json_request(name: str) -> dict[str, Any]:
    """A required JSON request body of the named schema."""
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _body(name: str, description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": {"application/json": {"schema": _ref(name)}}}}


def _operations(prefix: str, tag: str) -> dict[str, Any]:
    response_id = _parameter("response_id", "path", "The response's id.", {"type": "string"})
    retrieve = {
        "operationId": f"retrieve-response-{tag}",
        "summary": "Retrieve a stored response, or replay its event stream",
        "tags": [tag],
        "parameters": [
            _parameter("response_id", "path", "The response's id.", {"type": "string"}),
            _parameter("stream", "query", "Replay the stored events as a stream.", _ref("StreamQuery")),
            _parameter(
                "starting_after", "query", "With stream=true: only the events after this sequence number.",
                _ref("StartingAfterQuery"),
            ),
            *_EMULATOR_HEADERS[:2],
        ],
        "responses": {
            "200": _answers("The stored response, or its replayed events"),
            **_errors(400, 401, 404, 408, 409, 431, 500),
        },
    }  # fmt: skip
    return {
        f"{prefix}/responses": {
            "post": {
                "operationId": f"create-response-{tag}",
                "summary": "Create a response (server-sent events when the body says stream:true)",
                "tags": [tag],
                "parameters": _EMULATOR_HEADERS,
                "requestBody": _CREATE_BODY,
                "responses": {
                    "200": {
                        **_answers("The response object, or its event stream"),
                        "links": {
                            "retrieve": {
                                "operationId": f"retrieve-response-{tag}",
                                "parameters": {"response_id": "$response.body#/id"},
                            }
                        },
                    },
                    **_errors(400, 401, 408, 413, 415, 431, 500, 503),
                    **_errors("4XX", "5XX"),
                },
            }
        },
        f"{prefix}/responses/{{response_id}}": {
            "get": retrieve,
            "head": {**retrieve, "operationId": f"head-response-{tag}", "summary": "GET without the body"},
            "delete": {
                "operationId": f"delete-response-{tag}",
                "summary": "Delete a stored response (then GET is a 404; contract decision 2)",
                "tags": [tag],
                "parameters": [response_id],
                "responses": {**_body("DeletedResponse", "It is gone"), **_errors(401, 404, 408, 431, 500)},
            },
        },
        f"{prefix}/responses/{{response_id}}/input_items": {
            "get": {
                "operationId": f"list-input-items-{tag}",
                "summary": "A page of the response's own input items (contract decision 2)",
                "tags": [tag],
                "parameters": [
                    response_id,
                    _parameter(
                        "limit", "query", "At most this many items (1-100, default 20).", _ref("LimitQuery")
                    ),
                    _parameter("order", "query", "asc (as sent) or desc (default).", _ref("OrderQuery")),
                    _parameter("after", "query", "Only the items after this item id.", {"type": "string"}),
                    _parameter("before", "query", "Only the items before this item id.", {"type": "string"}),
                    _parameter(
                        "include",
                        "query",
                        "Accepted; input items carry everything already.",
                        {"type": "array", "items": {"type": "string"}},
                    ),
                ],
                "responses": {
                    **_body("ResponseItemList", "The page"),
                    **_errors(400, 401, 404, 408, 431, 500),
                },
            }
        },
        f"{prefix}/responses/input_tokens": {
            "post": {
                "operationId": f"count-input-tokens-{tag}",
                "summary": "The input tokens a create with this body would count (usage.input_tokens)",
                "tags": [tag],
                "requestBody": _CREATE_BODY,
                "responses": {
                    **_body("InputTokens", "The count"),
                    **_errors(400, 401, 404, 408, 413, 415, 431, 500),
                },
            }
        },
        f"{prefix}/responses/{{response_id}}/cancel": {
            "post": {
                "operationId": f"cancel-response-{tag}",
                "summary": "Cancel a background response still queued or in progress (contract decision 2)",
                "tags": [tag],
                "parameters": [response_id],
                "responses": {
                    "200": _answers(
                        "The response, cancelled (as it was, when it had been cancelled before)", False
                    ),
                    **_errors(400, 401, 404, 408, 431, 500),
                },
            }
        },
    }


def _conversations(prefix: str, tag: str) -> dict[str, Any]:
    """OpenAI's Conversations API (emulator.http.conversations)."""

    def op(name: str, summary: str, ok: dict[str, Any], *statuses: int, **extra: Any) -> dict[str, Any]:
        return {
            "operationId": f"{name}-{tag}", "summary": summary, "tags": [tag], **extra,
            "responses": {**ok, **_errors(401, 408, 431, 500, *statuses)},
        }  # fmt: skip

    def body(name: str, required: bool = False) -> dict[str, Any]:
        return {"required": required, "content": {"application/json": {"schema": _ref(name)}}}

    conversation_id = _parameter("conversation_id", "path", "The conversation's id.", {"type": "string"})
    item_id = _parameter("item_id", "path", "The item's id.", {"type": "string"})
    page = [
        _parameter("limit", "query", "At most this many items (1-100, default 20).", _ref("LimitQuery")),
        _parameter("order", "query", "asc or desc (default).", _ref("OrderQuery")),
        _parameter("after", "query", "Only the items after this item id.", {"type": "string"}),
    ]
    one = _body("ConversationObject", "The conversation")
    return {
        f"{prefix}/conversations": {
            "post": op(
                "create-conversation", "Start a conversation", one, 400, 413, 415,
                requestBody=body("ConversationCreate"),
            )
        },
        f"{prefix}/conversations/{{conversation_id}}": {
            "get": op("get-conversation", "A conversation", one, 404, parameters=[conversation_id]),
            "post": op(
                "update-conversation", "Set a conversation's metadata", one, 400, 404,
                parameters=[conversation_id], requestBody=body("ConversationUpdate"),
            ),
            "delete": op(
                "delete-conversation", "Delete a conversation", _body("ConversationDeleted", "Gone"), 404,
                parameters=[conversation_id],
            ),
        },
        f"{prefix}/conversations/{{conversation_id}}/items": {
            "get": op(
                "list-conversation-items", "A page of its items", _body("ResponseItemList", "The page"),
                400, 404, parameters=[conversation_id, *page],
            ),
            "post": op(
                "add-conversation-items", "Add items", _body("ResponseItemList", "The items added"), 400, 404,
                parameters=[conversation_id], requestBody=body("ConversationItems", required=True),
            ),
        },
        f"{prefix}/conversations/{{conversation_id}}/items/{{item_id}}": {
            "get": op(
                "get-conversation-item", "One item", {"200": {"description": "The item", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["type"]}}}}},
                404, parameters=[conversation_id, item_id],
            ),
            "delete": op(
                "delete-conversation-item", "Delete an item", one, 404, parameters=[conversation_id, item_id]
            ),
        },
    }  # fmt: skip


def _admin() -> dict[str, Any]:
    def route(operation_id: str, summary: str, ok: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["emulator"],
            **extra,
            "responses": {**ok, **_errors(401, 408, 431, 500)},
        }

    emptied = {"204": {"description": "Done"}}
    session = _parameter(
        "session", "query", "Only this X-Emulator-Session's sequences and journal entries (default: all).",
        {"type": "string"},
    )  # fmt: skip
    listing = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}}
    of_session = _parameter(
        "session", "query", "The X-Emulator-Session whose state this is (default: the request's own).",
        {"type": "string"},
    )  # fmt: skip
    name = _parameter(
        "name", "path", "The document's name.", {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}
    )
    entity = _parameter("entity_id", "path", "The entity (memory.entity_id).", {"type": "string"})
    filters = [
        _parameter(name, "query", f"Only the entries with this {name}.", {"type": "string"})
        for name in ("session", "scenario", "thread", "status", "path")
    ]
    return {
        "/_emulator/reset": {
            "post": route(
                "reset-everything",
                "Forget everything (stored responses, background runs, conversations, memories, the caches, "
                "the journal, scenario sequences), or one session's state, sequences and journal entries",
                emptied,
                parameters=[session],
            )
        },
        "/_emulator/config": {
            "get": route(
                "get-config",
                "The settings the server runs with (keys redacted)",
                {
                    "200": {
                        "description": "The settings",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            )
        },
        "/_emulator/contract-report": {
            "get": route(
                "contract-report",
                "Per client (by User-Agent), how its requests broke the contract or leaned on tolerance",
                {
                    "200": {
                        "description": "The report (JSON), or its summary (?format=text)",
                        "content": {
                            "application/json": {"schema": _ref("ContractReport")},
                            "text/plain": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400),
                },
                parameters=[
                    _parameter("format", "query", "text: the readable summary.", {"enum": ["json", "text"]})
                ],
            )
        },
        "/_emulator/clock": {
            "get": route("get-clock", "The emulator's clock", _body("ClockState", "The clock")),
            "post": route(
                "move-clock",
                "Freeze, advance or thaw the clock",
                {**_body("ClockState", "The clock"), **_errors(400, 409)},
                requestBody=_json_request("ClockChange"),
            ),
        },
        **{
            f"/_emulator/{kind}": {
                "get": route(
                    f"list-{kind}",
                    summary,
                    {"200": {"description": "Them", "content": {"application/json": {"schema": listing}}}},
                )
            }
            for kind, summary in (
                ("conversations", "The conversations kept (id, metadata, items, turns)"),
                ("threads", "Responses by thread.id, with its tags (from the journal)"),
                ("identities", "Responses by identity.id, with its details (from the journal)"),
            )
        },
        "/_emulator/scenarios": {
            "get": route(
                "list-scenarios", "The loaded scenarios, in matching order", _body("ScenarioListing", "Them")
            )
        },
        "/_emulator/scenarios/reload": {
            "post": route(
                "reload-scenarios",
                "Read the scenario files again (kept as they were if they have problems: a 400 listing them)",
                {**_body("ScenarioListing", "The set now loaded"), **_errors(400)},
            )
        },
        "/_emulator/scenarios/{name}": {
            "put": route(
                "upload-scenarios",
                "Add a scenario document (YAML or JSON) under a name, replacing one of that name; a 400 "
                "lists its problems by line",
                {**_body("ScenarioListing", "The set now loaded"), **_errors(400, 413)},
                parameters=[name],
                requestBody={
                    "required": True,
                    "content": {
                        "application/yaml": {"schema": {"type": "string"}},
                        "application/json": {"schema": _ref("ScenarioFile")},
                    },
                },
            ),
            "delete": route(
                "delete-scenarios",
                "Remove an uploaded scenario document",
                {**_body("ScenarioListing", "The set now loaded"), **_errors(404)},
                parameters=[name],
            ),
        },
        "/_emulator/memories": {
            "get": route(
                "list-memories",
                "The memory stores and the session's entities with their documents",
                _body("MemoryListing", "Them"),
                parameters=[of_session],
            )
        },
        "/_emulator/memories/{entity_id}": {
            "get": route(
                "get-memories",
                "An entity's documents",
                {**_body("MemoryEntity", "Them"), **_errors(404)},
                parameters=[entity, of_session],
            ),
            "post": route(
                "add-memory",
                "Add a document to an entity",
                {
                    "201": {
                        "description": "The document",
                        "content": {"application/json": {"schema": _ref("MemoryDocument")}},
                    },
                    **_errors(400),
                },
                parameters=[entity, of_session],
                requestBody=_json_request("MemoryDocumentInput"),
            ),
            "put": route(
                "replace-memories",
                "Replace an entity's documents",
                {**_body("MemoryEntity", "Them"), **_errors(400)},
                parameters=[entity, of_session],
                requestBody=_json_request("MemoryDocuments"),
            ),
            "delete": route(
                "forget-memories",
                "Forget an entity",
                {**emptied, **_errors(404)},
                parameters=[entity, of_session],
            ),
        },
        "/_emulator/memories/{entity_id}/{document_id}": {
            "delete": route(
                "delete-memory",
                "Delete one document of an entity",
                {**emptied, **_errors(404)},
                parameters=[
                    entity,
                    _parameter("document_id", "path", "The document's id.", {"type": "string"}),
                    of_session,
                ],
            )
        },
        "/_emulator/requests": {
            "get": route(
                "list-requests",
                "The request journal, oldest first",
                _body("Journal", "The journal"),
                parameters=filters,
            ),
            "delete": route("clear-requests", "Empty the request journal", emptied),
        },
        "/_emulator/requests/feed": {
            "get": route(
                "follow-requests",
                "The journal live: the entries kept, then each one as it is recorded",
                {
                    "200": {
                        "description": "One `data:` line per entry (a JournalEntry), keep-alive comments",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    }
                },
                parameters=[
                    _parameter("after", "query", "Only the entries after this index.", {"type": "integer"})
                ],
            )
        },
        "/_emulator/requests/{index}": {
            "get": {
                **route(
                    "get-request",
                    "One journal entry, with its events and final response",
                    {**_body("JournalEntryDetail", "The entry"), **_errors(404)},
                    parameters=[
                        _parameter("index", "path", "The entry's index.", {"type": "integer", "minimum": 0})
                    ],
                ),
            }
        },
        "/_emulator/ui": _open(
            "dashboard",
            "The dashboard page (it asks for the key)",
            {"text/html": {"schema": {"type": "string"}}},
        ),
    }


def _open(operation_id: str, description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "security": [],
            "responses": {"200": {"description": description, "content": content}},
        }
    }


def _emulator_components() -> dict[str, Any]:
    defs = schemas.load(schemas.EMULATOR_API)["$defs"]
    return {name: _rewrite(definition) for name, definition in defs.items()}


@functools.lru_cache(maxsize=8)  # per base URL, which comes from the Host header: bounded
def document(base_url: str = "http://127.0.0.1:8080") -> dict[str, Any]:
    """The OpenAPI document; `servers` names `base_url` (the server it is served from)."""
    health = {"type": "object", "required": ["status", "version"], "properties": {
        "status": {"const": "ok"}, "version": {"type": "string"}}}  # fmt: skip
    return {
        "openapi": "3.2.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "responses-emulator",
            "version": __version__,
            "description": (
                "Local emulator of orq.ai's Responses API. Built from the project's schemas/. A method a "
                "path does not take is a 405 in the error envelope, with an Allow header."
            ),
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": {
            **_operations("/v3/router", "orq"),
            **_operations("/v1", "openresponses"),
            **_conversations("/v3/router", "orq"),
            **_conversations("/v1", "openresponses"),
            **_admin(),
            "/health": _open("health", "Alive", {"application/json": {"schema": health}}),
            "/openapi.json": _open(
                "openapi", "This document", {"application/json": {"schema": {"type": "object"}}}
            ),
        },
        "components": {
            "schemas": {**_components(), **_emulator_components(), "ServerSentEvent": _SERVER_SENT_EVENT},
            "responses": {
                "MethodNotAllowed": {
                    "description": "405 for a method a path does not take; Allow lists those it does",
                    "headers": {"Allow": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": _ref("ErrorBody")}},
                }
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
