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
                 413: "Body too large", 415: "Body is not JSON", 501: "Not implemented yet"}  # fmt: skip
    return {
        str(s): {
            "description": described[s],
            "content": {"application/json": {"schema": _ref("ErrorBody")}},
        }
        for s in statuses
    }


def _operations(prefix: str, tag: str) -> dict[str, Any]:
    response_json = {"application/json": {"schema": _ref("Response")}}
    return {
        f"{prefix}/responses": {
            "post": {
                "operationId": f"create-response-{tag}",
                "summary": "Create a response",
                "tags": [tag],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CreateResponseRequest")}},
                },
                "responses": {
                    "200": {"description": "The response object", "content": response_json},
                    **_errors(400, 401, 413, 415, 501),
                },
            }
        },
        f"{prefix}/responses/{{response_id}}": {
            "get": {
                "operationId": f"retrieve-response-{tag}",
                "summary": "Retrieve a stored response",
                "tags": [tag],
                "parameters": [
                    {
                        "name": "response_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {"description": "The stored response", "content": response_json},
                    **_errors(401, 404),
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
