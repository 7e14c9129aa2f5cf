"""Settings: defaults, overridden by RESPONSES_EMULATOR_* environment variables, then by CLI flags.

Each setting is declared once, as a `Config` field with a `Setting` beside it; the environment
parsing (`Config.from_env`), the `serve` flags (emulator.cli), the pytest marker's list of settings
and the README's table (`settings_table`, kept in step by a test) are all derived from them.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from functools import cache
from typing import Any, Literal

from emulator.engine.events import REASONING_EVENTS
from emulator.engine.function_calls import CHOICES as FUNCTION_CALL_STATUSES
from emulator.engine.ratelimit import parse_limit
from emulator.engine.timing import parse_timing

DEV_API_KEY = "emulator-dev-key"

ENV_PREFIX = "RESPONSES_EMULATOR_"

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass(frozen=True)
class Setting:
    """How a Config field is described and given: its help, flag and allowed values."""

    help: str
    flag: str | None = None  # default: --<name>; a switch that turns a default True off: --no-...
    choices: tuple[str, ...] | None = None
    many: Literal["append", "extend"] | None = None  # a tuple field: the flag repeats or takes several
    metavar: str | None = None
    shown_default: str | None = None  # the table's Default column, where the value alone misleads


def setting(default: Any, help: str, **how: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(help, **how)})


@dataclass(frozen=True)
class Config:
    host: str = setting("127.0.0.1", "interface to bind")
    port: int = setting(8080, "port to listen on (`0` picks a free one)")
    seed: int = setting(0, "seed for ids and generated text")
    api_keys: tuple[str, ...] = setting(
        (DEV_API_KEY,), "accepted bearer key (repeat the flag for several)",
        flag="--api-key", many="append", metavar="KEY",
    )  # fmt: skip
    auth: bool = setting(True, "accept requests without a key", flag="--no-auth", shown_default="auth on")
    cors: bool = setting(
        True, "answer no browser from another origin (no CORS headers)",
        flag="--no-cors", shown_default="CORS on",
    )  # fmt: skip
    cors_origins: tuple[str, ...] = setting(
        (), "origins browsers may call from (`:*` any port, `*` one DNS label, `*` alone: every origin)",
        many="extend", metavar="ORIGIN", shown_default="`http://localhost:*`, `http://127.0.0.1:*`",
    )  # fmt: skip
    admin_keys: tuple[str, ...] = setting(
        (), "bearer key for the `/_emulator/` routes only (repeat for several); the API keys then do "
        "not open them", flag="--admin-key", many="append", metavar="KEY", shown_default="the API keys",
    )  # fmt: skip
    strict: bool = setting(
        False, "unknown request fields and nulls where orq's schema has none are 400s, not warnings"
    )
    default_provider: str | None = setting(
        None, "take a bare model name (`gpt-4o`) as `<provider>/gpt-4o`, with a contract warning",
        metavar="PROVIDER", shown_default="none (400)",
    )  # fmt: skip
    allow_live_http: bool = setting(
        False, "let `orq:http` tools really call the hosts their `network.allowlist` names "
        "(otherwise results are generated)", shown_default="no network calls",
    )  # fmt: skip
    max_stored: int = setting(10_000, "stored responses kept, oldest evicted first")
    max_conversations: int = setting(1000, "conversations kept, least recently used evicted first")
    max_memories: int = setting(
        1000, "memory entities (`memory.entity_id`) kept, least recently used evicted first; each keeps "
        "its newest 1,000 documents"
    )  # fmt: skip
    max_sessions: int = setting(
        100, "named sessions (`X-Emulator-Session`) whose state is kept, least recently used forgotten "
        "first (requests without the header share one more, never forgotten)"
    )  # fmt: skip
    # Limits (README, Limits): past each, a 4xx naming what, never a 500 or a hang
    max_body_bytes: int = setting(10 * 1024 * 1024, "largest accepted body in bytes (larger: 413)")
    max_depth: int = setting(64, "objects and arrays nested in a body, the body counting 1 (deeper: 400)")
    max_string: int = setting(1_000_000, "characters in one string of a body (longer: 400)")
    max_input_items: int = setting(10_000, "items in a request's `input` list (more: 400)")
    max_tools: int = setting(512, "entries in a request's `tools` (more: 400)")
    max_delay: float = setting(
        60.0, "longest wait, in seconds, a request's x-emulator-timing may ask for: time to first token, "
        "or between deltas (longer: 400)",
    )  # fmt: skip
    max_header_bytes: int = setting(65536, "bytes of a request's line and headers (more: 431)")
    header_timeout: float = setting(10.0, "seconds a connection has to send its request headers (then 408)")
    body_timeout: float = setting(30.0, "seconds a request has to send its body after its headers (then 408)")
    max_connections: int = setting(
        1000, "connections open at once (more: 503 and closed; lowered to fit `ulimit -n`)"
    )
    max_streams: int = setting(1000, "event streams open at once (more: 503)")
    shutdown_grace: float = setting(
        5.0, "seconds a shutdown waits for requests under way before cutting them off (stored `failed`)"
    )
    journal: int = setting(1000, "requests kept for `GET /_emulator/requests` (`0`: none)")
    rate_limit: str | None = setting(
        None, "requests each API key may make per window, as `60/min` (more: 429 with Retry-After)",
        metavar="RATE", shown_default="no limit",
    )  # fmt: skip
    token_limit: str | None = setting(
        None, "tokens (input + output) each API key may use per window, as `40000/min`",
        metavar="RATE", shown_default="no limit",
    )  # fmt: skip
    report_on_exit: str | None = setting(
        None, "write the contract report (emulator.state.contract_report) to this JSON file on shutdown, "
        "and print its summary", metavar="FILE", shown_default="none",
    )  # fmt: skip
    cache_size: int = setting(1000, "responses the exact-match response cache keeps, least recently used out")
    frozen_time: float | None = setting(
        None, "freeze the clock at this Unix time, for byte-identical runs", shown_default="real time"
    )
    log_level: str = setting("info", "log level (the emulator's and uvicorn's)", choices=LOG_LEVELS)
    # Streaming (contract decision 5) and pacing (emulator.engine.timing)
    timing: str = setting(
        "instant", "pacing of every response: a profile (`instant`, `realistic`) or a spec such as "
        "`realistic,ttft_ms=800` (see Streaming); per request: the x-emulator-timing header",
        shown_default="`realistic` (`instant` in `create_app`)",
    )  # fmt: skip
    keepalive: float = setting(15.0, "seconds of stream silence before a `: keepalive` comment")
    reasoning_events: str = setting(
        "orq", "reasoning event names: `orq` (response.reasoning.*) or `openai` (response.reasoning_text.*)",
        choices=tuple(REASONING_EVENTS),
    )  # fmt: skip
    done_sentinel: bool = setting(
        True, "end streams without `data: [DONE]`", flag="--no-done", shown_default="`[DONE]` sent"
    )
    function_call_status: str = setting(
        "auto", "status of a turn that ends calling a function: `requires_action`, `completed`, or `auto` "
        "(`completed` for orq SDKs from 4.13.1, else `requires_action`)",
        choices=FUNCTION_CALL_STATUSES,
    )  # fmt: skip
    # Scenarios (emulator.scenarios)
    scenarios: tuple[str, ...] = setting(
        (), "scenario files or directories (`builtin`: the shipped library)",
        many="extend", metavar="PATH", shown_default="none",
    )  # fmt: skip
    strict_scenarios: bool = setting(False, "a request no scenario matches is a 400 `no_scenario_matched`")
    reload: bool = setting(
        True, "do not watch the scenario files", flag="--no-reload", shown_default="reload on"
    )

    def __post_init__(self) -> None:
        parse_timing(self.timing)  # raises ValueError naming the problem
        for f in fields(self):
            allowed = about(f).choices
            if allowed is not None and getattr(self, f.name) not in allowed:
                raise ValueError(f"{f.name} must be one of {', '.join(allowed)}")
        if not self.api_keys:
            raise ValueError("api_keys needs at least one key")
        if self.journal < 0:
            raise ValueError("journal must be a number of requests >= 0")
        if not self.keepalive > 0:
            raise ValueError("keepalive must be a number of seconds > 0")
        limits = ("max_body_bytes", "max_depth", "max_string", "max_input_items", "max_tools", "max_delay")
        for name in (*limits, "max_connections", "max_streams", "header_timeout", "body_timeout",
                     "max_header_bytes"):  # fmt: skip
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        if not self.shutdown_grace >= 0:
            raise ValueError("shutdown_grace must be a number of seconds >= 0")
        self._check_gateway()

    def _check_gateway(self) -> None:
        for name in ("rate_limit", "token_limit"):
            if (rate := getattr(self, name)) is not None:
                try:
                    parse_limit(rate)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        for name in ("cache_size", "max_conversations", "max_memories", "max_sessions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    @property
    def uses_dev_key(self) -> bool:
        return self.api_keys == (DEV_API_KEY,)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        """Defaults overridden by RESPONSES_EMULATOR_<FIELD> (tuples are comma-separated, switches
        take 1/0/true/false/yes/no)."""
        changes: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(env_name(f))
            if raw is None:
                continue
            try:
                changes[f.name] = parse(f, raw)
            except ValueError as exc:
                raise ValueError(f"{env_name(f)}={raw!r}: {exc}") from None
        try:
            return replace(cls(), **changes)
        except ValueError as exc:
            raise ValueError(f"{ENV_PREFIX}* settings: {exc}") from None


def about(f: Field[Any]) -> Setting:
    setting_: Setting = f.metadata["setting"]
    return setting_


@cache
def kind(name: str) -> Any:
    """A field's type: int, float, bool, str or tuple (`float | None` is float)."""
    hint = typing.get_type_hints(Config)[name]
    if isinstance(hint, types.UnionType):  # an optional value: its type
        hint = next(t for t in typing.get_args(hint) if t is not type(None))
    return typing.get_origin(hint) or hint


