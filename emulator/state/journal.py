"""The request journal: every request to the Responses routes, what it was answered with, and why.

Tests assert on it (`emulator.testing`), and `GET /_emulator/requests` serves it to clients in
other languages. It is bounded (oldest out first) and never holds a secret: the bearer key and
the values of secret `variables` are replaced by a marker before an entry is kept.

Recording costs one small object per request on the hot path; everything a reader wants beyond
that (the JSON form, the near misses of scenarios) is worked out when asked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import FrozenClock
from emulator.contract.echo import REDACTED, normalise_input, redact_variables
from emulator.engine.backend import Call, Miss
from emulator.engine.timing import PROFILES
from emulator.ids import IdSource
from emulator.state.responses import Conversation

SECRET_HEADERS = frozenset(("authorization", "cookie", "x-api-key", "api-key"))


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer."""

    index: int  # from 0, in arrival order; kept across evictions
    at: float  # the emulator clock's time when it arrived
    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # lower-case names; secrets redacted
    body: Any  # the parsed JSON body (secret variables redacted); None when there was none
    status: int
    stream: bool = False
    response_id: str | None = None
    scenario: str | None = None  # the scenario that answered, if any
    misses: tuple[Miss, ...] = ()  # the scenarios tried before it, or all of them when none did
    error: Mapping[str, Any] | None = None  # {code, message, param} of an error answer
    warnings: tuple[str, ...] = field(default=())  # contract warnings (unknown fields...)
    # A create request as its backend saw it: the conversation so far, and the input as typed items.
    history: Conversation | None = None
    input_items: tuple[dict[str, Any], ...] = ()

    def call(self) -> Call | None:
        """The create request as a scenario's conditions look at it; None if it was not a valid
        create request. One answered by an error before its Plan was made (a scenario's
        http_error, a gateway failure) is read from its body, as a first turn."""
        body = self.body
        if self.method != "POST" or not isinstance(body, dict) or "model" not in body:
            return None
        history, items = self.history, list(self.input_items)
        if history is None:
            try:
                items = normalise_input(body.get("input"), IdSource(0, FrozenClock()))
            except (AttributeError, KeyError, TypeError):
                return None
            history = Conversation()
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
        self._entries: deque[Exchange] = deque(maxlen=max(cap, 1))
        self.enabled = cap > 0
        self._count = 0

    def record(self, **fields: Any) -> None:
        if not self.enabled:
            return
        fields["headers"] = _redacted_headers(fields["headers"])
        body = fields.get("body")
        if isinstance(body, dict) and isinstance(body.get("variables"), dict):
            fields["body"] = {**body, "variables": redact_variables(body["variables"])}
        self._entries.append(Exchange(index=self._count, **fields))
        self._count += 1

    def clear(self) -> None:
        self._entries.clear()

    def __iter__(self) -> Iterator[Exchange]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def _redacted_headers(raw: Mapping[bytes, bytes]) -> dict[str, str]:
    headers = {}
    for name, value in raw.items():
        key = name.decode("latin-1")
        if key in SECRET_HEADERS:
            scheme, _, rest = value.decode("latin-1").partition(" ")
            headers[key] = f"{scheme} {REDACTED}" if rest else REDACTED
        else:
            headers[key] = value.decode("latin-1")
    return headers


def last_user_text(body: Any) -> str:
    """The text of a create body's last user message (or its string input)."""
    if not isinstance(body, dict):
        return ""
    given = body.get("input")
    if isinstance(given, str):
        return given
    if isinstance(given, list):
        for item in reversed(given):
            if isinstance(item, dict) and item.get("role") == "user":
                content = item.get("content")
                if isinstance(content, str):
                    return content
                if isinstance(content, list):
                    return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
