"""The request journal: every request to the Responses routes, what it was answered with, and why.

Tests assert on it (`emulator.testing`), and `GET /_emulator/requests` serves it to clients in
other languages. It is bounded (oldest out first) and never gives out a secret: the values of
secret `variables` are replaced by a marker before an entry is kept, and the key headers
(Authorization...) whenever an entry is read.

Recording sits on every request's path, so an `Exchange` keeps references only (the body's raw
bytes, the request's header map, the answer's parts); its body is parsed and its headers decoded
and redacted when it is read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from emulator.contract.echo import REDACTED, redact_variables, redacted
from emulator.contract.errors import ApiError, Failure
from emulator.state.responses import Conversation

SECRET_HEADERS = frozenset((b"authorization", b"cookie", b"x-api-key", b"api-key"))
SESSION_HEADER = b"x-emulator-session"  # the session a request belongs to (emulator.engine.world)


@dataclass(frozen=True, slots=True)
class Miss:
    """A scenario that did not answer a request, and why (each condition that failed)."""

    scenario: str
    where: str  # file:line
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"'{self.scenario}' ({self.where}): {'; '.join(self.reasons)}"

    def json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "where": self.where, "reasons": list(self.reasons)}


@dataclass(slots=True)
class Exchange:
    """One request and its answer. Built on every request's path, with its fields in this order
    (a call with fifteen keywords costs three times as much)."""

    at: float  # the emulator clock's time when it arrived
    method: str
    path: str
    raw_query: bytes
    raw_headers: Mapping[bytes, bytes] = field(repr=False)  # secrets: read `headers`
    raw_body: bytes | None = field(repr=False)  # `recorded_body`: secrets redacted
    status: int
    streamed: bool  # answered with an event stream
    response_id: str | None
    scenario: str | None  # the scenario that answered, if any
    misses: tuple[Miss, ...]  # the scenarios tried before it, or all of them when none did
    failure: ApiError | None  # the error it was answered with
    contract_warnings: Sequence[Failure]  # unknown fields...
    history: Conversation | None  # a planned create request's conversation so far
    attempts: tuple[dict[str, Any], ...]  # the gateway's, each as the journal shows it
    cache: str | None = None  # the response cache: hit, miss, or None (not asked for)
    # A stream's events as they went out: seconds from the first one (filled while it is sent;
    # None for an answer that was no stream)
    event_times: list[float] | None = field(default=None, repr=False)
    index: int = -1  # from 0, in arrival order, kept across evictions: set by the journal

    @property
    def session(self) -> str:
        """Its X-Emulator-Session ("" without one: the default session)."""
        return self.raw_headers.get(SESSION_HEADER, b"").decode("latin-1")

    @property
    def query(self) -> str:
        return self.raw_query.decode("latin-1")

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; the key headers' values redacted."""
        return {
            k.decode("latin-1"): (_redacted(v) if k in SECRET_HEADERS else v).decode("latin-1")
            for k, v in self.raw_headers.items()
        }

    @property
    def body(self) -> Any:
        """The parsed JSON body (secret variables redacted); None when there was none or not JSON."""
        return parsed_json(self.raw_body)

    @property
    def stream(self) -> bool:
        """A stream was asked for (or sent)."""
        body = self.body
        return self.streamed or (isinstance(body, dict) and body.get("stream") is True)

    @property
    def error(self) -> dict[str, Any] | None:
        """{code, message, param} of an error answer."""
        failure = self.failure
        return (
            None
            if failure is None
            else {"code": failure.code, "message": failure.message, "param": failure.param}
        )

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(w.message for w in self.contract_warnings)

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
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "stream": self.stream,
            "response_id": self.response_id,
            "scenario": self.scenario,
            "misses": [m.json() for m in self.misses],
            "error": self.error,
            "warnings": list(self.warnings),
            "attempts": list(self.attempts),
            "cache": self.cache,
        }


class Journal:
    def __init__(self, cap: int = 1000) -> None:
        self._entries: deque[Exchange] = deque(maxlen=max(cap, 1))
        self.enabled = cap > 0
        self._count = 0
        self._listeners: list[Callable[[Exchange], None]] = []  # told of each new entry (the dashboard)

    def record(self, exchange: Exchange) -> None:
        """Keeps `exchange`; its `raw_body` must already be `recorded_body`'s."""
        exchange.index = self._count
        self._entries.append(exchange)
        self._count += 1
        for listener in self._listeners:
            listener(exchange)

    def subscribe(self, listener: Callable[[Exchange], None]) -> Callable[[], None]:
        """Calls `listener` with each entry recorded from now on; returns the unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def drop(self, unwanted: Callable[[Exchange], bool]) -> None:
        """Forgets the entries `unwanted` picks (a session's, on reset)."""
        kept = [e for e in self._entries if not unwanted(e)]
        self._entries.clear()
        self._entries.extend(kept)

    def entry(self, index: int) -> Exchange | None:
        """The entry with this index, while it is kept."""
        return next((e for e in self._entries if e.index == index), None)

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self) -> Iterator[Exchange]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def parsed_json(body: bytes | None) -> Any:
    """The body's JSON; None when there is no body or it is not JSON."""
    if body is None:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def recorded_body(raw: bytes | None, parsed: Any) -> bytes | None:
    """The body the journal may keep: as sent, or, when it has `variables` (however its key was
    written: JSON escapes are decoded by parsing), written again with every secret's value replaced
    by the marker, so the secret is not even kept in memory."""
    if isinstance(parsed, dict) and "variables" in parsed:
        return orjson.dumps({**parsed, "variables": _secrets_redacted(parsed["variables"])})
    return raw


def _secrets_redacted(variables: Any) -> Any:
    """Every secret-shaped entry of `variables` redacted: a map's values, or a list's items when a
    malformed request sent a list."""
    if isinstance(variables, dict):
        return redact_variables(variables)
    if isinstance(variables, list):
        return [redacted(value) for value in variables]
    return variables


def _redacted(value: bytes) -> bytes:
    """A secret header's value replaced by the marker, keeping its scheme ("Bearer [REDACTED]")."""
    scheme, _, rest = value.partition(b" ")
    marker = REDACTED.encode()
    return scheme + b" " + marker if rest else marker
