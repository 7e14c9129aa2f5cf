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
    # The scenarios tried before this answer and why each missed (emulator.engine.backend.Miss),
    # for the request journal; never rendered.
    misses: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": error_type_for(self.status),
            "code": self.code,
            "param": self.param,
        }
        if self.code in CATALOGUE_CODES:
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


def method_not_allowed(method: str, path: str, allowed: str) -> ApiError:
    """A 405 naming the methods the path takes, also in the Allow header."""
    return ApiError(
        405,
        "method_not_allowed",
        f"{method} is not allowed on {path}; use {allowed or 'another method'}",
        headers={"Allow": allowed} if allowed else {},
    )
