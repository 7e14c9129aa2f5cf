"""Per-key rate limits that really throttle (`--rate-limit 60/min`, `--token-limit 40000/min`).

Each API key (the bearer token; one bucket for requests without one) gets a fixed window on the
emulator's clock: so many requests, and so many tokens (input plus output, counted once a
response is planned), per window. A request over either limit is a 429 `rate_limit_exceeded`
with `Retry-After`, `retry-after-ms` (until the window resets) and `x-should-retry: true`; every
answer while limits are on carries OpenAI's `x-ratelimit-limit-*`, `x-ratelimit-remaining-*` and
`x-ratelimit-reset-*` headers, for requests and for tokens.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from emulator.contract.errors import ApiError
from emulator.engine.gateway import failure_headers

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}
_LIMIT = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*")


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    per: float  # seconds

    def __str__(self) -> str:
        return f"{self.count}/{self.per:g}s"


def parse_limit(text: str) -> Limit:
    """`60/min`, `1000/h`, `5/10s`; ValueError otherwise."""
    match = _LIMIT.fullmatch(text)
    if match is None or match.group(3) not in _UNITS or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a rate (write 60/min, 1000/hour or 5/10s)")
    count, times, unit = int(match.group(1)), match.group(2), match.group(3)
    return Limit(count, (int(times) if times else 1) * _UNITS[unit])


@dataclass(slots=True)
class _Window:
    start: float
    requests: int = 0
    tokens: int = 0


@dataclass(slots=True)
class RateLimiter:
    requests: Limit | None = None
    tokens: Limit | None = None
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)

    def admit(self, key: str, now: float) -> dict[str, str]:
        """Counts the request against `key`'s limits; its rate-limit headers, or a 429."""
        headers: dict[str, str] = {}
        for name, limit in (("requests", self.requests), ("tokens", self.tokens)):
            if limit is None:
                continue
            window = self._window(key, name, limit, now)
            used = window.requests if name == "requests" else window.tokens
            reset = window.start + limit.per - now
            if used >= limit.count:
                raise ApiError(
                    429, "rate_limit_exceeded",
                    f"Rate limit reached: {limit.count} {name} per {limit.per:g} s for this key; "
                    f"try again in {reset:.3g} s.",
                    headers={**failure_headers(429, reset), **_headers(name, limit, 0, reset)},
                )  # fmt: skip
            if name == "requests":
                window.requests += 1
                used += 1
            headers |= _headers(name, limit, limit.count - used, reset)
        return headers

    def spend(self, key: str, tokens: int, now: float) -> None:
        """Counts a planned response's tokens against `key`'s token limit."""
        if self.tokens is not None:
            self._window(key, "tokens", self.tokens, now).tokens += tokens

    def _window(self, key: str, name: str, limit: Limit, now: float) -> _Window:
        start = math.floor(now / limit.per) * limit.per
        window = self._windows.get((key, name))
        if window is None or window.start != start:
            window = self._windows[(key, name)] = _Window(start)
        return window


def _headers(name: str, limit: Limit, remaining: int, reset: float) -> dict[str, str]:
    return {
        f"x-ratelimit-limit-{name}": str(limit.count),
        f"x-ratelimit-remaining-{name}": str(max(remaining, 0)),
        f"x-ratelimit-reset-{name}": f"{reset:.3g}s",
    }
