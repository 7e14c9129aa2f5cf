"""Browsers (contract decision 17): pages on other origins call the emulator.

Starlette's CORS middleware, outermost, so it answers every route (the Responses routes served
from raw ASGI, the admin routes, errors, streams): a preflight is answered before auth (browsers
send no credentials on it), with the methods, the request headers the clients send and a max
age; every answer to an allowed origin carries `Access-Control-Allow-Origin` and exposes the
emulator's and orq's headers. By default the allowed origins are `http://localhost:<any port>`
and `http://127.0.0.1:<any port>`; `--cors-origins` names others (`:*` is any port, another `*` one DNS
label, as in `https://*.example.com`; `*` alone allows every origin);
`--no-cors` turns it off. A refused preflight is a 400 in the orq envelope naming what was refused.
"""

from __future__ import annotations

import re

import orjson
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Scope

from emulator.contract.errors import ApiError

LOOPBACK = ("http://localhost:*", "http://127.0.0.1:*")
METHODS = ("GET", "POST", "DELETE", "OPTIONS")
# What the clients send from a browser: the OpenAI JS SDK (x-stainless-*, openai-*), orq's SDK
# (x-orq-*), the emulator's own request headers.
REQUEST_HEADERS = (
    "authorization", "content-type", "accept", "idempotency-key",
    "x-emulator-timing", "x-emulator-scenario", "x-emulator-session", "x-emulator-reasoning-events",
    "x-emulator-shape", "x-emulator-fail",
    "x-stainless-arch", "x-stainless-lang", "x-stainless-os", "x-stainless-package-version",
    "x-stainless-retry-count", "x-stainless-runtime", "x-stainless-runtime-version",
    "x-stainless-timeout", "x-stainless-helper-method", "x-stainless-poll-helper",
    "x-stainless-custom-poll-interval", "x-stainless-async",
    "openai-organization", "openai-project", "openai-beta", "x-orq-contact-id",
)  # fmt: skip
RESPONSE_HEADERS = (
    "x-emulator-scenario", "x-emulator-attempts", "x-emulator-attempt-log",
    "x-emulator-contract-warnings", "x-orq-trace-id", "x-orq-trace-span-id", "retry-after",
    "x-emulator-cache", "x-emulator-gateway-delay", "retry-after-ms", "x-should-retry",
    "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
)  # fmt: skip
MAX_AGE = 600


class OrqCorsMiddleware(CORSMiddleware):
    """Starlette's, with a refused preflight answered in the orq envelope."""

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code != 400:
            return answer
        refused = bytes(answer.body).decode().removeprefix("Disallowed CORS ")
        origin = request_headers["origin"]
        error = ApiError(
            400, "cors_disallowed",
            f"This server does not allow the CORS {refused} of {origin}: see --cors-origins "
            "and the README's Browsers section",
        )  # fmt: skip
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        headers.pop("content-type", None)
        return Response(orjson.dumps(error.body()), 400, headers, media_type="application/json")


def from_a_page(scope: Scope) -> bool:
    """Whether an HTTP request has an `Origin` header: only those need CORS. A scan of the raw
    names (servers give them lower-cased), so requests from non-browser clients pay nothing."""
    if scope["type"] != "http":
        return False
    for name, _ in scope["headers"]:  # noqa: SIM110 (a loop, not any(): 90 ns, any()'s generator 200)
        if name == b"origin":
            return True
    return False


def with_cors(app: ASGIApp, origins: tuple[str, ...]) -> ASGIApp:
    """`app` answering browsers from `origins` (empty: the loopback ones)."""
    origins = origins or LOOPBACK
    everyone = "*" in origins
    return OrqCorsMiddleware(
        app,
        allow_origins=("*",) if everyone else (),
        allow_origin_regex=None if everyone else origin_pattern(origins),
        allow_methods=METHODS,
        allow_headers=REQUEST_HEADERS,
        allow_private_network=True,  # a page on a public origin may call this local server
        expose_headers=RESPONSE_HEADERS,
        max_age=MAX_AGE,
    )


def origin_pattern(origins: tuple[str, ...]) -> str:
    """One regex for the origins: a `:*` port is any port (or none), another `*` one DNS label
    (`https://*.example.com`)."""
    patterns = []
    for origin in origins:
        escaped = re.escape(origin.rstrip("/"))
        if escaped.endswith(r":\*"):
            escaped = escaped[: -len(r":\*")] + "(?::[0-9]{1,5})?"
        patterns.append(escaped.replace(r"\*", "[A-Za-z0-9-]+"))
    return "|".join(f"(?:{p})" for p in patterns)
