"""A scripted emulator for one test: its URLs and key, clients, scenarios and request journal.

`InProcessEmulator` runs the app in the test's process with no socket (clients go through ASGI);
`ServedEmulator` is an app served by real uvicorn on a free port, for subprocesses and clients in
other languages. Both script and inspect the app the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from emulator.app import EmulatorApp, create_app
from emulator.clock import FrozenClock
from emulator.config import Config
from emulator.scenarios.files import BUILTIN, SourceFile
from emulator.scenarios.source import ScenarioFilesInvalid
from emulator.state.journal import Exchange
from emulator.testing import report
from emulator.testing.script import ModelScript, Reaction, Script, caller, calling_file, match_spec

if TYPE_CHECKING:
    import openai
    from orq_ai_sdk import Orq

    from emulator.testing.server import EmulatorServer


_Client = TypeVar("_Client")
_PACKAGES = {"openai": "openai", "orq_ai_sdk": "orq-ai-sdk"}


def require(module: str, method: str) -> None:
    """Raises an error that says how to install the client library a helper needs, if missing."""
    __tracebackhide__ = True
    try:
        importlib.import_module(module)
        return
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
    package = _PACKAGES[module]
    raise ModuleNotFoundError(
        f"{method}() needs the {package} package: pip install 'responses-emulator[pytest]' "
        f"(pytest and both SDKs), or pip install {package}",
        name=module,
    )


class Emulator:
    """What the fixtures give a test; see the module docstring and docs/testing.md."""

    base_url: str

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.config = app.config
        self._script = Script(self._apply)
        self._clients: list[Any] = []

    # Where and how to connect

    @property
    def api_key(self) -> str:
        return self.config.api_keys[0]

    @property
    def orq_server_url(self) -> str:
        """The orq SDKs' `server_url`: the server root."""
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        """The OpenAI SDKs' and the Vercel AI SDK's `baseURL`."""
        return f"{self.base_url}/v3/router"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def openai_client(self, **options: Any) -> openai.OpenAI:
        """An OpenAI SDK client for this emulator, without retries unless `max_retries` says."""
        require("openai", "openai_client")
        import openai

        options.setdefault("max_retries", 0)
        transport = self._httpx2_transport()
        if transport is not None:
            import httpx2

            options.setdefault("http_client", httpx2.Client(transport=transport))
        return self._keep(openai.OpenAI(api_key=self.api_key, base_url=self.openai_base_url, **options))

    def orq_client(self, **options: Any) -> Orq:
        """An orq SDK client for this emulator."""
        require("orq_ai_sdk", "orq_client")
        from orq_ai_sdk import Orq

        options.setdefault("client", self.httpx_client())
        return Orq(api_key=self.api_key, server_url=self.orq_server_url, **options)

    def httpx_client(self, **options: Any) -> httpx.Client:
        """An httpx client with this emulator's base URL and key."""
        options.setdefault("headers", self.auth_headers)
        transport = self._httpx_transport()
        if transport is not None:
            options.setdefault("transport", transport)
        return self._keep(httpx.Client(base_url=self.base_url, **options))

    def async_openai_client(self, **options: Any) -> openai.AsyncOpenAI:
        """An async OpenAI SDK client (in process: ASGI on the caller's event loop); close it
        with `await client.close()` or `async with`."""
        require("openai", "async_openai_client")
        import openai

        options.setdefault("max_retries", 0)
        if self._in_process:
            import httpx2

            transport = httpx2.ASGITransport(app=self.app)
            options.setdefault("http_client", httpx2.AsyncClient(transport=transport))
        return openai.AsyncOpenAI(api_key=self.api_key, base_url=self.openai_base_url, **options)

    def async_httpx_client(self, **options: Any) -> httpx.AsyncClient:
        """An async httpx client with this emulator's base URL and key (in process: ASGI)."""
        options.setdefault("headers", self.auth_headers)
        if self._in_process:
            options.setdefault("transport", httpx.ASGITransport(app=self.app))
        return httpx.AsyncClient(base_url=self.base_url, **options)

    # Scripting

    def load(self, source: str | Path | Mapping[str, Any] | Iterable[str | Path]) -> Emulator:
        """Adds scenarios: a file or directory (`builtin`: the shipped library), several, or a
        scenario document as data. A relative path is relative to the file that calls `load` (the
        test file, as with the emulator marker). Raises ScenarioFilesInvalid, naming each problem
        by file and line, and loads nothing, if they have problems."""
        __tracebackhide__ = True  # pytest shows the test's line and the problems, not this
        scenarios = self.app.scenarios
        try:
            if isinstance(source, Mapping):
                path, line = caller()
                key = f"loaded document {len(scenarios.documents)}"
                scenarios.add(documents={key: SourceFile(path, dict(source), {"": line})})
            else:
                given = [source] if isinstance(source, str | Path) else list(source)
                here = calling_file().parent
                scenarios.add(paths=[p if p == BUILTIN else str(here / p) for p in map(str, given)])
        except ScenarioFilesInvalid as exc:
            raise ScenarioFilesInvalid(exc.problems) from None
        return self

    def on(self, *, name: str | None = None, **conditions: Any) -> Reaction:
        """Scripts what the model does for requests that meet these conditions (keywords:
        emulator.testing.script.MATCH_KEYWORDS); see emulator.testing.script."""
        __tracebackhide__ = True
        return self._script.on(name=name, **conditions)

    def model(self, pattern: str) -> ModelScript:
        """Scripts a model (an id or a glob): how it fails, its pacing, what it supports."""
        return self._script.model(pattern)

    def _apply(self, documents: dict[str, SourceFile]) -> None:
        self.app.scenarios.add(documents=documents)

    # The journal

    @property
    def requests(self) -> list[Exchange]:
        """Every request to the Responses routes so far, oldest first."""
        return list(self.app.journal)

    @property
    def last_request(self) -> Exchange:
        entries = self.requests
        if not entries:
            raise AssertionError("the emulator has received no request")
        return entries[-1]

    def assert_called(self, times: int | None = None, **conditions: Any) -> list[Exchange]:
        """Asserts create requests meeting the conditions (the keywords of `on`) were made: at
        least once, or exactly `times`. Returns them. The failure shows every request and why
        each one missed."""
        spec = match_spec(dict(conditions))
        found = report.matching(self.requests, spec)
        if (times is None and not found) or (times is not None and len(found) != times):
            raise AssertionError(report.called(self.requests, spec, conditions, times, len(found)))
        return found

    def assert_not_called(self, **conditions: Any) -> None:
        self.assert_called(0, **conditions)

    def assert_all_scenarios_used(self) -> None:
        """Asserts every loaded and scripted scenario answered at least one request; the failure
        names the unused ones and why each request missed them."""
        loaded = self.app.scenarios.loaded.scenarios
        used = {entry.scenario for entry in self.requests}
        unused = [s for s in loaded if s.name not in used]
        if unused:
            raise AssertionError(report.unused(unused, self.requests))

    def report(self) -> str:
        """The journal, a line per request, with the near misses of unanswered ones."""
        return report.journal(self.requests)

    def advance(self, seconds: float) -> None:
        """Moves the emulator's frozen clock on (the test settings freeze it): background
        responses move on from queued, cached answers expire, rate-limit windows reset."""
        clock = self.app.clock
        if not getattr(clock, "frozen", isinstance(clock, FrozenClock)):
            raise TypeError("advance() needs the frozen clock: start the emulator with frozen_time set")
        clock.advance(seconds)  # type: ignore[attr-defined]

    def reset(self) -> None:
        """Forgets the requests seen and how far each scenario's turns have got."""
        self.app.journal.clear()
        self.app.scenarios.reset()

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()

    def _keep(self, client: _Client) -> _Client:
        self._clients.append(client)
        return client

    _in_process = False

    def _httpx_transport(self) -> httpx.BaseTransport | None:
        return None

    def _httpx2_transport(self) -> Any:
        return None


