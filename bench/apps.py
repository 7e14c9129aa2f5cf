"""The two apps the throughput benchmark compares, as uvicorn factories.

`emulator` is the real thing with its defaults (auth and validation on). `bare` is the floor:
a plain Starlette route that reads the body and returns a pre-serialised response of the same
size, so the ratio between them is what the emulator's own work costs.
"""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.config import DEV_API_KEY, Config

REQUEST = {
    "model": "openai/gpt-4o-mini",
    "input": [
        {
            "role": "user",
            "content": [{"type": "input_text", "text": "What is the weather like in Paris today?"}],
        }
    ],
    "instructions": "You are a helpful assistant.",
    "temperature": 0.2,
    "metadata": {"suite": "bench"},
}
REQUEST_BYTES = orjson.dumps(REQUEST)
# Loaders send REQUEST with a counter in the question, so every request is new to the emulator.
MARKER = "today?"
VARIED_PREFIX, VARIED_SUFFIX = REQUEST_BYTES.decode().split(MARKER)


STREAM_REQUEST_BYTES = orjson.dumps({**REQUEST, "stream": True})
STREAM_PREFIX, STREAM_SUFFIX = STREAM_REQUEST_BYTES.decode().split(MARKER)


def varied(n: int) -> bytes:
    return f"{VARIED_PREFIX}{MARKER} #{n}{VARIED_SUFFIX}".encode()


HEADERS = {"Authorization": f"Bearer {DEV_API_KEY}", "Content-Type": "application/json"}
PATH = "/v3/router/responses"


def raw_stream_request(question: str, timing: str, host: str) -> bytes:
    """A whole HTTP/1.1 stream create, for raw-socket clients: the question's marker followed by
    `question`, paced by `timing` (x-emulator-timing), closing the connection when done."""
    body = f"{STREAM_PREFIX}{MARKER} {question}{STREAM_SUFFIX}".encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        + f"x-emulator-timing: {timing}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def emulator():
    # Defaults throughout (auth, validation, a 10,000-response store), the clock frozen.
    return create_app(Config(frozen_time=1_767_225_600.0))


def emulator_real_clock():
    # For pacing: waits must take real time.
    return create_app(Config())


def emulator_background():
    # Real time, and room for a thousand streams following background responses at once.
    return create_app(Config(max_connections=4000, max_streams=4000))


def sample(request: bytes) -> bytes:
    """What the emulator answers to `request`: the bytes the floor apps send back."""
    with TestClient(emulator(), headers=HEADERS) as client:
        return client.post(PATH, content=request).content


def sample_stream() -> bytes:
    return sample(STREAM_REQUEST_BYTES)


def pre_rendered(body: bytes, media_type: str) -> Starlette:
    """A floor: a plain Starlette route that reads the request and sends `body` as it is."""

    async def create(request: Request) -> Response:
        await request.body()
        return Response(body, media_type=media_type)

    return Starlette(routes=[Route(PATH, create, methods=["POST"])])


def bare():
    return pre_rendered(sample(REQUEST_BYTES), "application/json")


def bare_stream():
    """The floor for streaming: the same event-stream bytes, pre-rendered, sent in one piece."""
    return pre_rendered(sample_stream(), "text/event-stream")
