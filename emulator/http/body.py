"""Reading a JSON request body safely at the ASGI level: content type, size cap, parse errors, as 4xx."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.types import Message, Receive

from emulator.contract.errors import ApiError
from emulator.contract.limits import BodyLimits, place_too_deep, too_deep


class ClientDisconnected(Exception):
    """The client went away before sending its whole body; there is nobody to answer."""


async def read_json(
    headers: Mapping[bytes, bytes], receive: Receive, limits: BodyLimits, *, empty: Any = None
) -> tuple[bytes, Any]:
    """The raw body and its JSON, within `limits`; `headers` are the request's, by lower-case name.
    An empty body is a 400, or reads as `empty` when that is given."""
    raw_type = headers.get(b"content-type")
    if raw_type is not None and raw_type != b"application/json":
        _check_media_type(raw_type.decode("latin-1"))
    body = await read_body(headers, receive, limits)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc) and (place := place_too_deep(body, limits.max_depth)) is not None:
            raise too_deep(place, limits.max_depth) from None
        if not body.strip():
            if empty is not None:
                return body, empty
            raise ApiError(
                400, "invalid_request_body", "The request body is empty; send a JSON object."
            ) from None
        raise ApiError(400, "invalid_request_body", f"The request body is not valid JSON: {exc}.") from None
    if body.count(b"{") + body.count(b"[") > limits.max_depth or len(body) > limits.floor:
        limits.check(body, parsed)  # only a body that might break a shape limit is looked at
    return body, parsed


async def read_body(headers: Mapping[bytes, bytes], receive: Receive, limits: BodyLimits) -> bytes:
    """The raw body, at most `limits.max_bytes` long (longer: a 413)."""
    limit, declared = limits.max_bytes, headers.get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):  # all at once
        body: bytes = message.get("body", b"")
        if len(body) > limit:
            raise _too_large(limit)
        return body
    return await _rest(message, receive, limit)


async def request_json(request: Request, *, empty: Any = None) -> Any:
    """A Starlette route's JSON body, read as a create's is, within the app's body limits (an
    empty body reads as `empty` when that is given)."""
    headers = dict(request.scope["headers"])
    _, body = await read_json(headers, request.receive, request.app.responses.limits, empty=empty)
    return body


async def request_object(request: Request, *, empty: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Starlette route's body, which must be a JSON object (see request_json)."""
    body = await request_json(request, empty=empty)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request_body", "The body must be a JSON object.", "")
    return body


def _check_media_type(content_type: str) -> None:
    media = content_type.partition(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415, "unsupported_media_type",
            f"The body must be JSON sent with 'Content-Type: application/json' (got '{content_type}').",
        )  # fmt: skip


async def _rest(message: Message, receive: Receive, limit: int) -> bytes:
    """The body from `message` on, as the client sends it in several messages."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, "request_too_large", f"The request body exceeds the emulator's limit of {limit} bytes."
    )