class InProcessEmulator(Emulator):
    """The app in this process; clients reach it through ASGI, so no port is opened."""

    base_url = "http://responses-emulator.test"
    _in_process = True

    def __init__(self, app: EmulatorApp) -> None:
        from starlette.testclient import TestClient

        super().__init__(app)
        self._portal_client = TestClient(app, base_url=self.base_url, raise_server_exceptions=False)
        self._portal_client.__enter__()  # one event loop for the test, with the app's lifespan

    def _httpx2_transport(self) -> Any:
        return self._portal_client._transport

    def _httpx_transport(self) -> httpx.BaseTransport:
        from emulator.testing.transport import HttpxBridge

        return HttpxBridge(self._portal_client._transport)

    def close(self) -> None:
        super().close()
        self._portal_client.__exit__(None, None, None)


class ServedEmulator(Emulator):
    """An app served by real uvicorn (see emulator.testing.server)."""

    def __init__(self, app: EmulatorApp, server: EmulatorServer) -> None:
        super().__init__(app)
        self.server = server
        self.base_url = server.url

    @classmethod
    @contextmanager
    def running(cls, config: Config) -> Iterator[ServedEmulator]:
        """An emulator with these settings on a uvicorn server of its own, for the block's length
        (outside pytest too: a script, a notebook, a dev server's test harness)."""
        from emulator.app import connection_limits
        from emulator.testing.server import EmulatorServer

        app = create_app(config)
        served = EmulatorServer(app, limits=connection_limits(config), shutdown_grace=config.shutdown_grace)
        with served as server, closing(cls(app, server)) as emulator:
            yield emulator
