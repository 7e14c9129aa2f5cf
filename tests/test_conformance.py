"""The conformance matrix: every real client x operation x mode, held to the same expectations.

Python clients (orq-ai-sdk, openai, the OpenAI Agents SDK, LangChain's ChatOpenAI on the
Responses API) run in this process; the Node clients (@orq-ai/node, openai, and the Vercel AI SDK)
run tests/node/conformance.mjs, one process per client, against the same live emulator. Each cell turns what its client saw into one observation shape, so a single set of
expectations covers all of them. The Node packages are pinned in tests/node/package-lock.json;
`npm ci --prefix tests/node` installs them (.ci/run does, and fails without Node).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from agents.exceptions import AgentsException
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_openai import ChatOpenAI
from orq_ai_sdk import Orq
from pydantic import BaseModel, Field

from emulator.app import create_app
from emulator.testing import EmulatorServer, ServedEmulator
from emulator.testing.report import summary
from tests.support import make_config

NODE_DIR = Path(__file__).parent / "node"
SCENARIOS = Path(__file__).parent / "scenarios" / "conformance.yaml"
MODEL = "openai/gpt-4o"
HELLO = "Hello from the emulator."
TOOLS = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]

# The structured operation's schema, written out (tests/node/conformance.mjs has it too); the
# pydantic clients send City, whose strict schema is this one.
CITY_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["city", "population", "tags"],
    "additionalProperties": False,
}


class City(BaseModel):
    city: str
    population: int = Field(ge=0)
    tags: list[str]


PYTHON_CLIENTS = ("orq-py", "openai-py", "agents-py", "langchain-py")
NODE_CLIENTS = ("orq-node", "openai-node", "ai-sdk")
OPERATIONS = ("text", "retrieve", "http_error", "failed", "tool_loop", "structured")
MODES = ("json", "stream")
# No way to fetch a stored response: the AI SDK, the Agents SDK and LangChain
NOT_OFFERED = {("ai-sdk", "retrieve"), ("agents-py", "retrieve"), ("langchain-py", "retrieve")}
CELLS = [
    (client, operation, mode)
    for client in PYTHON_CLIENTS + NODE_CLIENTS
    for operation in OPERATIONS
    for mode in MODES
    if (client, operation) not in NOT_OFFERED
]

Observation = dict[str, Any]


def node_missing() -> str | None:
    """Why the Node clients cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed (the Node clients need Node 20 or newer)"
    if not (NODE_DIR / "node_modules").is_dir():
        return "the Node clients are not installed: run `npm ci --prefix tests/node`"
    return None


