"""In-process transports: clients talk to the app through ASGI, with no socket.

Starlette's TestClient runs the app on a portal (an event loop in a thread) and streams each
answer as the app writes it; it speaks httpx2, as the OpenAI SDK does. The orq SDK and most user
code speak httpx, so `HttpxBridge` hands their requests to the same transport.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import httpx2


class HttpxBridge(httpx.BaseTransport):
    """An httpx transport that sends through an httpx2 one (the TestClient's)."""

    def __init__(self, transport: httpx2.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._transport.handle_request(
            httpx2.Request(
                request.method,
                str(request.url),
                headers=request.headers.raw,
                content=request.read(),
                extensions={k: v for k, v in request.extensions.items() if k != "timeout"},
            )
        )
        return httpx.Response(
            answer.status_code,
            headers=answer.headers.raw,
            stream=_Body(answer),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    def close(self) -> None:
        self._transport.close()


class _Body(httpx.SyncByteStream):
    def __init__(self, answer: httpx2.Response) -> None:
        self._answer = answer

    def __iter__(self) -> Iterator[bytes]:
        yield from self._answer.iter_raw()

    def close(self) -> None:
        self._answer.close()
