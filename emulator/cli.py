"""`responses-emulator serve | validate | schema`."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import logging.config
import os
import sys
from collections.abc import Sequence
from typing import Any

import orjson

from emulator import __version__
from emulator.config import DEV_API_KEY, ENV_PREFIX, LOG_LEVELS, Config
from emulator.engine.events import REASONING_EVENTS
from emulator.engine.function_calls import CHOICES as FUNCTION_CALL_STATUSES

# serve's flags: Config field -> (value type, or bool for a switch; help). Each field also reads
# RESPONSES_EMULATOR_<FIELD> (Config.from_env); the flag wins.
_FLAGS: dict[str, tuple[type, str]] = {
    "host": (str, "interface to bind (default %(default)s)"),
    "port": (int, "port (default %(default)s; 0 picks a free one)"),
    "seed": (int, "seed for ids and generated text (default %(default)s)"),
    "strict": (bool, "unknown request fields are 400s, not warnings"),
    "max_stored": (int, "stored responses kept, oldest evicted first (default %(default)s)"),
    "max_body_bytes": (int, "largest accepted body in bytes (default %(default)s)"),
    "journal": (int, "requests kept in the journal, GET /_emulator/requests (default %(default)s; 0: none)"),
    "frozen_time": (float, "freeze the clock at this Unix time, for byte-identical runs"),
    "log_level": (str, "uvicorn's log level (default %(default)s)"),
    "timing": (str, "stream pacing: instant, realistic, or e.g. 'realistic,ttft_ms=800,tokens_per_second=20' "
                    "(default %(default)s; also per request with the x-emulator-timing header)"),
    "keepalive": (float, "seconds of stream silence before a ': keepalive' comment (default %(default)s)"),
    "reasoning_events": (str, "reasoning stream event names: orq (response.reasoning.*) or openai "
                              "(response.reasoning_text.*) (default %(default)s)"),
    "function_call_status": (str, "status of a turn that ends calling a function: requires_action, "
                                  "completed, or auto: completed for orq SDKs >= 4.13.1, else "
                                  "requires_action (default %(default)s)"),
}  # fmt: skip
_CHOICES = {
    "log_level": LOG_LEVELS,
    "reasoning_events": tuple(REASONING_EVENTS),
    "function_call_status": FUNCTION_CALL_STATUSES,
}


def _parser(defaults: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="responses-emulator",
        description="A local, deterministic emulator of orq.ai's Responses API.",
        epilog=f"Each serve flag has an environment variable {ENV_PREFIX}<FLAG>, e.g. {ENV_PREFIX}PORT=9000",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the emulator on HTTP")
    for name, (kind, help_text) in _FLAGS.items():
        flag, default = "--" + name.replace("_", "-"), getattr(defaults, name)
        if kind is bool:
            serve.add_argument(flag, action="store_true", default=default, help=help_text)
        else:
            serve.add_argument(flag, type=kind, default=default, choices=_CHOICES.get(name), help=help_text)
    serve.add_argument(
        "--api-key", dest="api_keys", action="append", metavar="KEY",
        help=f"accepted bearer key; repeat for several (default: the dev key '{DEV_API_KEY}')",
    )  # fmt: skip
    serve.add_argument(
        "--no-auth", action="store_true", default=not defaults.auth, help="accept requests without a key"
    )
    serve.add_argument(
        "--no-done", action="store_true", default=not defaults.done_sentinel,
        help="end streams without the 'data: [DONE]' line",
    )  # fmt: skip
    serve.add_argument(
        "--scenarios", nargs="+", action="extend", metavar="PATH",
        help="scenario files or directories, or builtin (the shipped library); reloaded on change",
    )  # fmt: skip
    serve.add_argument(
        "--strict-scenarios", action="store_true", default=defaults.strict_scenarios,
        help="a request no scenario matches is a 400 no_scenario_matched, not default text",
    )  # fmt: skip
    serve.add_argument(
        "--no-reload",
        action="store_true",
        default=not defaults.reload,
        help="do not watch the scenario files",
    )

    validate = commands.add_parser("validate", help="check scenario files; exit 1 on any problem")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or directories")

    commands.add_parser("schema", help="print the OpenAPI document built from schemas/")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        defaults = Config.from_env()
    except ValueError as exc:
        print(f"responses-emulator: {exc}", file=sys.stderr)
        return 2
    if ENV_PREFIX + "TIMING" not in os.environ:  # a server for people: streams at a human pace
        defaults = dataclasses.replace(defaults, timing="realistic")
    args = _parser(defaults).parse_args(argv)
    if args.command == "schema":
        from emulator.contract.openapi import document

        sys.stdout.write(orjson.dumps(document(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if args.command == "validate":
        return validate(args.paths)
    try:
        config = dataclasses.replace(
            defaults,
            **{name: getattr(args, name) for name in _FLAGS},
            api_keys=tuple(args.api_keys) if args.api_keys else defaults.api_keys,
            auth=not args.no_auth,
            done_sentinel=not args.no_done,
            scenarios=tuple(args.scenarios) if args.scenarios else defaults.scenarios,
            strict_scenarios=args.strict_scenarios,
            reload=not args.no_reload,
        )
    except ValueError as exc:
        print(f"responses-emulator: {exc}", file=sys.stderr)
        return 2
    return serve(config)


def validate(paths: list[str]) -> int:
    """Prints every problem in the scenario files, with file:line; 1 if there were any."""
    from emulator.scenarios.loader import load

    scenarios, problems = load(paths)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"ok: {len(scenarios.scenarios)} scenario(s) in {len(scenarios.files)} file(s)")
    return 0


def serve(config: Config) -> int:
    import uvicorn

    from emulator.app import create_app
    from emulator.scenarios.source import ScenarioFilesInvalid

    class AnnouncingServer(uvicorn.Server):
        """Once listening, prints the base URL each kind of client needs (the port may be 0)."""

        async def startup(self, sockets: list | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(banner(config, self.servers[0].sockets[0].getsockname()[1]), flush=True)

    logging.config.dictConfig(_logging(config))  # before the app, which logs its scenario load
    try:
        app = create_app(config)
    except ScenarioFilesInvalid as invalid:
        for problem in invalid.problems:
            print(problem, file=sys.stderr)
        print("responses-emulator: the scenario files have problems; nothing was started", file=sys.stderr)
        return 1
    server = AnnouncingServer(
        uvicorn.Config(app, host=config.host, port=config.port, log_level=config.log_level, log_config=None)
    )
    server.run()
    return 0 if server.started else 1


def _logging(config: Config) -> dict[str, Any]:
    """uvicorn's logging, plus the emulator's own logger (scenario reloads, contract warnings)."""
    from uvicorn.config import LOGGING_CONFIG

    settings = copy.deepcopy(LOGGING_CONFIG)
    level = config.log_level.upper()
    settings["loggers"]["emulator"] = {"handlers": ["default"], "level": level, "propagate": False}
    return settings


def banner(config: Config, port: int) -> str:
    base = f"http://{config.host}:{port}"
    key = config.api_keys[0] if config.auth else "anything (auth is off)"
    return (
        f"\nresponses-emulator {__version__} listening on {base}\n"
        f'  orq SDK:        Orq(server_url="{base}", api_key="{key}")\n'
        f'  OpenAI clients: OpenAI(base_url="{base}/v3/router", api_key="{key}")\n'
        f"  OpenAPI:        {base}/openapi.json\n"
    )
