"""Bearer-key authentication for the API routes (pure ASGI, so it costs almost nothing)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.contract.errors import ApiError
from emulator.http.errors import error_response

PROTECTED_PREFIXES = ("/v1/", "/v3/")


class BearerAuth:
    def __init__(self, app: ASGIApp, *, keys: tuple[str, ...], hint: str | None = None) -> None:
        self.app = app
        self.keys = tuple(k.encode() for k in keys)
        self.hint = hint  # said in the 401 message; only ever the public dev key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIXES):
            error = self._check(scope)
            if error is not None:
                await error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> ApiError | None:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        hint = f" (the emulator's dev key is '{self.hint}')" if self.hint else ""
        challenge = {"WWW-Authenticate": "Bearer"}
        if header is None:
            return ApiError(
                401,
                "authentication_required",
                f"Missing API key: send 'Authorization: Bearer <key>'{hint}.",
                headers=challenge,
            )
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            return ApiError(
                401,
                "authentication_required",
                f"The Authorization header must be 'Bearer <key>'{hint}.",
                headers=challenge,
            )
        token = token.strip()
        if not any(hmac.compare_digest(token, key) for key in self.keys):
            return ApiError(
                401,
                "invalid_api_key",
                f"The API key is not valid for this emulator{hint}.",
                headers=challenge,
            )
        return None
