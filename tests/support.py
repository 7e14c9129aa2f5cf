"""Test helpers: the tests' settings, a scripted backend, and the contract oracles."""

from __future__ import annotations

import enum
import typing
from typing import Any

import openai.types.responses
import openresponses_types.types as openresponses
from openresponses_types.types import ResponseResource
from orq_ai_sdk.models import ResponseStreamEvent as OrqStreamEvent
from pydantic import TypeAdapter

from emulator.config import DEV_API_KEY, Config
from emulator.contract import schemas
from emulator.engine import tokens
from emulator.engine.backend import Call, Turn
from emulator.engine.items import ItemPlan
from emulator.engine.plan import item_texts
from emulator.testing.streams import SseStream, read_sse, stream_problems

T0 = 1_767_225_600.0  # the frozen clock's start in tests: 2026-01-01T00:00:00Z
AUTH = {"Authorization": f"Bearer {DEV_API_KEY}"}


def make_config(**overrides: Any) -> Config:
    """Test settings: the clock frozen at T0 unless `frozen_time=None` asks for the real one."""
    return Config(**{"frozen_time": T0, **overrides})


def assert_contract_response(body: dict[str, Any]) -> None:
    """A response body is valid against schemas/ and parses as an OpenResponses resource."""
    schemas.validator(schemas.RESPONSE).validate(body)
    ResponseResource.model_validate(as_openresponses_sees_it(body))


def as_openresponses_sees_it(body: dict[str, Any]) -> dict[str, Any]:
    """The body with the places where the OpenResponses spec cannot be met set aside.

    1. It types an echoed json_schema format's `schema` as always null, while the OpenAI SDK
       requires the schema object and users expect their schema back; the emulator echoes it.
    2. It knows only function tools, while orq's tools include `orq:*` and `mcp`; the emulator
       echoes the tools that were sent (and an `allowed_tools` choice naming them).
    3. It knows no server-side tool items: orq's platform tool results (`orq:*`, contract section
       3.2), MCP's `mcp_list_tools` / `mcp_call` and `web_search_call` (OpenAI's models check
       those, in `as_openai_sees_it`'s callers).
    Everything else in the body must validate unchanged.
    """
    seen = dict(body)
    text_format = body["text"]["format"]
    if text_format["type"] == "json_schema":
        seen["text"] = {**body["text"], "format": {**text_format, "schema": None}}
    seen["tools"] = [t for t in body["tools"] if t["type"] == "function"]
    choice = body["tool_choice"]
    if isinstance(choice, dict) and choice["type"] == "allowed_tools":
        seen["tool_choice"] = {**choice, "tools": [t for t in choice["tools"] if t["type"] == "function"]}
    seen["output"] = [i for i in body["output"] if not is_server_tool_item(i)]
    return seen


def is_server_tool_item(item: dict[str, Any]) -> bool:
    """Items of tools the server runs: the OpenResponses spec has no model for any of them."""
    return is_platform_item(item) or item["type"] in ("mcp_list_tools", "mcp_call", "web_search_call")


def is_platform_item(item: dict[str, Any]) -> bool:
    """orq's platform tool result items: neither OpenAI's nor OpenResponses' models know them."""
    return item["type"].startswith("orq:")


def assert_contract_error(body: dict[str, Any]) -> None:
    schemas.validator(schemas.ERROR).validate(body)


ORQ_EVENT = TypeAdapter(OrqStreamEvent)


def _event_models(module: Any, suffix: str) -> dict[str, Any]:
    """type value -> the module's model of that event."""
    models = {}
    for name in dir(module):
        model = getattr(module, name)
        if (
            not name.endswith(suffix)
            or not hasattr(model, "model_fields")
            or "type" not in model.model_fields
        ):
            continue
        annotation = model.model_fields["type"].annotation
        if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
            values = [member.value for member in annotation]
        else:
            values = list(typing.get_args(annotation))
        models.update((value, model) for value in values)
    return models


OPENRESPONSES_EVENTS = _event_models(openresponses, "StreamingEvent")
OPENAI_EVENTS = _event_models(openai.types.responses, "Event")


