"""The router's gateway, simulated (contract decision 9): retries, then fallbacks, before a byte.

Models fail as the models catalogue of the scenario files says (`failures: [503, 503, ok]`:
each call takes the next entry, per session, and the last one repeats). A failed call is retried
when the request's `retry` covers its status (`on_codes`, default [429]), up to `count` times,
after a backoff of 1, 2, 4, 8, 16 s, each ±25 % from a seeded jitter. Then the next model of
`fallbacks` is tried, on 429/500/502/503/504 (or the request's `fallback_on_codes`), with its
own retries; other statuses end the request at once. The first model that answers answers, and
`response.model` names it. Every wait runs on the emulator's clock before the response starts;
when every attempt fails, the last failure is the HTTP error.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.contract.errors import ApiError, code_for
from emulator.engine.backend import Sequences

FALLBACK_CODES = (429, 500, 502, 503, 504)
RETRY_CODES = (429,)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)
JITTER = 0.25


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    status: int | None  # None: it answered
    wait: float  # seconds waited before it


@dataclass(slots=True)
class Route:
    """What the gateway did for one request."""

    attempts: list[Attempt] = field(default_factory=list)
    error: ApiError | None = None  # every attempt failed: the request's HTTP error

    @property
    def model(self) -> str:
        return self.attempts[-1].model

    @property
    def delay(self) -> float:
        return sum(a.wait for a in self.attempts)

    def log(self) -> str:
        """Every attempt, in order: "model status" (ok when it answered)."""
        return ", ".join(f"{a.model} {a.status or 'ok'}" for a in self.attempts)


class Gateway:
    def __init__(self, failures: Callable[[str], Sequence[int | str]], sequences: Sequences) -> None:
        self.failures = failures  # model -> its failure profile ([] : it always answers)
        self.sequences = sequences

    def route(self, request: dict[str, Any], session: str, digest: bytes) -> Route:
        retry = request.get("retry") or {}
        retry_count = retry.get("count", 0)
        retry_codes = retry.get("on_codes") or RETRY_CODES
        fallback_codes = request.get("fallback_on_codes") or FALLBACK_CODES
        models = [request["model"], *(f["model"] for f in request.get("fallbacks") or [])]
        rng = random.Random(digest)
        route = Route()
        for model in models:
            for attempt in range(retry_count + 1):
                wait = BACKOFF[attempt - 1] * (1 + JITTER * rng.uniform(-1, 1)) if attempt else 0.0
                status = self._call(model, session)
                route.attempts.append(Attempt(model, status, wait))
                if status is None:
                    return route
                if status not in retry_codes:
                    break
            if status not in fallback_codes:
                break
        route.error = _failure(route)
        return route

    def _call(self, model: str, session: str) -> int | None:
        profile = self.failures(model)
        if not profile:
            return None
        outcome = profile[min(self.sequences.take(session, f"model:{model}"), len(profile) - 1)]
        return None if outcome == "ok" else int(outcome)


def _failure(route: Route) -> ApiError:
    last = route.attempts[-1]
    status = last.status or 500
    tried = "; ".join(f"{a.model} answered {a.status}" for a in route.attempts)
    message = f"Every attempt failed ({len(route.attempts)}): {tried}."
    return ApiError(status, code_for(status, provider=True), message)
