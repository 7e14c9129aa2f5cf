"""The command line, as a user runs it: a real process, real port, env vars and flags."""

from __future__ import annotations

import dataclasses
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from orq_ai_sdk import Orq

from emulator import cli
from emulator.config import DEV_API_KEY, Config

HI = {"model": "openai/gpt-4o", "input": "hi"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def serve(
    *flags: str, env: dict[str, str] | None = None, errors: list[str] | None = None
) -> Iterator[tuple[str, str]]:
    """Runs `responses-emulator serve --port 0 ...`; yields (base URL, banner). Both pipes are
    read by threads, so no read can hang the suite; `errors` collects what it logs to stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "serve", "--port", "0", "--log-level", "warning", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )
    lines: queue.Queue[str] = queue.Queue()
    logged = errors if errors is not None else []
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    reader = threading.Thread(target=lambda: [logged.append(line) for line in proc.stderr], daemon=True)
    reader.start()
    try:
        banner, deadline = "", time.monotonic() + 20
        while "Dashboard:" not in banner:
            try:
                banner += lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"serve did not start: {proc.poll()=} {banner=}") from None
        url = re.search(r"listening on (http://\S+)", banner).group(1)
        yield url, banner
    finally:
        proc.terminate()
        # uvicorn shuts down cleanly, then re-raises SIGTERM, as servers conventionally do
        assert proc.wait(10) in (0, -signal.SIGTERM)
        reader.join(10)


def test_serve_announces_urls_and_answers() -> None:
    with serve("--seed", "5", "--frozen-time", "1767225600") as (url, banner):
        assert url.startswith("http://127.0.0.1:")
        assert f'Orq(server_url="{url}", api_key="{DEV_API_KEY}")' in banner
        assert f'base_url="{url}/v3/router"' in banner
        assert f"Dashboard:      {url}/_emulator/ui\n" in banner
        assert httpx.get(f"{url}/_emulator/ui").status_code == 200
        created = Orq(api_key=DEV_API_KEY, server_url=url).responses.create(**HI)
        assert created.created_at == 1767225600
        assert httpx.get(f"{url}/health").json()["status"] == "ok"
        assert httpx.get(f"{url}/openapi.json").json()["servers"] == [{"url": url}]  # its own port


def test_env_vars_configure_keys_and_the_cli_overrides_them() -> None:
    env = {"RESPONSES_EMULATOR_API_KEYS": "k1, k2", "RESPONSES_EMULATOR_STRICT": "true"}
    with serve(env=env) as (url, _):
        assert (
            httpx.post(
                f"{url}/v3/router/responses", json=HI, headers={"Authorization": "Bearer k2"}
            ).status_code
            == 200
        )
        assert (
            httpx.post(
                f"{url}/v3/router/responses", json=HI, headers={"Authorization": f"Bearer {DEV_API_KEY}"}
            ).status_code
            == 401
        )
        strict = httpx.post(
            f"{url}/v3/router/responses", json={**HI, "user": "u"}, headers={"Authorization": "Bearer k1"}
        )
        assert strict.status_code == 400
    with serve("--api-key", "only-this", env=env) as (url, _):
        assert (
            httpx.post(
                f"{url}/v3/router/responses", json=HI, headers={"Authorization": "Bearer only-this"}
            ).status_code
            == 200
        )


def test_no_auth() -> None:
    with serve("--no-auth") as (url, banner):
        assert httpx.post(f"{url}/v3/router/responses", json=HI).status_code == 200
        assert "auth is off" in banner


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ([], {"RESPONSES_EMULATOR_PORT": "eighty"}, "RESPONSES_EMULATOR_PORT='eighty'"),
        ([], {"RESPONSES_EMULATOR_LOG_LEVEL": "loud"}, "expected one of critical"),
        (["--log-level", "loud"], {}, "invalid choice: 'loud'"),
        (["--port", "x"], {}, "invalid int value: 'x'"),
        (["--timing", "warp"], {}, "unknown timing profile 'warp'"),
        (["--timing", "realistic,ttft_ms=soon"], {}, "ttft_ms must be a number of milliseconds"),
        (["--keepalive", "0"], {}, "keepalive must be a number of seconds > 0"),
        (["--reasoning-events", "anthropic"], {}, "invalid choice: 'anthropic'"),
        ([], {"RESPONSES_EMULATOR_TIMING": "chunk_tokens=0"}, "chunk_tokens must be a whole number >= 1"),
    ],
)
def test_bad_settings_are_usage_errors(args: list[str], env: dict[str, str], says: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "serve", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_safe_defaults() -> None:
    config = Config()
    assert (config.host, config.auth, config.api_keys) == ("127.0.0.1", True, (DEV_API_KEY,))
    assert (config.max_stored, config.max_body_bytes) == (10_000, 10 * 1024 * 1024)


@pytest.mark.parametrize(("raw", "parsed"), [("1", True), ("false", False), ("YES", True)])
def test_boolean_env_values(raw: str, parsed: bool) -> None:
    assert Config.from_env({"RESPONSES_EMULATOR_AUTH": raw}).auth is parsed


def first_delta_after(url: str) -> tuple[float, bytes]:
    """Seconds from sending a stream request to its first content delta, and the whole stream."""
    start, first, chunks = time.monotonic(), None, []
    with httpx.stream("POST", f"{url}/v3/router/responses", json={**HI, "stream": True},
                      headers={"Authorization": f"Bearer {DEV_API_KEY}"}, timeout=30) as reply:  # fmt: skip
        for chunk in reply.iter_raw():
            chunks.append(chunk)
            if first is None and b"output_text.delta" in chunk:
                first = time.monotonic() - start
    return first, b"".join(chunks)


def test_serve_streams_at_a_human_pace_by_default_and_instantly_when_asked() -> None:
    with serve() as (url, _):
        realistic, body = first_delta_after(url)
    assert realistic > 0.2  # the realistic profile's ~350 ms to the first token
    assert body.endswith(b"data: [DONE]\n\n")
    with serve("--timing", "instant", "--no-done") as (url, _):
        instant, body = first_delta_after(url)
    assert instant < realistic and not body.endswith(b"data: [DONE]\n\n")
    with serve(env={"RESPONSES_EMULATOR_TIMING": "instant"}) as (url, _):
        assert first_delta_after(url)[0] < realistic


def test_serve_logs_its_scenario_load() -> None:
    errors: list[str] = []
    with serve("--scenarios", "scenarios", "--log-level", "info", errors=errors):
        pass
    assert re.search(r"INFO: +loaded \d+ scenario\(s\) from \d+ file\(s\)", "".join(errors))


# Every setting, through its flag and through its environment variable (values written by hand).
FLAGS = [
    (["--host", "0.0.0.0"], "host", "0.0.0.0"),
    (["--port", "9"], "port", 9),
    (["--seed", "4"], "seed", 4),
    (["--api-key", "a", "--api-key", "b"], "api_keys", ("a", "b")),
    (["--no-auth"], "auth", False),
    (["--allow-live-http"], "allow_live_http", True),
    (["--no-cors"], "cors", False),
    (
        ["--cors-origins", "http://a.test", "https://*.b.test"],
        "cors_origins",
        ("http://a.test", "https://*.b.test"),
    ),
    (["--admin-key", "adm"], "admin_keys", ("adm",)),
    (["--strict"], "strict", True),
    (["--default-provider", "openai"], "default_provider", "openai"),
    (["--max-stored", "3"], "max_stored", 3),
    (["--max-body-bytes", "100"], "max_body_bytes", 100),
    (["--max-depth", "8"], "max_depth", 8),
    (["--max-string", "50"], "max_string", 50),
    (["--max-input-items", "7"], "max_input_items", 7),
    (["--max-tools", "6"], "max_tools", 6),
    (["--max-delay", "2.5"], "max_delay", 2.5),
    (["--max-header-bytes", "999"], "max_header_bytes", 999),
    (["--header-timeout", "3"], "header_timeout", 3.0),
    (["--body-timeout", "4"], "body_timeout", 4.0),
    (["--max-connections", "20"], "max_connections", 20),
    (["--max-streams", "9"], "max_streams", 9),
    (["--shutdown-grace", "0.5"], "shutdown_grace", 0.5),
    (["--journal", "0"], "journal", 0),
    (["--rate-limit", "60/min"], "rate_limit", "60/min"),
    (["--token-limit", "40000/min"], "token_limit", "40000/min"),
    (["--cache-size", "5"], "cache_size", 5),
    (["--report-on-exit", "r.json"], "report_on_exit", "r.json"),
    (["--max-conversations", "9"], "max_conversations", 9),
    (["--max-memories", "8"], "max_memories", 8),
    (["--max-sessions", "7"], "max_sessions", 7),
    (["--frozen-time", "12.5"], "frozen_time", 12.5),
    (["--log-level", "debug"], "log_level", "debug"),
    (["--timing", "instant"], "timing", "instant"),
    (["--keepalive", "2"], "keepalive", 2.0),
    (["--reasoning-events", "openai"], "reasoning_events", "openai"),
    (["--no-done"], "done_sentinel", False),
    (["--function-call-status", "completed"], "function_call_status", "completed"),
    (["--scenarios", "a", "b"], "scenarios", ("a", "b")),
    (["--strict-scenarios"], "strict_scenarios", True),
    (["--no-reload"], "reload", False),
]
ENVIRONMENT = [
    ("HOST", "0.0.0.0", "host", "0.0.0.0"),
    ("PORT", "9", "port", 9),
    ("SEED", "4", "seed", 4),
    ("API_KEYS", "a, b", "api_keys", ("a", "b")),
    ("AUTH", "false", "auth", False),
    ("ALLOW_LIVE_HTTP", "true", "allow_live_http", True),
    ("CORS", "false", "cors", False),
    ("CORS_ORIGINS", "http://a.test, *", "cors_origins", ("http://a.test", "*")),
    ("ADMIN_KEYS", "x,y", "admin_keys", ("x", "y")),
    ("STRICT", "1", "strict", True),
    ("DEFAULT_PROVIDER", "anthropic", "default_provider", "anthropic"),
    ("MAX_STORED", "3", "max_stored", 3),
    ("MAX_BODY_BYTES", "100", "max_body_bytes", 100),
    ("MAX_DEPTH", "8", "max_depth", 8),
    ("MAX_STRING", "50", "max_string", 50),
    ("MAX_INPUT_ITEMS", "7", "max_input_items", 7),
    ("MAX_TOOLS", "6", "max_tools", 6),
    ("MAX_DELAY", "2.5", "max_delay", 2.5),
    ("MAX_HEADER_BYTES", "999", "max_header_bytes", 999),
    ("HEADER_TIMEOUT", "3", "header_timeout", 3.0),
    ("BODY_TIMEOUT", "4", "body_timeout", 4.0),
    ("MAX_CONNECTIONS", "20", "max_connections", 20),
    ("MAX_STREAMS", "9", "max_streams", 9),
    ("SHUTDOWN_GRACE", "0.5", "shutdown_grace", 0.5),
    ("JOURNAL", "0", "journal", 0),
    ("RATE_LIMIT", "5/10s", "rate_limit", "5/10s"),
    ("TOKEN_LIMIT", "1000/h", "token_limit", "1000/h"),
    ("CACHE_SIZE", "7", "cache_size", 7),
    ("REPORT_ON_EXIT", "out.json", "report_on_exit", "out.json"),
    ("MAX_CONVERSATIONS", "3", "max_conversations", 3),
    ("MAX_MEMORIES", "4", "max_memories", 4),
    ("MAX_SESSIONS", "5", "max_sessions", 5),
    ("FROZEN_TIME", "12.5", "frozen_time", 12.5),
    ("LOG_LEVEL", "DEBUG", "log_level", "debug"),
    ("TIMING", "instant", "timing", "instant"),
    ("KEEPALIVE", "2", "keepalive", 2.0),
    ("REASONING_EVENTS", "openai", "reasoning_events", "openai"),
    ("DONE_SENTINEL", "no", "done_sentinel", False),
    ("FUNCTION_CALL_STATUS", "completed", "function_call_status", "completed"),
    ("SCENARIOS", "a,b", "scenarios", ("a", "b")),
    ("STRICT_SCENARIOS", "yes", "strict_scenarios", True),
    ("RELOAD", "0", "reload", False),
]


def test_every_setting_has_a_flag_and_an_environment_variable() -> None:
    every = {f.name for f in dataclasses.fields(Config)}
    assert {name for _, name, _ in FLAGS} == every
    assert {name for _, _, name, _ in ENVIRONMENT} == every


@pytest.mark.parametrize(("argv", "name", "value"), FLAGS, ids=[name for _, name, _ in FLAGS])
def test_each_flag_sets_its_setting(argv: list[str], name: str, value: object) -> None:
    defaults = cli.serve_defaults({})
    config = cli.serve_config(cli._parser(defaults).parse_args(["serve", *argv]), defaults)
    assert getattr(config, name) == value
    untouched = [f.name for f in dataclasses.fields(Config) if f.name != name]
    assert all(getattr(config, other) == getattr(defaults, other) for other in untouched)


@pytest.mark.parametrize(("variable", "raw", "name", "value"), ENVIRONMENT, ids=[e[0] for e in ENVIRONMENT])
def test_each_environment_variable_sets_its_setting(
    variable: str, raw: str, name: str, value: object
) -> None:
    assert getattr(cli.serve_defaults({f"RESPONSES_EMULATOR_{variable}": raw}), name) == value


def test_a_flag_beats_its_environment_variable() -> None:
    defaults = cli.serve_defaults({"RESPONSES_EMULATOR_PORT": "7", "RESPONSES_EMULATOR_API_KEYS": "env-key"})
    assert (defaults.port, defaults.api_keys) == (7, ("env-key",))
    config = cli.serve_config(
        cli._parser(defaults).parse_args(["serve", "--port", "8", "--api-key", "k"]), defaults
    )
    assert (config.port, config.api_keys) == (8, ("k",))
    assert cli.serve_defaults({}).timing == "realistic"  # serve paces for people unless told


def test_the_banner_and_the_log_never_show_a_key_of_the_users_own() -> None:
    """The dev key is public (documented) and shown; a key the user chose is a secret."""
    errors: list[str] = []
    with serve("--api-key", "sk-user-chosen-secret", "--log-level", "debug", errors=errors) as (url, banner):
        assert httpx.get(f"{url}/health").status_code == 200
        assert 'api_key="<your --api-key>"' in banner
    assert "sk-user-chosen-secret" not in banner + "".join(errors)
    assert cli.banner(Config(auth=False), 8080).count("anything (auth is off)") == 2


def test_sigterm_ends_serve_within_its_grace_while_answers_wait() -> None:
    # The case: a JSON-mode request paced for a minute must not keep the process alive.
    # A stream paced the same way is sent after it: once its first event is in, the server is
    # in the middle of both when SIGTERM comes (the `serve` helper's exit sends it, and fails if
    # the process has not ended 10 s later).
    def request(port: int, body: bytes) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            b"POST /v3/router/responses HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {DEV_API_KEY}\r\nx-emulator-timing: ttft_ms=60000\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return sock

    logged: list[str] = []
    with serve("--shutdown-grace", "0.5", errors=logged) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        waiting = request(port, b'{"model": "openai/gpt-4o", "input": "hi"}')
        streaming = request(port, b'{"model": "openai/gpt-4o", "input": "hi", "stream": true}')
        received = b""
        while b"response.created" not in received:
            received += streaming.recv(65536)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 8
    answer = waiting.recv(65536)  # told in the envelope, not uvicorn's plain-text 500
    assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    assert b'"code":"service_unavailable"' in answer
    assert not [line for line in logged if "Exception in ASGI application" in line or "Traceback" in line]
    for sock in (waiting, streaming):
        sock.close()
