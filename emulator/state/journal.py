"""The request journal: every request to the Responses routes, what it was answered with, and why.

Tests assert on it (`emulator.testing`), and `GET /_emulator/requests` serves it to clients in
other languages. It is bounded (oldest out first) and never gives out a secret: the values of
secret `variables` are replaced by a marker before an entry is kept, and the key headers
(Authorization...) whenever an entry is read.

Recording sits on every request's path, so it keeps references only (the body's raw bytes, the
request's header map, the answer's parts) in one tuple; each entry becomes an `Exchange` (body
parsed, headers decoded and redacted) only when the journal is read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.clock import FrozenClock
from emulator.contract.echo import REDACTED, redact_variables
from emulator.contract.errors import ApiError
from emulator.engine.backend import Call, Miss
from emulator.engine.items import normalise_input
from emulator.engine.timing import PROFILES
from emulator.ids import IdSource
from emulator.scenarios.matching import content_text
from emulator.state.responses import Conversation

SECRET_HEADERS = frozenset((b"authorization", b"cookie", b"x-api-key", b"api-key"))


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer."""

    index: int  # from 0, in arrival order; kept across evictions
    at: float  # the emulator clock's time when it arrived
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names; secrets redacted
    body: Any  # the parsed JSON body (secret variables redacted); None when there was none or not JSON
    status: int
    stream: bool = False
    response_id: str | None = None
    scenario: str | None = None  # the scenario that answered, if any
    misses: tuple[Miss, ...] = ()  # the scenarios tried before it, or all of them when none did
    error: Mapping[str, Any] | None = None  # {code, message, param} of an error answer
    warnings: tuple[str, ...] = ()  # contract warnings (unknown fields...)
    history: Conversation | None = None  # a planned create request's conversation so far

    def call(self) -> Call | None:
        """The create request as a scenario's conditions look at it; None if it was not a valid
        create request. One answered by an error before its Plan was made (a scenario's
        http_error, a gateway failure) counts as a first turn."""
        body = self.body
        if self.method != "POST" or not isinstance(body, dict) or "model" not in body:
            return None
        try:  # the ids of input items without one are made up: no condition looks at them
            items = normalise_input(body.get("input"), IdSource(0, FrozenClock()))
        except (AttributeError, KeyError, TypeError):
            return None
        history = self.history if self.history is not None else Conversation()
        return Call(body, self.headers, history, b"", items, PROFILES["instant"])

    @property
    def model(self) -> str | None:
        body = self.body
        return body.get("model") if isinstance(body, dict) else None

    def json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "body": self.body,
            "status": self.status,
            "stream": self.stream,
            "response_id": self.response_id,
            "scenario": self.scenario,
            "misses": [
                {"scenario": m.scenario, "where": m.where, "reasons": list(m.reasons)} for m in self.misses
            ],
            "error": dict(self.error) if self.error is not None else None,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """One line: what was asked and what came back."""
        what = f"#{self.index} {self.method} {self.path}{'?' + self.query if self.query else ''}"
        if self.model:
            what += f" model={self.model!r}"
        if self.stream:
            what += " stream"
        said = last_user_text(self.body)
        if said:
            what += f" input={_short(said)!r}"
        answer = f"-> {self.status}"
        if self.error is not None:
            answer += f" {self.error.get('code')}: {_short(str(self.error.get('message')), 160)}"
        elif self.response_id:
            answer += f" {self.response_id}"
        if self.scenario:
            answer += f" (scenario {self.scenario!r})"
        return f"{what} {answer}"


class Journal:
    def __init__(self, cap: int = 1000) -> None:
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=max(cap, 1))
        self.enabled = cap > 0
        self._count = 0

    def record(
        self,
        at: float,
        method: str,
        path: str,
        query: bytes,
        headers: Mapping[bytes, bytes],
        body: bytes | None,
        status: int,
        stream: bool,
        response_id: str | None,
        scenario: str | None,
        misses: tuple[Miss, ...],
        error: ApiError | None,
        warnings: Sequence[Any],  # Failure objects (their .message)
        history: Conversation | None,
    ) -> None:
        if body is not None and b'"variables"' in body:
            body = _without_secrets(body)
        self._entries.append((
            self._count, at, method, path, query, headers, body, status, stream, response_id,
            scenario, misses, error, warnings, history,
        ))  # fmt: skip
        self._count += 1

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self) -> Iterator[Exchange]:
        return iter([_exchange(*entry) for entry in list(self._entries)])

    def __len__(self) -> int:
        return len(self._entries)


def _exchange(
    index: int, at: float, method: str, path: str, query: bytes, headers: Mapping[bytes, bytes],
    body: bytes | None, status: int, stream: bool, response_id: str | None, scenario: str | None,
    misses: tuple[Miss, ...], error: ApiError | None, warnings: Sequence[Any], history: Conversation | None,
) -> Exchange:  # fmt: skip
    parsed = _parsed(body)
    return Exchange(
        index=index,
        at=at,
        method=method,
        path=path,
        query=query.decode("latin-1"),
        headers={
            k.decode("latin-1"): (_redacted(v) if k in SECRET_HEADERS else v).decode("latin-1")
            for k, v in headers.items()
        },
        body=parsed,
        status=status,
        stream=stream or (isinstance(parsed, dict) and parsed.get("stream") is True),
        response_id=response_id,
        scenario=scenario,
        misses=misses,
        error={"code": error.code, "message": error.message, "param": error.param} if error else None,
        warnings=tuple(w.message for w in warnings),
        history=history,
    )


def _parsed(body: bytes | None) -> Any:
    if body is None:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _without_secrets(body: bytes) -> bytes:
    """The body with its secret variables' values replaced by the marker (kept as sent otherwise)."""
    parsed = _parsed(body)
    if isinstance(parsed, dict) and isinstance(parsed.get("variables"), dict):
        return orjson.dumps({**parsed, "variables": redact_variables(parsed["variables"])})
    return body


def _redacted(value: bytes) -> bytes:
    """A secret header's value replaced by the marker, keeping its scheme ("Bearer [REDACTED]")."""
    scheme, _, rest = value.partition(b" ")
    marker = REDACTED.encode()
    return scheme + b" " + marker if rest else marker


def last_user_text(body: Any) -> str:
    """The text of a create body's last user message (or its string input), read as the
    scenarios' `last_user_message` reads it, from a body that may not be valid."""
    if not isinstance(body, dict):
        return ""
    given = body.get("input")
    if isinstance(given, str):
        return given
    if isinstance(given, list):
        for item in reversed(given):
            if isinstance(item, dict) and item.get("role") == "user":
                content = item.get("content")
                return content_text(content) if isinstance(content, str | list) else ""
    return ""


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
