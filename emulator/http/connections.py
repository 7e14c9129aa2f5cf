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
- malformed HTTP gets a 400 in the orq envelope instead of uvicorn's plain text;
- writes to a connection already lost are dropped: a burst of stream frames to a client that has
  just gone would otherwise make asyncio log "socket.send() raised exception." for each frame.

Each check costs a timer per connection and request, nothing per byte.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass, replace
from typing import Any, cast

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


class QuietTransport:
    """A transport whose writes stop once it is closing (the connection lost or being closed)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.is_closing = transport.is_closing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BoundedHttpProtocol(HttpToolsProtocol):
    """All the checks happen around feeding the parser, so a request costs no callback of ours:
    a request whose cycle (uvicorn's per-request state) appeared during a chunk has its headers
    in; one whose cycle still wants `more_body` owes its body. The time limits cost no timer per
    request either: a connection keeps one timer, each phase only moves its deadline, and a timer
    that fires before the deadline it finds sets itself again."""

    limits: ConnectionLimits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: str | None = None  # "headers" or "body" while the client owes them; else None
        self._due = 0.0  # the loop time the phase must end by
        self._timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0  # fed in the headers phase in chunks that did not end it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        transport = cast(asyncio.Transport, QuietTransport(transport))  # it answers all a Transport does
        if len(self.connections) >= self.limits.max_connections:
            message = "The emulator has too many open connections; retry later."
            transport.write(envelope(503, "service_unavailable", message))
            transport.close()
            return
        super().connection_made(transport)
        self._expect("headers", self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:  # refused in connection_made: never counted
            return
        self._phase = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        before = self.cycle
        if self._phase is None and (before is None or before.response_complete):  # a new request
            self._expect("headers", self.limits.header_timeout)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # as uvicorn does
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            self._phase = None
            self.logger.warning("Invalid HTTP request received: %s", exc)
            self.send_400_response(f"The request is not valid HTTP/1.1 ({exc}).")
        else:
            cycle = self.cycle
            if cycle is not before:  # headers ended in this chunk
                if self._header_bytes + len(data) > self.limits.max_header_bytes and self._headers_too_long():
                    cycle.disconnected = True  # the app, already given the request, reads a disconnect
                    self._refuse_headers()
                elif cycle.more_body:
                    self._expect("body", self.limits.body_timeout)
                else:
                    self._phase = None
            elif self._phase == "headers":  # the headers are still coming: all of this chunk was headers
                self._header_bytes += len(data)
                if self._header_bytes > self.limits.max_header_bytes:
                    self._refuse_headers()
            elif self._phase == "body" and not cycle.more_body:
                self._phase = None

    def _headers_too_long(self) -> bool:
        size = len(self.url) + sum(len(name) + len(value) for name, value in self.headers)
        return size > self.limits.max_header_bytes

    def send_400_response(self, msg: str) -> None:
        self.transport.write(envelope(400, "invalid_request_body", msg))
        self.transport.close()

    def _refuse_headers(self) -> None:
        self._phase = None
        cap = self.limits.max_header_bytes
        message = f"The request line and headers exceed the emulator's limit of {cap} bytes."
        self.transport.write(envelope(431, "request_header_fields_too_large", message))
        self.transport.close()

    def _expect(self, phase: str, seconds: float) -> None:
        self._phase = phase
        self._header_bytes = 0
        self._due = due = self.loop.time() + seconds
        timer = self._timer
        if timer is not None and timer.when() > due:  # set for a later deadline: too late for this one
            timer.cancel()
            timer = None
        if timer is None:
            self._timer = self.loop.call_at(due, self._time_up)

    def _time_up(self) -> None:
        self._timer = None
        if self._phase is None or self.transport.is_closing():
            return
        if self.loop.time() < self._due:  # the connection moved on to a later phase since
            self._timer = self.loop.call_at(self._due, self._time_up)
        elif self._phase == "headers":
            self._headers_too_slow()
        else:
            self._body_too_slow()

    def _headers_too_slow(self) -> None:
        if self._header_bytes:  # a request had begun
            self.transport.write(
                envelope(
                    408, "request_timeout",
                    f"The request's headers did not arrive within {self.limits.header_timeout:g} s.",
                )
            )  # fmt: skip
        self.transport.close()

    def _body_too_slow(self) -> None:
        cycle = self.cycle
        if cycle is None or not cycle.more_body or cycle.response_complete:  # the body is all in
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
