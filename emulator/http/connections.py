"""Bounded connections: uvicorn's httptools protocol with time limits, a connection cap, and the
error envelope where uvicorn would answer in plain text.

uvicorn times out idle keep-alive connections, but not a connection that never finishes sending
its headers or its body (a slow or silent client holds its socket for ever), and it counts
connections only to answer a 503 once a request arrives. So a flood of idle sockets could use up
the process's file descriptors and take `/health` down with them. Here:

- a connection must send its headers within `header_timeout` of connecting (or of its previous
  response), and its body within `body_timeout` of its headers; else it gets a 408 (when it had
  begun a request) and is closed;
- a request line and headers longer than `max_header_bytes` get a 431 (uvicorn's httptools
  protocol would buffer them without end);
- past `max_connections` open at once, a new connection gets a 503 and is closed at once;
- malformed HTTP gets a 400 in the orq envelope instead of uvicorn's plain text.

Each check costs a timer per connection and request, nothing per byte.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass, replace
from typing import Any

import httptools
import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from emulator.contract.errors import ApiError

log = logging.getLogger("emulator")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float = 10.0  # seconds to send the request line and headers
    body_timeout: float = 30.0  # seconds to send the body, once the headers are in
    max_connections: int = 1000  # open at once; more are answered 503 and closed
    max_header_bytes: int = 64 * 1024  # the request line and headers, names and values


def fitted(limits: ConnectionLimits) -> ConnectionLimits:
    """`limits` with a connection cap the process's open-file limit can hold (a socket is a file;
    some are kept for everything else), lowered with a warning when it cannot."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    room = soft - 64 if soft != resource.RLIM_INFINITY else limits.max_connections
    if limits.max_connections <= room:
        return limits
    log.warning(
        "max connections lowered from %d to %d: the process may open only %d files (ulimit -n)",
        limits.max_connections, max(room, 1), soft,
    )  # fmt: skip
    return replace(limits, max_connections=max(room, 1))


def bounded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's `http` protocol class, enforcing `limits`."""
    return type("BoundedHttpProtocol", (BoundedHttpProtocol,), {"limits": limits})


def envelope(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response carrying the error envelope, after which the connection closes."""
    body = orjson.dumps(ApiError(status, code, message).body())
    return b"".join(
        [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class BoundedHttpProtocol(HttpToolsProtocol):
    limits: ConnectionLimits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._begun = False  # a request's first bytes have arrived and its headers have not ended
        self._header_bytes = 0  # of the request line and headers so far
        self._headers_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            message = "The emulator has too many open connections; retry later."
            transport.write(envelope(503, "service_unavailable", message))
            transport.close()
            return
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, self._headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:  # refused in connection_made: never counted
            return
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # as uvicorn does
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            self._disarm()
            if self._headers_too_large:
                cap = self.limits.max_header_bytes
                message = f"The request line and headers exceed the emulator's limit of {cap} bytes."
                self.transport.write(envelope(431, "request_header_fields_too_large", message))
                self.transport.close()
                return
            self.logger.warning("Invalid HTTP request received: %s", exc)
            self.send_400_response(f"The request is not valid HTTP/1.1 ({exc}).")

    def send_400_response(self, msg: str) -> None:
        self.transport.write(envelope(400, "invalid_request_body", msg))
        self.transport.close()

    def on_message_begin(self) -> None:
        self._begun = True
        self._header_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def _count(self, size: int) -> None:
        """Stops the parser (it raises HttpParserCallbackError) once the headers are too long."""
        self._header_bytes += size
        if self._header_bytes > self.limits.max_header_bytes:
            self._headers_too_large = True
            raise ValueError("headers too large")

    def on_headers_complete(self) -> None:
        self._begun = False
        self._arm(self.limits.body_timeout, self._body_too_slow)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm(self.limits.header_timeout, self._headers_too_slow)

    def _arm(self, seconds: float, then: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, then)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._begun:
            self.transport.write(
                envelope(
                    408, "request_timeout",
                    f"The request's headers did not arrive within {self.limits.header_timeout:g} s.",
                )
            )  # fmt: skip
        self.transport.close()

    def _body_too_slow(self) -> None:
        self._deadline = None
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None or cycle.response_complete:
            return
        if not cycle.response_started:
            self.transport.write(
                envelope(
                    408, "request_timeout",
                    f"The request's body did not arrive within {self.limits.body_timeout:g} s.",
                )
            )  # fmt: skip
            cycle.response_started = cycle.response_complete = True  # the app's answer goes nowhere
        cycle.disconnected = True
        cycle.message_event.set()
        self.transport.close()


def server_config(
    app: Any, *, limits: ConnectionLimits, shutdown_grace: float, **options: Any
) -> uvicorn.Config:
    """uvicorn's settings for serving `app` within `limits`; `options` are uvicorn.Config's own
    (host, port, log_level...). Shutting down waits at most `shutdown_grace` seconds for requests
    under way, then cancels them (each stores how far it got)."""
    return uvicorn.Config(
        app,
        http=bounded_protocol(fitted(limits)),
        # typed int, but uvicorn gives it to asyncio.wait_for, which takes fractions of seconds
        timeout_graceful_shutdown=shutdown_grace,  # type: ignore[arg-type]
        **options,
    )
