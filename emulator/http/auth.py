"""Bearer-key authentication (pure ASGI, so it costs almost nothing).

The rules (README, Authentication): `Authorization: Bearer <key>`, the scheme in any case, spaces
around the key ignored; a request with two Authorization headers is refused, since which one counts
would be a guess. Everything under /v1/, /v3/ and /_emulator/ takes a key; /health,
/openapi.json and the dashboard page (/_emulator/ui, which asks for the key) are open. The
/_emulator/ routes take the admin keys when there are any (and then only those), else the API keys.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.contract.errors import ApiError
from emulator.http.errors import error_response

API_PREFIXES = ("/v1/", "/v3/")
ADMIN_PREFIX = "/_emulator/"
ADMIN_ROOT = "/_emulator"  # itself no route, but under the same key: 401 before 404, as elsewhere
DASHBOARD = "/_emulator/ui"  # the page is open: it asks for the key and sends it with each call


class BearerCheck:
    """Raises the 401 a request without a valid `Authorization: Bearer <key>` gets."""

    def __init__(self, keys: tuple[str, ...], *, hint: str | None = None, what: str = "API key") -> None:
        self.keys = tuple(k.encode() for k in keys)
        self.hint = hint  # said in the 401 message; only ever the public dev key
        self.what = what  # which key, in the 401 message

    def check(self, headers: Mapping[bytes, bytes], raw: list[tuple[bytes, bytes]] | None = None) -> None:
        """`headers`: the request's, by lower-case name; `raw`, its header list (given, a repeated
        Authorization header is refused)."""
        value = headers.get(b"authorization")
        if value is None:
            raise self._refusal(None, b"")
        if raw is not None and len(raw) != len(headers) and _repeated(raw, b"authorization"):
            raise ApiError(
                401, "authentication_required",
                "Send one Authorization header; this request has several.",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
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
                f"Missing {self.what}: send 'Authorization: Bearer <key>'{hint}.",
            )
        elif scheme.lower() != b"bearer" or not token:
            code, message = (
                "authentication_required",
                f"The Authorization header must be 'Bearer <key>'{hint}.",
            )
        else:
            code, message = "invalid_api_key", f"The {self.what} is not valid for this emulator{hint}."
        return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def _repeated(raw: list[tuple[bytes, bytes]], name: bytes) -> bool:
    return sum(1 for key, _ in raw if key == name) > 1


class BearerAuth:
    """Middleware applying the API check under the API prefixes and the admin check under
    /_emulator/ (either may be None: that part is open)."""

    def __init__(self, app: ASGIApp, *, check: BearerCheck | None, admin: BearerCheck | None) -> None:
        self.app = app
        self.check = check
        self.admin = admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            admin = path.startswith(ADMIN_PREFIX) or path == ADMIN_ROOT
            check = self.admin if admin and path != DASHBOARD else None
            if check is None and path.startswith(API_PREFIXES):
                check = self.check
            if check is not None:
                try:
                    check.check(dict(scope["headers"]), scope["headers"])
                except ApiError as error:
                    await error_response(error)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