def as_orq_sees_it(event: dict[str, Any]) -> dict[str, Any]:
    """The event with `requires_action` set aside: the orq SDK from 4.13.1 on rejects it, so the
    server sends it to an orq SDK only when a scenario insists (contract decision 4); the tests
    that drive the real orq SDK check it never gets it otherwise."""
    response = event.get("response")
    if response and response["status"] == "requires_action":
        return {**event, "response": {**response, "status": "completed"}}
    return event


def as_openai_sees_it(event: dict[str, Any]) -> dict[str, Any]:
    """The event with the values OpenAI's models cannot hold set aside (its SDK checks these
    closed lists only with strict validation; orq's SDK takes them):
    1. a stream the client left is stored `incomplete`, reason `client_disconnected`;
    2. a turn that ends calling a function is `requires_action` (contract decision 4);
    3. orq's platform tool result items (`orq:*`), and the echo of orq's platform tools."""
    response = event.get("response")
    if not response:
        return event
    if response["incomplete_details"] == {"reason": "client_disconnected"}:
        response = {**response, "incomplete_details": {"reason": "max_output_tokens"}}
    if response["status"] == "requires_action":
        response = {**response, "status": "completed"}
    if any(is_platform_item(i) for i in response["output"]):
        response = {**response, "output": [i for i in response["output"] if not is_platform_item(i)]}
    if any(is_orq_tool(t) for t in response["tools"]):
        response = {**response, "tools": [t for t in response["tools"] if not is_orq_tool(t)]}
    return {**event, "response": response}


def is_orq_tool(tool: dict[str, Any]) -> bool:
    """orq's own tool forms: platform tools, and an MCP server named by `key` (OpenAI's needs a
    `server_label`)."""
    return bool(tool["type"].startswith("orq:") or (tool["type"] == "mcp" and "server_label" not in tool))


def assert_contract_event(event: dict[str, Any]) -> None:
    """One stream event is valid against schemas/, the orq SDK's event union, OpenAI's (where the
    type is OpenAI's) and openresponses-types (where the type and its item exist there)."""
    schemas.validator(schemas.STREAM_EVENT).validate(event)
    ORQ_EVENT.validate_python(as_orq_sees_it(event))
    if "item" in event and is_platform_item(event["item"]):
        return  # orq's own item: no OpenAI or OpenResponses model to hold it
    if event["type"] in OPENAI_EVENTS:
        OPENAI_EVENTS[event["type"]].model_validate(as_openai_sees_it(event))
    if "item" in event and is_server_tool_item(event["item"]):
        return  # MCP and web search items: OpenAI's models hold them, OpenResponses' do not
    model = OPENRESPONSES_EVENTS.get(event["type"])
    if model is not None:
        seen = (
            {**event, "response": as_openresponses_sees_it(event["response"])}
            if "response" in event
            else event
        )
        model.model_validate(seen)


def assert_contract_stream(body: bytes, *, replay_from: int = 0, done: bool = True) -> SseStream:
    """A whole text/event-stream body: framing, every event, and the ordering rules."""
    stream = read_sse(body)
    assert stream.problems == []
    assert stream.done is done
    for event in stream.events:
        assert_contract_event(event)
    assert stream_problems(stream.events, replay_from=replay_from) == []
    return stream


def script_output(
    app: Any,
    make_items: typing.Callable[[Any], list[dict[str, Any]]],
    *,
    status: str = "completed",
    error: dict[str, str] | None = None,
) -> None:
    """Makes `app` answer every create with the output items `make_items(ids)` builds (each
    stream sent token by token): a backend of the tests' own, through the seam scenarios use."""
    service = app.service

    class Scripted:
        def turn(self, call: Call) -> Turn:
            specs = [
                ItemPlan(item, [tokens.tokenize(t) for t in item_texts(item)])
                for item in make_items(
                    call.world.ids if call.world is not None else service.worlds.default.ids
                )
            ]
            return Turn(specs, status=status, error=error)

    service.backend = Scripted()
