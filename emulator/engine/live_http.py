"""Real requests for `orq:http`, only where the server and the request both allow them.

The emulator makes no network call unless `serve --allow-live-http` is given, and then only to a
host the request's own tool lists: `network: {mode: "allowlist", allowlist: [...]}` (host names or
IPv4 addresses, compared without the port, case-insensitively). Anything else gets a generated
result, as if the call had been made. The engine knows the caller only by this protocol; the
transport layer makes the calls (emulator.http.outbound).
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit


class LiveHttp(Protocol):
    def call(self, method: str, url: str, headers: dict[str, str], body: str | None) -> dict[str, Any]:
        """Makes the request (blocking) and returns the tool's result: `{status, content_type,
        body}`, or `{error}` naming why there was no answer (never the URL: it may hold a secret)."""
        ...


def allowed(tool: dict[str, Any], url: str) -> bool:
    """Whether the tool's network policy lets it reach `url`."""
    network = tool.get("network") or {}
    if network.get("mode") != "allowlist":
        return False
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    hosts = {h.lower() for h in network.get("allowlist", ())}
    return parts.scheme in ("http", "https") and host in hosts
