"""The journal and the contract report for the routes besides the Responses ones.

The Responses routes record their own requests (emulator.http.responses). Every other request a
client makes (OpenAI's Conversations API, a path no route serves, a key refused by the bearer
check) is recorded here as it passes: its method, path, headers and body, the status it got and,
for an error, the envelope's code and message. The admin routes (`/_emulator/...`), the health
check and the OpenAPI document are not: they are the tester's, not the client's.

A 404 or 405 (a path or method the contract does not have) and a 400 count against the client
in the contract report, as a Responses route's 400 does.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.clock import Clock
from emulator.contract.errors import ApiError
from emulator.state.contract_report import ContractReport
from emulator.state.journal import Exchange, Journal, parsed_json, recorded_body

UNRECORDED = ("/health", "/openapi.json", "/", "/_emulator")
ADMIN = "/_emulator/"
MAX_ERROR_BODY = 65536  # bytes of an error answer read for its code and message


def recorded(path: str) -> bool:
    return not path.startswith(ADMIN) and path not in UNRECORDED


async def journaled(
    app: ASGIApp, journal: Journal, report: ContractReport, clock: Clock, limit: int,
    scope: Scope, receive: Receive, send: Send,
) -> None:  # fmt: skip
    """Serves the request with `app`, then records it. The body is read first (up to `limit`
    bytes: a longer one is passed on unrecorded), so it is recorded even where no route reads it."""
    arrived = clock.now()
    early: list[Message] = []
    size, complete = 0, False
    while not complete and size <= limit:
        message = await receive()
        early.append(message)
        size += len(message.get("body", b""))
        complete = message["type"] != "http.request" or not message.get("more_body", False)
    raw = (b"".join(m.get("body", b"") for m in early) if complete and size <= limit else b"") or None
    status, answer = 500, bytearray()

    async def receiving() -> Message:
        return early.pop(0) if early else await receive()

    async def sending(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body" and status >= 400 and len(answer) < MAX_ERROR_BODY:
            answer.extend(message.get("body", b""))
        await send(message)

    try:
        await app(scope, receiving, sending)
    finally:
        exchange = Exchange(
            arrived, scope["method"], scope["path"], scope["query_string"], dict(scope["headers"]),
            recorded_body(raw, parsed_json(raw)), status, False, None, None, (), _failure(status, answer),
            (), None, (),
        )  # fmt: skip
        journal.record(exchange)
        agent = exchange.raw_headers.get(b"user-agent", b"")
        report.count(agent)
        if exchange.failure is not None:
            report(exchange)


def _failure(status: int, answer: bytes | bytearray) -> ApiError | None:
    """The error an error answer carried, read back from its envelope."""
    if status < 400:
        return None
    envelope = parsed_json(bytes(answer))
    error = envelope.get("error") if isinstance(envelope, dict) else None
    if not isinstance(error, dict):
        return ApiError(status, None, f"HTTP {status}")
    return ApiError(status, error.get("code"), str(error.get("message", "")), error.get("param"))
