"""JSON bodies (a create's JSON-mode body is the stored response, serialised once by the service)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
