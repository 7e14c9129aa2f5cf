"""Errors are values: one exception type carrying everything the envelope needs.

Raised anywhere below the HTTP layer, rendered once by `emulator.http.errors` into the body of
contract decision 6: ``{"error": {"message", "type", "code", "param"[, "doc_url", "failures"]}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# orq's documented error catalogue (contract section 1.5): these codes get a doc_url.
CATALOGUE_CODES = frozenset(
    {
        "authentication_required", "invalid_api_key", "expired_api_key",
        "insufficient_scope", "wrong_project", "workspace_disabled", "quota_exceeded",
        "invalid_request_body", "unsupported_engine", "variant_not_resolved",
        "model_configuration_missing", "provider_credential_invalid", "deployment_not_found",
        "integration_not_found", "prompt_snippet_not_found", "request_timeout",
        "rate_limit_exceeded", "internal_error", "not_implemented", "provider_error",
        "provider_overloaded", "service_unavailable", "provider_timeout",
    }
)  # fmt: skip

# The catalogue's code for an HTTP status the router itself answers with (section 1.5)...
ROUTER_CODES = {
    400: "invalid_request_body", 401: "invalid_api_key", 402: "quota_exceeded",
    403: "insufficient_scope", 404: "deployment_not_found", 408: "request_timeout",
    422: "model_configuration_missing", 429: "rate_limit_exceeded", 500: "internal_error",
    501: "not_implemented", 502: "provider_error", 503: "service_unavailable", 504: "provider_timeout",
}  # fmt: skip
# ...and where the catalogue names the model provider's own failure (the gateway's attempts).
PROVIDER_CODES = {**ROUTER_CODES, 500: "provider_error", 503: "provider_overloaded"}


def code_for(status: int, *, provider: bool = False) -> str:
    """The catalogue code for an error status: the router's, or (`provider`) a model provider's."""
    return (PROVIDER_CODES if provider else ROUTER_CODES).get(status, "provider_error")


_TYPE_BY_STATUS = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def error_type_for(status: int) -> str:
    if status >= 500:
        return "server_error"
    return _TYPE_BY_STATUS.get(status, "invalid_request_error")


# A failed response's `error.code` (OpenAI's closed list) has the class of this HTTP status; the
# codes not listed are the request's fault (400).
_RESPONSE_ERROR_STATUS = {"server_error": 500, "vector_store_timeout": 500, "rate_limit_exceeded": 429}


def response_error(code: str, message: str) -> dict[str, str]:
    """A failed response's `error`: OpenAI's {code, message}, with the `type` the Vercel AI SDK
    requires (the same class the HTTP error envelope gives that kind of failure)."""
    return {"code": code, "message": message, "type": error_type_for(_RESPONSE_ERROR_STATUS.get(code, 400))}


def error_event(error: dict[str, str]) -> dict[str, Any]:
    """The in-stream `error` event's body in the hybrid shape every client reads (decision 6)."""
    code, message = error["code"], error["message"]
    nested = {"type": error["type"], "code": code, "message": message, "param": None}
    return {"code": code, "message": message, "param": None, "error": nested}


@dataclass(frozen=True, slots=True)
class Failure:
    """One problem found in a request: where (JSON pointer) and what."""

    param: str | None
    message: str


@dataclass
class ApiError(Exception):
    status: int
    code: str | None
    message: str
    param: str | None = None
    failures: list[Failure] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    doc_url: str | None = None  # where to read more; orq's catalogue page for its codes

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": error_type_for(self.status),
            "code": self.code,
            "param": self.param,
        }
        if self.doc_url is not None:
            error["doc_url"] = self.doc_url
        elif self.code in CATALOGUE_CODES:
            error["doc_url"] = f"https://docs.orq.ai/errors/{self.code}"
        if len(self.failures) > 1:
            error["failures"] = [{"param": f.param, "message": f.message} for f in self.failures]
        return {"error": error}


def invalid_request(failures: list[Failure], code: str = "invalid_request_body") -> ApiError:
    """A 400 naming the first failure, listing all of them when there are several."""
    first = failures[0]
    message = first.message
    if len(failures) > 1:
        message += f" (and {len(failures) - 1} more problem{'s' if len(failures) > 2 else ''})"
    return ApiError(400, code, message, first.param, failures)


def bad_field(param: str, message: str, code: str = "invalid_request_body") -> ApiError:
    return invalid_request([Failure(param, message)], code)


def method_not_allowed(method: str, path: str, allowed: str, routes: str) -> ApiError:
    """A 405 naming the methods the path takes, also in the Allow header; `routes`: the URL of
    the document that lists every route (the served OpenAPI document)."""
    return ApiError(
        405,
        "method_not_allowed",
        f"{method} is not allowed on {path}; use {allowed or 'another method'}",
        headers={"Allow": allowed} if allowed else {},
        doc_url=routes,
    )


def no_route(method: str, path: str, routes: str) -> ApiError:
    """The 404 of a path no route serves; `routes` as for `method_not_allowed`."""
    return ApiError(
        404, "not_found", f"No route {method} {path}; see GET /openapi.json for the routes", doc_url=routes
    )


def routes_document(scope: Any) -> str:
    """The absolute URL of the served OpenAPI document, as the request reached this server."""
    host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), None)
    if host is None:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}/openapi.json"