def env_name(f: Field[Any]) -> str:
    return ENV_PREFIX + f.name.upper()


def flag(f: Field[Any]) -> str:
    return about(f).flag or "--" + f.name.replace("_", "-")


def parse(f: Field[Any], raw: str) -> object:
    """A setting's value from its environment variable's text."""
    typ = kind(f.name)
    if typ is bool:
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError("expected 1/0/true/false")
        return raw.lower() in ("1", "true", "yes")
    if typ is tuple:
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if typ in (int, float):
        return typ(raw)
    choices = about(f).choices
    if choices is not None:
        if raw.lower() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw.lower()
    return raw


def settings_table() -> str:
    """The README's table of settings, in Markdown."""
    rows = ["| Flag | Environment variable | Default | |", "|---|---|---|---|"]
    for f in fields(Config):
        how = about(f)
        given = flag(f) + (f" {how.metavar}" if how.metavar else "") + ("..." if how.many == "extend" else "")
        env = f"`{env_name(f)}`"
        if kind(f.name) is bool:
            env = f"`{env_name(f)}={'false' if f.default else 'true'}`"
        elif how.many is not None:
            env += " (comma-separated)"
        rows.append(f"| `{given}` | {env} | {how.shown_default or _shown(f.default)} | {how.help} |")
    return "\n".join(rows)


def _shown(value: Any) -> str:
    if value is False:
        return "off"
    if isinstance(value, tuple):
        value = ", ".join(value)
    elif isinstance(value, float):
        value = f"{value:g}"
    return f"`{value}`"
