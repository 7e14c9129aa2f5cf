"""How a response feels in time: time to first token, tokens per second, chunking, jitter.

A `Timing` turns each streamed text's tokens into deltas (`chunk_tokens` tokens each) and the gap
before each delta. The Plan carries those gaps, so the SSE renderer and JSON mode (which answers
after the Plan's whole duration) keep the same time, as any other transport will.

Timing comes from a profile (`instant`, `realistic`) or a spec that adjusts one:
`realistic,ttft_ms=800,tokens_per_second=20` or `chunk_tokens=3`. The server's `--timing` sets
it for every request; the `x-emulator-timing` request header overrides it for one request.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Timing:
    ttft: float = 0.0  # seconds before the first content delta (headers and response.created go out at once)
    tokens_per_second: float = 0.0  # 0: deltas follow each other without waiting
    chunk_tokens: int = 1  # tokens per delta
    jitter: float = 0.0  # each wait varies by up to ± this fraction, from a seeded RNG
    queue: float = 0.0  # seconds a background response waits queued

    def chunks(self, tokens: list[str]) -> list[str]:
        """The deltas a streamed text is sent in."""
        size = self.chunk_tokens
        if size == 1:
            return tokens
        return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]

    def gaps(self, chunks: list[list[str]], rng: random.Random) -> list[list[float]]:
        """The wait before each chunk; the first chunk of all waits the time to first token
        instead (`first_delay`), so its own gap is 0."""
        if self.tokens_per_second <= 0:
            return [[0.0] * len(stream) for stream in chunks]
        per_chunk = self.chunk_tokens / self.tokens_per_second
        gaps = [[self.vary(per_chunk, rng) for _ in stream] for stream in chunks]
        for stream in gaps:
            if stream:
                stream[0] = 0.0
                break
        return gaps

    def first_delay(self, rng: random.Random) -> float:
        return self.vary(self.ttft, rng)

    def vary(self, seconds: float, rng: random.Random) -> float:
        if not self.jitter or not seconds:
            return seconds
        return seconds * (1 + self.jitter * rng.uniform(-1.0, 1.0))


PROFILES = {
    "instant": Timing(),
    # A mid-sized hosted model: about a third of a second to the first token, then ~50 tokens/s.
    "realistic": Timing(ttft=0.35, tokens_per_second=50.0, chunk_tokens=1, jitter=0.25, queue=0.5),
}

_KEYS: dict[str, tuple[str, Callable[[str], float], str]] = {
    "ttft_ms": ("ttft", lambda v: float(v) / 1000, "a number of milliseconds >= 0"),
    "tokens_per_second": ("tokens_per_second", float, "a number >= 0 (0: no pacing)"),
    "chunk_tokens": ("chunk_tokens", int, "a whole number >= 1"),
    "jitter": ("jitter", float, "a fraction between 0 and 1"),
    "queue_ms": ("queue", lambda v: float(v) / 1000, "a number of milliseconds >= 0"),
}


def parse_timing(spec: str, base: Timing | None = None) -> Timing:
    """`profile`, `key=value,...` or `profile,key=value,...`; raises ValueError with the reason."""
    timing = base or PROFILES["instant"]
    for n, part in enumerate(p.strip() for p in spec.split(",")):
        if not part:
            continue
        if "=" not in part:
            if n != 0 or part not in PROFILES:
                raise ValueError(f"unknown timing profile {part!r} (profiles: {', '.join(PROFILES)})")
            timing = PROFILES[part]
            continue
        key, _, raw = (s.strip() for s in part.partition("="))
        if key not in _KEYS:
            raise ValueError(f"unknown timing setting {key!r} (settings: {', '.join(_KEYS)})")
        field, convert, expected = _KEYS[key]
        try:
            value = convert(raw)
        except ValueError:
            raise ValueError(f"{key} must be {expected}, got {raw!r}") from None
        changed: dict[str, Any] = {field: value}
        timing = replace(timing, **changed)
        if not _valid(timing):
            raise ValueError(f"{key} must be {expected}, got {raw!r}")
    return timing


def parse_timing_setting(value: str | Mapping[str, Any], base: Timing | None = None) -> Timing:
    """A spec string, or its object form from a scenario file: `{profile: realistic, ttft_ms: 800}`."""
    if not isinstance(value, str):
        profile = [value["profile"]] if "profile" in value else []
        value = ",".join([*profile, *(f"{k}={v}" for k, v in value.items() if k != "profile")])
    return parse_timing(value, base)


def bounded(timing: Timing, cap: float) -> Timing:
    """`timing`, when none of its waits is longer than `cap` seconds; else ValueError saying which."""
    for key, seconds in (("ttft_ms", timing.ttft), ("queue_ms", timing.queue)):
        if seconds > cap:
            raise ValueError(f"{key} must be at most {cap * 1000:g} (the emulator's --max-delay)")
    if timing.tokens_per_second and timing.chunk_tokens / timing.tokens_per_second > cap:
        raise ValueError(
            f"tokens_per_second must be at least {timing.chunk_tokens / cap:g} with chunk_tokens="
            f"{timing.chunk_tokens}: a delta may wait at most {cap:g} s (the emulator's --max-delay)"
        )
    return timing


def _valid(t: Timing) -> bool:
    finite = all(x == x and x != float("inf") for x in (t.ttft, t.tokens_per_second, t.jitter, t.queue))
    return (
        finite
        and t.ttft >= 0
        and t.queue >= 0
        and t.tokens_per_second >= 0
        and t.chunk_tokens >= 1
        and 0 <= t.jitter <= 1
    )