def run_node(script: str, live: ServedEmulator) -> Any:
    """What a Node script in tests/node printed (one JSON object), run against `live`; skips (or,
    with RESPONSES_EMULATOR_REQUIRE_NODE, fails) where the Node clients cannot run."""
    if (why := node_missing()) is not None:
        if os.environ.get("RESPONSES_EMULATOR_REQUIRE_NODE"):
            pytest.fail(why)
        pytest.skip(why)
    out = subprocess.run(
        ["node", script, live.base_url, live.api_key],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


@pytest.fixture(scope="module")
def emulator() -> Iterator[ServedEmulator]:
    app = create_app(make_config(scenarios=(str(SCENARIOS),)))
    with EmulatorServer(app) as server:
        yield ServedEmulator(app, server)


@pytest.fixture(scope="module")
def observe(emulator: ServedEmulator) -> Callable[[str, str, str], Observation]:
    @cache
    def node_results(client: str) -> dict[str, Observation]:
        done = subprocess.run(
            ["node", "conformance.mjs", client, emulator.base_url, emulator.api_key],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def observation(client: str, operation: str, mode: str) -> Observation:
        if client in NODE_CLIENTS:
            if (why := node_missing()) is not None:
                if os.environ.get("RESPONSES_EMULATOR_REQUIRE_NODE"):
                    pytest.fail(why)
                pytest.skip(why)
            return node_results(client)[f"{operation}/{mode}"]
        driver = DRIVERS[client](emulator)
        try:
            return getattr(driver, operation)(mode)
        except Exception as exc:
            return thrown(exc)

    return observation


@pytest.mark.parametrize(("client", "operation", "mode"), CELLS, ids=["-".join(cell) for cell in CELLS])
def test_cell(
    observe: Callable[[str, str, str], Observation], client: str, operation: str, mode: str
) -> None:
    seen = observe(client, operation, mode)
    assert "thrown" not in seen or operation == "http_error", seen
    match operation:
        case "text":
            assert (seen["status"], seen["text"]) == ("completed", HELLO)
            assert seen["id"].startswith("resp_")
        case "retrieve":
            assert seen["id"] == seen["created_id"] and seen["text"] == HELLO
        case "http_error":
            assert seen["thrown"]["status"] == 503, seen
            assert "The model is overloaded." in seen["thrown"]["message"]
        case "failed":
            assert seen["status"] == "failed" and "The model crashed." in seen["error"], seen
        case "tool_loop":
            assert seen["call"] == {"name": "get_weather", "arguments": {"city": "Paris"}}
            assert seen["text"] == "It is 18C in Paris."
        case "structured":  # no scenario: the default backend's JSON, which the schema accepts
            jsonschema.validate(seen["object"], CITY_SCHEMA)


def test_every_request_of_every_client_met_the_contract(
    observe: Callable[[str, str, str], Observation], emulator: ServedEmulator
) -> None:
    for client, operation, mode in CELLS:
        if client not in NODE_CLIENTS or node_missing() is None:
            observe(client, operation, mode)
    entries = emulator.requests
    assert entries
    for entry in entries:
        assert entry.warnings == (), summary(entry)
        expected = 503 if entry.scenario == "overloaded" else 200
        assert entry.status == expected, summary(entry)
    agents = {entry.headers.get("user-agent", "").split("/")[0].split(" ")[0] for entry in entries}
    assert {"speakeasy-sdk", "OpenAI"} <= agents, agents


def thrown(exc: BaseException) -> Observation:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    return {"thrown": {"name": type(exc).__name__, "status": status, "message": str(exc)}}


def text_of(output: list[Any]) -> str:
    def field(item: Any, name: str) -> Any:
        return item[name] if isinstance(item, dict) else getattr(item, name)

    return "".join(
        field(part, "text")
        for item in output
        if field(item, "type") == "message"
        for part in field(item, "content")
        if field(part, "type") == "output_text"
    )


class Driver:
    """The operations every Python client runs alike, given its `create` (JSON or stream)."""

    tag: str
    stream_error: type[Exception]  # what `create` raises at a stream's error event

    def create(self, mode: str, **body: Any) -> Any:
        raise NotImplementedError

    def text(self, mode: str) -> Observation:
        r = self.create(mode, input=f"hello [{self.tag}]")
        return {"id": r.id, "status": r.status, "text": text_of(r.output)}

    def http_error(self, mode: str) -> Observation:
        self.create(mode, input=f"overloaded [{self.tag}]")
        return {"thrown": None}

    def failed(self, mode: str) -> Observation:
        try:
            r = self.create(mode, input=f"crash [{self.tag}]")
        except self.stream_error as exc:
            return {"status": "failed", "error": str(exc), "via": "thrown"}
        return {"status": r.status, "error": r.error.message if r.error else None}


class OpenAIDriver(Driver):
    tag = "openai-py"
    stream_error = openai.APIError  # raised at the error event, as with OpenAI itself

    def __init__(self, emulator: ServedEmulator) -> None:
        self.client = emulator.openai_client()

    def create(self, mode: str, **body: Any) -> Any:
        if mode == "json":
            return self.client.responses.create(model=MODEL, **body)
        with self.client.responses.stream(model=MODEL, **body) as stream:
            return stream.get_final_response()

    def retrieve(self, mode: str) -> Observation:
        created = self.client.responses.create(model=MODEL, input="hello [openai-py]")
        if mode == "json":
            got = self.client.responses.retrieve(created.id)
        else:
            got = list(self.client.responses.retrieve(created.id, stream=True))[-1].response
        return {"id": got.id, "created_id": created.id, "text": text_of(got.output)}

    def structured(self, mode: str) -> Observation:
        asked = {"model": MODEL, "input": "structured [openai-py]", "text_format": City}
        if mode == "json":
            parsed = self.client.responses.parse(**asked).output_parsed
        else:
            with self.client.responses.stream(**asked) as stream:
                parsed = stream.get_final_response().output_parsed
        assert isinstance(parsed, City)
        return {"object": parsed.model_dump()}

    def tool_loop(self, mode: str) -> Observation:
        first = self.create(mode, input="weather in Paris? [openai-py]", tools=TOOLS)
        call = next(item for item in first.output if item.type == "function_call")
        result = {"type": "function_call_output", "call_id": call.call_id, "output": "18C"}
        second = self.create(mode, input=[result], previous_response_id=first.id, tools=TOOLS)
        return {
            "call": {"name": call.name, "arguments": json.loads(call.arguments)},
            "text": second.output_text,
        }


class OrqDriver(Driver):
    tag = "orq-py"
    stream_error = RuntimeError  # raised by create at the error event

    def __init__(self, emulator: ServedEmulator) -> None:
        self.client: Orq = emulator.orq_client()

    def create(self, mode: str, **body: Any) -> Any:
        if mode == "json":
            return self.client.responses.create(model=MODEL, **body)
        final = None
        with self.client.responses.create(model=MODEL, stream=True, **body) as stream:
            for wrapped in stream:
                event = wrapped.data
                if event.type == "error":
                    raise RuntimeError(event.error.message)
                if event.type in ("response.completed", "response.failed", "response.incomplete"):
                    final = event.response
        return final

    def retrieve(self, mode: str) -> Observation:
        created = self.create(mode, input="hello [orq-py]")
        got = self.client.responses.get(response_id=created.id)
        return {"id": got.id, "created_id": created.id, "text": text_of(got.output)}

    def structured(self, mode: str) -> Observation:
        text_format = {
            "format": {"type": "json_schema", "name": "city", "schema": CITY_SCHEMA, "strict": True}
        }
        response = self.create(mode, input="structured [orq-py]", text=text_format)
        return {"object": json.loads(text_of(response.output))}

    def tool_loop(self, mode: str) -> Observation:
        asked: list[Any] = [{"role": "user", "content": "weather in Paris? [orq-py]"}]
        first = self.create(mode, input=asked, tools=TOOLS)
        call = dict(next(item for item in first.output if dict(item)["type"] == "function_call"))
        result = {"type": "function_call_output", "call_id": call["call_id"], "output": "18C"}
        second = self.create(mode, input=[*asked, call, result], tools=TOOLS)
        return {
            "call": {"name": call["name"], "arguments": json.loads(call["arguments"])},
            "text": text_of(second.output),
        }


set_tracing_disabled(True)  # the Agents SDK would export traces to OpenAI


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "18C"


class AgentsDriver:
    """The OpenAI Agents SDK: `Runner.run` (json) and `Runner.run_streamed` (stream)."""

    tag = "agents-py"

    def __init__(self, emulator: ServedEmulator) -> None:
        self.emulator = emulator

    def run(self, mode: str, question: str, **agent: Any) -> Any:
        async def running() -> Any:
            model = OpenAIResponsesModel(model=MODEL, openai_client=self.emulator.async_openai_client())
            runner = Agent(name="conformance", model=model, **agent)
            if mode == "json":
                return await Runner.run(runner, question)
            streamed = Runner.run_streamed(runner, question)
            async for _ in streamed.stream_events():
                pass
            return streamed

        return asyncio.run(running())

    def text(self, mode: str) -> Observation:
        result = self.run(mode, f"hello [{self.tag}]")
        # The SDK has no status to show: it raises at any terminal status but completed (failed).
        return {
            "id": result.raw_responses[-1].response_id,
            "status": "completed",
            "text": result.final_output,
        }

    def http_error(self, mode: str) -> Observation:
        self.run(mode, f"overloaded [{self.tag}]")
        return {"thrown": None}

    def failed(self, mode: str) -> Observation:
        try:
            result = self.run(mode, f"crash [{self.tag}]")
        except (openai.APIError, AgentsException) as exc:  # each SDK raises at a failed response
            return {"status": "failed", "error": str(exc), "via": "thrown"}
        return {"status": "completed", "error": None, "text": result.final_output}

    def tool_loop(self, mode: str) -> Observation:
        result = self.run(mode, f"weather in Paris? [{self.tag}]", tools=[get_weather])
        call = next(i.raw_item for i in result.new_items if type(i).__name__ == "ToolCallItem")
        return {
            "call": {"name": call.name, "arguments": json.loads(call.arguments)},
            "text": result.final_output,
        }

    def structured(self, mode: str) -> Observation:
        final = self.run(mode, f"structured [{self.tag}]", output_type=City).final_output
        assert isinstance(final, City)
        return {"object": final.model_dump()}


def lc_get_weather(city: str) -> str:
    """The weather in a city."""
    return "18C"


class LangChainDriver:
    """LangChain's ChatOpenAI on the Responses API: `invoke` (json) and `stream`."""

    tag = "langchain-py"

    def __init__(self, emulator: ServedEmulator) -> None:
        self.llm = ChatOpenAI(
            model=MODEL, base_url=emulator.openai_base_url, api_key=emulator.api_key,
            use_responses_api=True, max_retries=0,
        )  # fmt: skip

    @staticmethod
    def ask(runnable: Any, mode: str, prompt: Any) -> Any:
        if mode == "json":
            return runnable.invoke(prompt)
        chunks = list(runnable.stream(prompt))
        whole = chunks[0]
        for chunk in chunks[1:]:
            whole = whole + chunk
        return whole

    def text(self, mode: str) -> Observation:
        message = self.ask(self.llm, mode, f"hello [{self.tag}]")
        return {"id": message.id, "status": message.response_metadata["status"], "text": message.text}

    def http_error(self, mode: str) -> Observation:
        self.ask(self.llm, mode, f"overloaded [{self.tag}]")
        return {"thrown": None}

    def failed(self, mode: str) -> Observation:
        try:
            message = self.ask(self.llm, mode, f"crash [{self.tag}]")
        except (openai.APIError, ValueError) as exc:  # a failed response raises, as LangChain does
            return {"status": "failed", "error": str(exc), "via": "thrown"}
        return {"status": message.response_metadata.get("status"), "error": None}

    def tool_loop(self, mode: str) -> Observation:
        """The round trip through LangChain's own messages: the AI message's tool call, a
        ToolMessage with the result, and the whole conversation sent again."""
        bound = self.llm.bind_tools([{"type": "function", **TOOLS[0]}])
        asked = HumanMessage(f"weather in Paris? [{self.tag}]")
        first = self.ask(bound, mode, [asked])
        (call,) = first.tool_calls
        result = ToolMessage(content="18C", tool_call_id=call["id"])
        second = self.ask(bound, mode, [asked, first, result])
        return {"call": {"name": call["name"], "arguments": call["args"]}, "text": second.text}

    def structured(self, mode: str) -> Observation:
        runnable = self.llm.with_structured_output(City)
        asked = f"structured [{self.tag}]"
        final = runnable.invoke(asked) if mode == "json" else list(runnable.stream(asked))[-1]
        assert isinstance(final, City)
        return {"object": final.model_dump()}


DRIVERS: dict[str, Callable[[ServedEmulator], Any]] = {
    "orq-py": OrqDriver,
    "openai-py": OpenAIDriver,
    "agents-py": AgentsDriver,
    "langchain-py": LangChainDriver,
}


def test_without_node_the_node_cells_skip_saying_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert node_missing() == "Node.js is not installed (the Node clients need Node 20 or newer)"
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/node")
    monkeypatch.setattr(sys.modules[__name__], "NODE_DIR", tmp_path)
    assert node_missing() == "the Node clients are not installed: run `npm ci --prefix tests/node`"
