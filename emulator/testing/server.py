"""The emulator under real uvicorn, on 127.0.0.1 and a port the OS picks, in a background thread.

The server serves whichever app it was last given (`serve_app`), so one server can give each
test a fresh app, with its own settings, store and journal, without a new port or thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
import typing
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.http.connections import ConnectionLimits, server_config


class EmulatorServer:
    def __init__(
        self,
        app: ASGIApp,
        *,
        start_timeout: float = 15,
        limits: ConnectionLimits | None = None,
        shutdown_grace: float = 5.0,
    ) -> None:
        self.app = app
        self.start_timeout = start_timeout
        self.server = uvicorn.Server(
            server_config(
                self._serve, limits=limits or ConnectionLimits(), shutdown_grace=shutdown_grace,
                host="127.0.0.1", port=0, log_level="warning", lifespan="off", interface="asgi3",
            )
        )  # fmt: skip
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="responses-emulator", daemon=True)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def serve_app(self, app: ASGIApp) -> None:
        """Serves `app` from the next request on (requests under way finish on the old one)."""
        self.app = app

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve())
        # Requests a shutdown cut off are cancelled but not yet finished: let them finish (each
        # stores how far it got), as asyncio.run would.
        left = asyncio.all_tasks(self.loop)
        self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))

    def call(self, coroutine: typing.Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        """Runs `coroutine` on the server's event loop (to look at its tasks, say)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> EmulatorServer:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"
