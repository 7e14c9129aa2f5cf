"""`responses-emulator serve | validate | schema`."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import ipaddress
import json
import logging.config
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson

from emulator import __version__
from emulator.config import DEV_API_KEY, ENV_PREFIX, Config, about, flag, kind


def _parser(defaults: Config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="responses-emulator",
        description="A local, deterministic emulator of orq.ai's Responses API.",
        epilog=f"Each serve flag has an environment variable {ENV_PREFIX}<FLAG>, e.g. {ENV_PREFIX}PORT=9000",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the emulator on HTTP")
    for f in fields(Config):
        how, default = about(f), getattr(defaults, f.name)
        options: dict[str, Any] = {"dest": f.name, "help": how.help.replace("%", "%%")}
        if kind(f.name) is bool:  # a switch: --x turns a default False on, --no-x a default True off
            options.update(action="store_false" if f.default else "store_true", default=default)
        elif how.many is not None:  # given again, or with several values: replaces the default
            options.update(action=how.many, default=None, metavar=how.metavar)
            options["help"] += f" (default: {', '.join(default) or 'none'})"
            if how.many == "extend":
                options["nargs"] = "+"
        else:
            options.update(type=kind(f.name), default=default, choices=how.choices, metavar=how.metavar)
            if default is not None:
                options["help"] += " (default: %(default)s)"
        serve.add_argument(flag(f), **options)

    validate = commands.add_parser("validate", help="check scenario files; exit 1 on any problem")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="scenario files or directories")

    commands.add_parser("schema", help="print the OpenAPI document built from schemas/")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        defaults = serve_defaults(os.environ)
    except ValueError as exc:
        print(f"responses-emulator: {exc}", file=sys.stderr)
        return 2
    args = _parser(defaults).parse_args(argv)
    if args.command == "schema":
        from emulator.contract.openapi import document

        sys.stdout.write(orjson.dumps(document(), option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    if args.command == "validate":
        return validate(args.paths)
    try:
        config = serve_config(args, defaults)
    except ValueError as exc:
        print(f"responses-emulator: {exc}", file=sys.stderr)
        return 2
    return serve(config)


def serve_defaults(environ: Mapping[str, str]) -> Config:
    """The settings before any flag: the environment's over the defaults; `serve` paces streams
    at a human speed unless told otherwise."""
    defaults = Config.from_env(environ)
    if ENV_PREFIX + "TIMING" not in environ:
        defaults = dataclasses.replace(defaults, timing="realistic")
    return defaults


def serve_config(args: argparse.Namespace, defaults: Config) -> Config:
    """The settings `serve` runs with: its flags over `defaults`."""
    given = {f.name: getattr(args, f.name) for f in fields(Config)}
    changes: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in given.items()
        if value is not None
    }
    return dataclasses.replace(defaults, **changes)


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

    from emulator.app import connection_limits, create_app
    from emulator.http.connections import server_config
    from emulator.scenarios.source import ScenarioFilesInvalid

    class AnnouncingServer(uvicorn.Server):
        """Once listening, prints the base URL each kind of client needs (the port may be 0)."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(banner(config, self.servers[0].sockets[0].getsockname()[1]), flush=True)

    logging.config.dictConfig(_logging(config))  # before the app, which logs its scenario load
    if (warning := exposure_warning(config)) is not None:
        print(f"responses-emulator: warning: {warning}", file=sys.stderr, flush=True)
    try:
        app = create_app(config)
    except ScenarioFilesInvalid as invalid:
        for problem in invalid.problems:
            print(problem, file=sys.stderr)
        print("responses-emulator: the scenario files have problems; nothing was started", file=sys.stderr)
        return 1
    server = AnnouncingServer(
        server_config(
            app, limits=connection_limits(config), shutdown_grace=config.shutdown_grace,
            host=config.host, port=config.port, log_level=config.log_level, log_config=None,
        )
    )  # fmt: skip
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        if server.started:
            raise
        print(
            f"responses-emulator: could not listen on {config.host}:{config.port} (see the error above: "
            "usually the port is taken). Pick another: --port 8081, --port 0 for any free port, "
            "or RESPONSES_EMULATOR_PORT=8081",
            file=sys.stderr,
        )
    finally:  # uvicorn re-raises the signal that stopped it once it has shut down
        if config.report_on_exit is not None and server.started:
            _write_report(app.contract_report, config.report_on_exit)
    return 0 if server.started else 1


def _write_report(report: Any, path: str) -> None:
    """The contract report as JSON in `path`, and its summary on stdout."""
    Path(path).write_text(json.dumps(report.json(), indent=2, ensure_ascii=False) + "\n")
    print(f"contract report ({path}):\n{report.summary()}", flush=True)


def _logging(config: Config) -> dict[str, Any]:
    """uvicorn's logging, plus the emulator's own logger (scenario reloads, contract warnings)."""
    from uvicorn.config import LOGGING_CONFIG

    settings = copy.deepcopy(LOGGING_CONFIG)
    level = config.log_level.upper()
    settings["loggers"]["emulator"] = {"handlers": ["default"], "level": level, "propagate": False}
    return settings


def exposure_warning(config: Config) -> str | None:
    """What to say when the emulator listens beyond this machine with no key of the user's own."""
    if is_loopback(config.host) or (config.auth and not config.uses_dev_key):
        return None
    how = "with auth off" if not config.auth else f"with the public dev key '{DEV_API_KEY}'"
    return (
        f"listening on {config.host}, reachable from other machines, {how}: anyone who can reach "
        "this port can use it and read its journal; set --api-key (and --admin-key)"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: only "localhost" is known to stay on this machine
        return False


def banner(config: Config, port: int) -> str:
    base = f"http://{config.host}:{port}"
    if not config.auth:
        key = "anything (auth is off)"
    elif config.uses_dev_key:
        key = DEV_API_KEY  # public and documented: showing it is the point
    else:
        key = "<your --api-key>"  # a key of the user's own is a secret: never printed or logged
    return (
        f"\nresponses-emulator {__version__} listening on {base}\n"
        f'  orq SDK:        Orq(server_url="{base}", api_key="{key}")\n'
        f'  OpenAI clients: OpenAI(base_url="{base}/v3/router", api_key="{key}")\n'
        f"  OpenAPI:        {base}/openapi.json\n"
        f"  Dashboard:      {base}/_emulator/ui\n"
    )
