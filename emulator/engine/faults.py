"""Faults on demand: models that fail, answer late, or break their streams (README, Faults).

One grammar serves the `X-Emulator-Fail` request header, a models catalogue entry's `faults`, and
the fluent API's `model(...).fault(...)`:

    X-Emulator-Fail: <model glob>=<fault>[,<model glob>=<fault>...]

where a fault is

- `<status>`: every call to the model fails with that HTTP status (400-599);
- `<status>*<n>`: its first n calls in the request fail, then it answers;
- `latency:<duration>` (`30s`, `800ms`): the provider answers that late (a `timeout.call_timeout`
  shorter than that makes the call a 504 `provider_timeout`);
- `stream:truncate@<n>`: the stream ends, cleanly, after n events, with no terminal event;
- `stream:disconnect@<n>`: the connection drops after n events;
- `stream:stall@<n>:<duration>`: after n events, silence for the duration, then the rest;
- `stream:malformed@<n>`: after n events, a frame whose JSON is cut short, then the rest;
- `stream:error@<n>`: after n events, an `error` event and `response.failed`.

Status faults and latency are the gateway's (before a byte is sent, so retries and fallbacks
apply); stream faults happen after the stream began, to the model that answered, and only to
streamed responses.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

FAULT_HEADER = "x-emulator-fail"
STREAM_FAULTS = ("truncate", "disconnect", "stall", "malformed", "error")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s)")
_STATUS = re.compile(r"(\d{3})(?:\*(\d+))?")
_STREAM = re.compile(r"stream:([a-z]+)@(\d+)(?::(.+))?")


@dataclass(frozen=True, slots=True)
class StreamFault:
    kind: str  # one of STREAM_FAULTS
    after: int  # events sent before it strikes
    seconds: float = 0.0  # a stall's length

    def __str__(self) -> str:
        stall = f":{self.seconds:g}s" if self.kind == "stall" else ""
        return f"stream:{self.kind}@{self.after}{stall}"


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault, as written: exactly one of status, latency or stream is set."""

    status: int | None = None
    times: int | None = None  # the first n calls fail with `status`; None: every call
    latency: float = 0.0  # seconds
    stream: StreamFault | None = None


def duration(text: str) -> float:
    """`30s`, `800ms`, `1.5s` in seconds; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration (write 800ms or 30s)")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "ms" else value


def parse_fault(text: str) -> Fault:
    """One fault (no model glob); ValueError naming what is wrong."""
    text = text.strip()
    if match := _STATUS.fullmatch(text):
        status = int(match.group(1))
        if not 400 <= status <= 599:
            raise ValueError(f"{text!r}: a failing status is 400-599")
        times = int(match.group(2)) if match.group(2) is not None else None
        if times == 0:
            raise ValueError(f"{text!r}: a count of failures is at least 1")
        return Fault(status=status, times=times)
    if text.startswith("latency:"):
        return Fault(latency=duration(text.removeprefix("latency:")))
    if match := _STREAM.fullmatch(text):
        kind, after, rest = match.groups()
        if kind not in STREAM_FAULTS:
            raise ValueError(f"{text!r}: stream faults are {', '.join(STREAM_FAULTS)}")
        if (kind == "stall") != (rest is not None):
            raise ValueError(
                f"{text!r}: a stall says how long (stream:stall@3:2s), other stream faults do not"
            )
        return Fault(stream=StreamFault(kind, int(after), duration(rest) if rest else 0.0))
    raise ValueError(
        f"{text!r} is not a fault (write 503, 503*2, latency:800ms, or stream:<kind>@<events> "
        f"with kind one of {', '.join(STREAM_FAULTS)})"
    )


@dataclass(frozen=True, slots=True)
class Faults:
    """Faults by model glob, in the order written."""

    rules: tuple[tuple[str, Fault], ...] = ()

    def of(self, model: str) -> list[Fault]:
        return [fault for glob, fault in self.rules if fnmatch.fnmatchcase(model, glob)]

    def latency(self, model: str) -> float:
        return sum(f.latency for f in self.of(model))

    def status(self, model: str, calls: int) -> int | None:
        """The status the model's call fails with, given how many calls to it this request made
        before (None: this fault lets it answer)."""
        for fault in self.of(model):
            if fault.status is not None and (fault.times is None or calls < fault.times):
                return fault.status
        return None

    def stream(self, model: str) -> StreamFault | None:
        return next((f.stream for f in self.of(model) if f.stream is not None), None)

    def __add__(self, other: Faults) -> Faults:
        return Faults(self.rules + other.rules)


NO_FAULTS = Faults()


def parse_faults(spec: str) -> Faults:
    """The header's value: `<glob>=<fault>` pairs, comma-separated; ValueError naming the bad one."""
    rules = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        glob, equals, fault = part.partition("=")
        if not equals or not glob.strip():
            raise ValueError(f"{part!r} is not <model glob>=<fault> (openai/*=503)")
        rules.append((glob.strip(), parse_fault(fault)))
    if not rules:
        raise ValueError("it names no fault (openai/*=503)")
    return Faults(tuple(rules))


def model_faults(glob: str, faults: Iterable[str]) -> Faults:
    """A catalogue entry's `faults`, for models matching its name."""
    return Faults(tuple((glob, parse_fault(f)) for f in faults))
