"""JSON mode: the body is the Plan's final snapshot."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.engine.plan import Plan


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def render(plan: Plan) -> bytes:
    return orjson.dumps(plan.response)
