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


def _errors(*statuses: int) -> dict[str, Any]:
    described = {400: "Invalid request", 401: "Missing or wrong bearer key", 404: "Not found",
                 409: "Still in progress", 413: "Body too large", 415: "Body is not JSON"}  # fmt: skip
    return {
        str(s): {
            "description": described[s],
            "content": {"application/json": {"schema": _ref("ErrorBody")}},
        }
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


_STREAM_HEADERS = [
    _parameter(
        "x-emulator-timing", "header",
        "Emulator extension: this request's pacing, a profile (instant, realistic) and/or settings "
        "(ttft_ms, tokens_per_second, chunk_tokens, jitter), e.g. 'realistic,ttft_ms=800'.",
        {"type": "string"},
    ),
    _parameter(
        "x-emulator-reasoning-events", "header",
        "Emulator extension: stream reasoning as orq does (response.reasoning.*) or as OpenAI does "
        "(response.reasoning_text.*).",
        {"enum": ["orq", "openai"]},
    ),
]  # fmt: skip


def _operations(prefix: str, tag: str) -> dict[str, Any]:
    response_json = {"application/json": {"schema": _ref("Response")}}
    events = {
        # Each frame is 'event: <type>' then 'data: <JSON>'; the schema is that JSON.
        "text/event-stream": {"schema": _ref("ResponseStreamEvent")}
    }
    return {
        f"{prefix}/responses": {
            "post": {
                "operationId": f"create-response-{tag}",
                "summary": "Create a response (server-sent events when the body says stream:true)",
                "tags": [tag],
                "parameters": _STREAM_HEADERS,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CreateResponseRequest")}},
                },
                "responses": {
                    "200": {
                        "description": "The response object, or its event stream",
                        "content": {**response_json, **events},
                    },
                    **_errors(400, 401, 413, 415),
                },
            }
        },
        f"{prefix}/responses/{{response_id}}": {
            "get": {
                "operationId": f"retrieve-response-{tag}",
                "summary": "Retrieve a stored response, or replay its event stream",
                "tags": [tag],
                "parameters": [
                    _parameter("response_id", "path", "The response's id.", {"type": "string"}),
                    _parameter("stream", "query", "Replay the stored events.", {"type": "boolean"}),
                    _parameter(
                        "starting_after",
                        "query",
                        "Replay only events after this sequence number.",
                        {"type": "integer", "minimum": 0},
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The stored response, or its replayed events",
                        "content": {**response_json, **events},
                    },
                    **_errors(400, 401, 404, 409),
                },
            }
        },
    }


@functools.cache
def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "responses-emulator",
            "version": __version__,
            "description": "Local emulator of orq.ai's Responses API. Built from the project's schemas/.",
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "security": [{"bearer": []}],
        "paths": {
            **_operations("/v3/router", "orq"),
            **_operations("/v1", "openresponses"),
            "/health": {
                "get": {
                    "operationId": "health",
                    "security": [],
                    "responses": {"200": {"description": "Alive"}},
                }
            },
        },
        "components": {
            "schemas": _components(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
