"""The router's gateway, simulated (contract decision 9): balancing, retries, timeouts, then
fallbacks, all before a byte.

Models fail as the models catalogue of the scenario files says (`failures: [503, 503, ok]`:
each call takes the next entry, per session, and the last one repeats; `faults: [503*2,
latency:2s]`, per request) and as the request's `X-Emulator-Fail` header says (emulator.engine.faults).
A `load_balancer` first picks the primary model: a weighted choice drawn from the seed and the
session's count of balanced requests, so a run repeats. A failed call is retried when the
request's `retry` covers its status (`on_codes`, default [429]), up to `count` times, after a
backoff of 1, 2, 4, 8, 16 s, each ±25 % from a seeded jitter. A call slower than
`timeout.call_timeout` (its latency fault plus its timing's time to first token) fails at that
time as a 504 `provider_timeout`. Then the next model of `fallbacks` is tried, on
429/500/502/503/504 (or the request's `fallback_on_codes`), with its own retries; other statuses
end the request at once. The first model that answers answers, and `response.model` names it.
Every wait runs on the emulator's clock before the response starts; when every attempt fails,
the last failure is the HTTP error.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.contract.errors import ApiError, code_for
from emulator.engine.backend import Sequences
from emulator.engine.faults import NO_FAULTS, Faults

FALLBACK_CODES = (429, 500, 502, 503, 504)
RETRY_CODES = (429,)
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0)
JITTER = 0.25
TIMEOUT_STATUS = 504
RETRY_AFTER = 1.0  # seconds a failed call's 429 tells the client to wait
# Statuses a client may retry (what the OpenAI SDKs retry): x-should-retry says so on each error.
RETRYABLE = frozenset((408, 409, 429)) | frozenset(range(500, 600))


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    status: int | None  # None: it answered
    wait: float  # seconds of backoff before it
    took: float = 0.0  # seconds the call itself took: its latency, or the call timeout
    code: str | None = None  # a failure's orq code
    balanced: bool = False  # the load balancer chose this model
    timed_out: bool = False  # it ran into the request's timeout.call_timeout

    def json(self) -> dict[str, Any]:
        return {
            "model": self.model, "status": self.status, "wait": self.wait, "took": self.took,
            "code": self.code, "balanced": self.balanced, "timed_out": self.timed_out,
        }  # fmt: skip

    def __str__(self) -> str:
        said = f"{self.model} {self.status or 'ok'}"
        if self.timed_out:
            said += " timeout"
        elif self.took:
            said += f" after {self.took:g}s"
        return said + " balanced" if self.balanced else said


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
        return sum(a.wait + a.took for a in self.attempts)

    def log(self) -> str:
        """Every attempt, in order: "model status" (ok when it answered; timeout when it timed out)."""
        return ", ".join(map(str, self.attempts))


class Gateway:
    def __init__(
        self,
        failures: Callable[[str], Sequence[int | str]],
        sequences: Sequences,
        faults: Callable[[str], Faults] = lambda model: NO_FAULTS,
        seed: int = 0,
    ) -> None:
        self.seed = seed
        self.failures = failures  # model -> its failure profile ([] : it always answers)
        self.sequences = sequences
        self.faults = faults  # model -> the catalogue's faults for it

    def route(
        self,
        request: dict[str, Any],
        session: str,
        digest: bytes,
        faults: Faults = NO_FAULTS,
        ttft: Callable[[str], float] = lambda model: 0.0,
    ) -> Route:
        """The attempts for `request`; `faults` are the request's own (the header's), `ttft` the
        time to first token of each model's timing (what a call timeout measures with latency)."""
        retry = request.get("retry") or {}
        retry_count = retry.get("count", 0)
        retry_codes = retry.get("on_codes") or RETRY_CODES
        fallback_codes = request.get("fallback_on_codes") or FALLBACK_CODES
        timeout = (request.get("timeout") or {}).get("call_timeout")
        limit = timeout / 1000 if timeout is not None else math.inf
        primary, balanced = self._balanced(request, session)
        models = [primary, *(f["model"] for f in request.get("fallbacks") or [])]
        rng = random.Random(digest)
        route = Route()
        calls: dict[str, int] = {}
        status: int | None = None
        for n, model in enumerate(models):
            model_faults = faults + self.faults(model)
            for attempt in range(retry_count + 1):
                wait = BACKOFF[attempt - 1] * (1 + JITTER * rng.uniform(-1, 1)) if attempt else 0.0
                made = calls.get(model, 0)
                calls[model] = made + 1
                status = model_faults.status(model, made)
                if status is None:
                    status = self._profile(model, session)
                took = model_faults.latency(model)
                code = None if status is None else code_for(status, provider=True)
                timed_out = status is None and took + ttft(model) > limit
                if timed_out:
                    status, code, took = TIMEOUT_STATUS, "provider_timeout", limit
                route.attempts.append(
                    Attempt(model, status, wait, took, code, balanced and n == 0, timed_out)
                )
                if status is None:
                    return route
                if status not in retry_codes:
                    break
            if status not in fallback_codes:
                break
        route.error = _failure(route)
        return route

    def _balanced(self, request: dict[str, Any], session: str) -> tuple[str, bool]:
        """The primary model: the load balancer's weighted choice, when the request has one."""
        balancer = request.get("load_balancer") or {}
        choices = balancer.get("models") or []
        if not choices:
            return request["model"], False
        # Drawn from the seed and this session's count of balanced requests: each request may
        # land elsewhere, and the same run lands the same way.
        turn = self.sequences.take(session, "balancer")
        rng = random.Random(f"{self.seed}/{session}/{turn}")
        cumulative = list(itertools.accumulate(c["weight"] for c in choices))
        pick = bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
        return choices[min(pick, len(choices) - 1)]["model"], True

    def _profile(self, model: str, session: str) -> int | None:
        profile = self.failures(model)
        if not profile:
            return None
        outcome = profile[min(self.sequences.take(session, f"model:{model}"), len(profile) - 1)]
        return None if outcome == "ok" else int(outcome)


def _failure(route: Route) -> ApiError:
    last = route.attempts[-1]
    status = last.status or 500
    tried = "; ".join(
        f"{a.model} timed out after {a.took * 1000:g} ms" if a.timed_out
        else f"{a.model} answered {a.status}"
        for a in route.attempts
    )  # fmt: skip
    message = f"Every attempt failed ({len(route.attempts)}): {tried}."
    code = last.code or code_for(status, provider=True)
    return ApiError(status, code, message, headers=failure_headers(status))


def failure_headers(status: int, retry_after: float = RETRY_AFTER) -> dict[str, str]:
    """What real clients read off a failure: whether to retry, and (429) when, and that no request
    is left until then."""
    headers = {"x-should-retry": "true" if status in RETRYABLE else "false"}
    if status == 429:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        headers["retry-after-ms"] = str(round(retry_after * 1000))
        headers["x-ratelimit-remaining-requests"] = "0"
        headers["x-ratelimit-reset-requests"] = f"{retry_after:.3g}s"
    return headers
