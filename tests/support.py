"""Test helpers: a real uvicorn server on a free port, and the contract oracles."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from openresponses_types.types import ResponseResource

from emulator.app import create_app
from emulator.config import DEV_API_KEY, Config
from emulator.contract import schemas

T0 = 1_767_225_600.0  # the frozen clock's start in tests: 2026-01-01T00:00:00Z
AUTH = {"Authorization": f"Bearer {DEV_API_KEY}"}


def make_config(**overrides: Any) -> Config:
    return Config(frozen_time=T0, **overrides)


class LiveServer:
    """The emulator under real uvicorn, on 127.0.0.1 and a port the OS picks, in a thread."""

    def __init__(self, config: Config) -> None:
        self.app = create_app(config)
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, name="emulator", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


def assert_contract_response(body: dict[str, Any]) -> None:
    """A response body is valid against schemas/ and parses as an OpenResponses resource."""
    schemas.validator(schemas.RESPONSE).validate(body)
    ResponseResource.model_validate(as_openresponses_sees_it(body))


def as_openresponses_sees_it(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the two places where the OpenResponses spec cannot be met set aside.

    1. It types an echoed json_schema format's `schema` as always null, while the OpenAI SDK
       requires the schema object and users expect their schema back; the emulator echoes it.
    2. It knows only function tools, while orq's tools include `orq:*` and `mcp`; the emulator
       echoes the tools that were sent.
    Everything else in the body must validate unchanged.
    """
    seen = dict(body)
    text_format = body["text"]["format"]
    if text_format["type"] == "json_schema":
        seen["text"] = {**body["text"], "format": {**text_format, "schema": None}}
    seen["tools"] = [t for t in body["tools"] if t["type"] == "function"]
    return seen


def assert_contract_error(body: dict[str, Any]) -> None:
    schemas.validator(schemas.ERROR).validate(body)
