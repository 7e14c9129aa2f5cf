"""Plausible JSON for a JSON Schema: function-call arguments and structured output.

Deterministic for a given random source. It covers what tool and response schemas use: objects
(required properties always, optional ones half the time), arrays, strings (enum, const, format
date / date-time / email / uri, length bounds), numbers and integers (bounds), booleans, null,
`anyOf`/`oneOf` (one branch), and local `$ref`s. Anything else gets a string.
"""

from __future__ import annotations

import math
import random
from typing import Any

_WORDS = (
    "alpha", "amber", "cedar", "delta", "ember", "harbor", "juniper", "lumen", "maple", "nova",
    "orbit", "pine", "quartz", "river", "sierra", "tango", "umber", "violet", "willow", "zephyr",
)  # fmt: skip
_MAX_DEPTH = 6


def generate(schema: Any, rng: random.Random, root: Any = None, depth: int = 0) -> Any:
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None if depth > _MAX_DEPTH else rng.choice(_WORDS)
    if "$ref" in schema and isinstance(schema["$ref"], str) and schema["$ref"].startswith("#/"):
        return generate(_referenced(schema["$ref"], root), rng, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return rng.choice(schema["enum"])
    for union in ("anyOf", "oneOf"):
        if schema.get(union):
            return generate(rng.choice(schema[union]), rng, root, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"] or ["null"]
        kind = rng.choice(kinds)
    return _of_type(kind, schema, rng, root, depth)


def _referenced(ref: str, root: Any) -> Any:
    """The subschema a local `$ref` ("#/$defs/city") points at; {} where the path leads nowhere."""
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return target


def _of_type(kind: str, schema: dict[str, Any], rng: random.Random, root: Any, depth: int) -> Any:
    if kind == "object":
        required = set(schema.get("required", []))
        return {
            name: generate(sub, rng, root, depth + 1)
            for name, sub in schema.get("properties", {}).items()
            if name in required or rng.random() < 0.5
        }
    if kind == "array":
        low = schema.get("minItems", 1)
        high = max(low, min(schema.get("maxItems", low + 2), low + 2))
        return [
            generate(schema.get("items", {}), rng, root, depth + 1) for _ in range(rng.randint(low, high))
        ]
    if kind == "integer":
        low, high = _bounds(schema, 1, 100, step=1)
        return rng.randint(math.ceil(low), math.floor(high))
    if kind == "number":
        low, high = _bounds(schema, 0, 100, step=0.01)
        return min(max(round(rng.uniform(low, high), 2), low), high)  # rounding stays in bounds
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string(schema, rng)


def _bounds(schema: dict[str, Any], low: float, high: float, step: float) -> tuple[float, float]:
    """The inclusive range to draw from; an exclusive bound moves in by one `step`."""
    if "minimum" in schema:
        low = schema["minimum"]
    elif "exclusiveMinimum" in schema:
        low = schema["exclusiveMinimum"] + step
    if "maximum" in schema:
        high = schema["maximum"]
    elif "exclusiveMaximum" in schema:
        high = schema["exclusiveMaximum"] - step
    else:
        high = max(high, low + high)
    return low, max(low, high)


def _string(schema: dict[str, Any], rng: random.Random) -> str:
    match schema.get("format"):
        case "date":
            return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        case "date-time":
            return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
        case "email":
            return f"{rng.choice(_WORDS)}@example.com"
        case "uri" | "url":
            return f"https://example.com/{rng.choice(_WORDS)}"
    text = rng.choice(_WORDS)
    while len(text) < schema.get("minLength", 0):
        text += "-" + rng.choice(_WORDS)
    return text[: schema["maxLength"]] if "maxLength" in schema else text
