"""Bearer-key authentication for the API routes (pure ASGI, so it costs almost nothing)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.contract.errors import ApiError
from emulator.http.errors import error_response

PROTECTED_PREFIXES = ("/v1/", "/v3/", "/_emulator/")


class BearerCheck:
    """Raises the 401 a request without a valid `Authorization: Bearer <key>` gets."""

    def __init__(self, keys: tuple[str, ...], *, hint: str | None = None) -> None:
        self.keys = tuple(k.encode() for k in keys)
        self.hint = hint  # said in the 401 message; only ever the public dev key

    def check(self, headers: Mapping[bytes, bytes]) -> None:
        """`headers`: the request's, by lower-case name."""
        value = headers.get(b"authorization")
        if value is None:
            raise self._refusal(None, b"")
        scheme, _, token = value.partition(b" ")
        token = token.strip()
        if scheme.lower() == b"bearer":
            for key in self.keys:  # a loop, not any() over a generator: this runs on every request
                if hmac.compare_digest(token, key):
                    return
        raise self._refusal(scheme, token)

    def _refusal(self, scheme: bytes | None, token: bytes) -> ApiError:
        hint = f" (the emulator's dev key is '{self.hint}')" if self.hint else ""
        if scheme is None:
            code, message = (
                "authentication_required",
                f"Missing API key: send 'Authorization: Bearer <key>'{hint}.",
            )
        elif scheme.lower() != b"bearer" or not token:
            code, message = (
                "authentication_required",
                f"The Authorization header must be 'Bearer <key>'{hint}.",
            )
        else:
            code, message = "invalid_api_key", f"The API key is not valid for this emulator{hint}."
        return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


class BearerAuth:
    """Middleware applying a `BearerCheck` to every path under the API prefixes."""

    def __init__(self, app: ASGIApp, *, check: BearerCheck) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIXES):
            try:
                self.check.check(dict(scope["headers"]))
            except ApiError as error:
                await error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
