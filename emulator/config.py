"""Settings: defaults, overridden by RESPONSES_EMULATOR_* environment variables, then by CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

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
        return replace(cls(), **changes)


def _parse(name: str, raw: str) -> object:
    match name:
        case "port" | "seed" | "max_stored" | "max_body_bytes":
            return int(raw)
        case "frozen_time":
            return float(raw)
        case "auth" | "strict":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError("expected 1/0/true/false")
            return raw.lower() in ("1", "true", "yes")
        case "api_keys":
            keys = tuple(k.strip() for k in raw.split(",") if k.strip())
            if not keys:
                raise ValueError("needs at least one key")
            return keys
        case "log_level":
            if raw.lower() not in LOG_LEVELS:
                raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
            return raw.lower()
        case _:
            return raw
