"""Settings: defaults, overridden by RESPONSES_EMULATOR_* environment variables, then by CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from emulator.engine.events import REASONING_EVENTS
from emulator.engine.function_calls import CHOICES as FUNCTION_CALL_STATUSES
from emulator.engine.timing import parse_timing

DEV_API_KEY = "emulator-dev-key"

ENV_PREFIX = "RESPONSES_EMULATOR_"

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 0
    api_keys: tuple[str, ...] = (DEV_API_KEY,)
    auth: bool = True
    strict: bool = False
    max_stored: int = 10_000
    max_body_bytes: int = 10 * 1024 * 1024
    frozen_time: float | None = None  # freeze the clock at this Unix time (byte-identical runs)
    log_level: str = "info"
    # Streaming (contract decision 5) and pacing (emulator.engine.timing)
    timing: str = "instant"  # a profile or spec; `serve` defaults to "realistic"
    keepalive: float = 15.0  # seconds of silence in a stream before a `: keepalive` comment
    done_sentinel: bool = True  # send `data: [DONE]` after the terminal event
    reasoning_events: str = "orq"  # "orq": response.reasoning.*; "openai": response.reasoning_text.*
    function_call_status: str = "auto"  # auto | requires_action | completed (contract decision 4)
    # Scenarios (emulator.scenarios)
    scenarios: tuple[str, ...] = ()  # files and directories to load
    strict_scenarios: bool = False  # no match is a 400 no_scenario_matched, not the default backend
    reload: bool = True  # reload scenario files when they change
    journal: int = 1000  # requests the journal keeps (GET /_emulator/requests); 0 keeps none

    def __post_init__(self) -> None:
        parse_timing(self.timing)  # raises ValueError naming the problem
        if self.reasoning_events not in REASONING_EVENTS:
            raise ValueError(f"reasoning_events must be one of {', '.join(REASONING_EVENTS)}")
        if self.function_call_status not in FUNCTION_CALL_STATUSES:
            raise ValueError(f"function_call_status must be one of {', '.join(FUNCTION_CALL_STATUSES)}")
        if self.journal < 0:
            raise ValueError("journal must be a number of requests >= 0")
        if not self.keepalive > 0:
            raise ValueError("keepalive must be a number of seconds > 0")

    @property
    def uses_dev_key(self) -> bool:
        return self.api_keys == (DEV_API_KEY,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Defaults overridden by RESPONSES_EMULATOR_<FIELD> (API_KEYS is comma-separated,
        AUTH takes 0/1/true/false)."""
        changes: dict[str, object] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            try:
                changes[f.name] = _parse(f.name, raw)
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{f.name.upper()}={raw!r}: {exc}") from None
        try:
            return replace(cls(), **changes)
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}* settings: {exc}") from None


def _parse(name: str, raw: str) -> object:
    match name:
        case "port" | "seed" | "max_stored" | "max_body_bytes" | "journal":
            return int(raw)
        case "frozen_time" | "keepalive":
            return float(raw)
        case "auth" | "strict" | "done_sentinel" | "strict_scenarios" | "reload":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError("expected 1/0/true/false")
            return raw.lower() in ("1", "true", "yes")
        case "api_keys":
            keys = tuple(k.strip() for k in raw.split(",") if k.strip())
            if not keys:
                raise ValueError("needs at least one key")
            return keys
        case "scenarios":
            return tuple(p.strip() for p in raw.split(",") if p.strip())
        case "log_level":
            if raw.lower() not in LOG_LEVELS:
                raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
            return raw.lower()
        case _:
            return raw
