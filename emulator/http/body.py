"""Reading a JSON request body safely: content type, size cap, parse errors, all as 4xx."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from emulator.contract.errors import ApiError


async def read_json(request: Request, limit: int) -> Any:
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media = content_type.partition(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise ApiError(
                415, "unsupported_media_type",
                f"The body must be JSON sent with 'Content-Type: application/json' (got '{content_type}').",
            )  # fmt: skip
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit():
        if int(declared) > limit:
            raise _too_large(limit)
        body = await request.body()  # the server enforces the declared length
    else:  # chunked: count as it arrives
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
    if not body.strip():
        raise ApiError(400, "invalid_request_body", "The request body is empty; send a JSON object.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_request_body", f"The request body is not valid JSON: {exc}.") from None


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, "request_too_large", f"The request body exceeds the emulator's limit of {limit} bytes."
    )
