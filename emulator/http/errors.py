"""Renders every error, expected or not, as the orq error envelope."""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from emulator.contract.errors import ApiError, method_not_allowed, no_route, routes_document

log = logging.getLogger("emulator")


def error_response(error: ApiError, extra: dict[str, str] | None = None) -> Response:
    """The envelope, with the error's own headers after any `extra` ones (the emulator's)."""
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers={**extra, **error.headers} if extra else error.headers,
    )


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no route) and 405 (route, wrong method)."""
    assert isinstance(exc, HTTPException)
    routes = routes_document(request.scope)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return error_response(method_not_allowed(request.method, request.url.path, allowed, routes))
    if exc.status_code == 404:
        return error_response(no_route(request.method, request.url.path, routes))
    return error_response(ApiError(exc.status_code, None, str(exc.detail)))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    return error_response(unexpected(request.method, request.url.path, exc))


def unexpected(method: str, path: str, exc: Exception) -> ApiError:
    """The 500 for a bug in the emulator: logged with its traceback, answered in the envelope."""
    log.error("unexpected error while serving %s %s", method, path, exc_info=exc)
    return ApiError(
        500,
        "internal_error",
        f"The emulator failed unexpectedly ({type(exc).__name__}); this is a bug in responses-emulator.",
    )
