"""A request's headers by name, read once per request however many places look at them."""

from __future__ import annotations

from starlette.types import Scope

_KEY = "emulator.headers"


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (ASGI servers lower-case them; for a repeated
    header the last one counts). Built on first use and kept in the scope."""
    found = scope.get(_KEY)
    if found is None:
        found = scope[_KEY] = dict(scope["headers"])
    return found
