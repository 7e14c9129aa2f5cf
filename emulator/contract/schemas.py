"""Loads `schemas/*.json`, the single source of truth for validation, the OpenAPI document and tests.

Works from a checkout (the top-level `schemas/` folder) and from an installed wheel (the same
files packaged as `emulator/_data/schemas`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import referencing
from referencing.jsonschema import DRAFT202012

REQUEST = "create-response-request.schema.json"
RESPONSE = "response.schema.json"
ERROR = "error.schema.json"
STREAM_EVENT = "response-stream-event.schema.json"
SCENARIO = "scenario.schema.json"
EMULATOR_API = "emulator-api.schema.json"  # the x-emulator-* headers, the GET query, the admin bodies
ALL = (REQUEST, RESPONSE, ERROR, STREAM_EVENT, SCENARIO, EMULATOR_API)

_PACKAGE = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Path:
    """`schemas` or `scenarios`: the packaged copy when installed, else the checkout's folder."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cannot find the {name}/ folder next to {_PACKAGE}")


@functools.cache
def load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = orjson.loads((data_dir("schemas") / name).read_bytes())
    return schema


@functools.cache
def registry() -> referencing.Registry:
    resources = [(load(n)["$id"], DRAFT202012.create_resource(load(n))) for n in ALL]
    return referencing.Registry().with_resources(resources)


@functools.cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    """A compiled (detailed, pure-Python) validator; cached, so built once per process."""
    schema = load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry())
