"""The default backend: plausible answers, the same for the same request, shaped as an assistant's
(emulator.engine.answers: plain sentences, prose, Markdown, code, a table...).

A request that asks for reasoning (`reasoning.effort` other than none) first gets a reasoning
item, with a summary (its first sentence) when `reasoning.summary` is set. A request for
structured output (`text.format` `json_schema` or `json_object`) gets JSON that its schema
accepts (emulator.engine.jsongen), streamed in deltas like any text. Offered tools are used by
the rule of emulator.engine.tool_choice: server-side tools (emulator.engine.platform_tools) run
first, each leaving its items, then the turn either calls the chosen functions (and waits for
their results) or answers with what the tools found, citing the pages they read.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import jsonschema
import orjson

from emulator.contract.errors import bad_field
from emulator.engine import jsongen, platform_tools, tokens, tool_choice
from emulator.engine.answers import Composer
from emulator.engine.backend import Call, Turn
from emulator.engine.items import (
    ItemPlan,
    function_call_plan,
    last_user_message,
    message_plan,
    reasoning_plan,
    text_message_plan,
)
from emulator.engine.textgen import TextGenerator

# Reasoning grows with effort (README): each level thinks one more round than the one below.
_EFFORT_ROUNDS = {"minimal": 1, "instant": 1, "low": 1, "medium": 2, "high": 3, "xhigh": 4, "max": 5}
# `json_object` promises an object and nothing more: this one says something.
_ANY_OBJECT = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


class LoremBackend:
    def __init__(self, text: TextGenerator) -> None:
        self.text = text
        self.composer = Composer(text)

    def turn(self, call: Call) -> Turn:
        items: list[ItemPlan] = []
        asked = call.request.get("reasoning")
        if asked and asked.get("effort") not in (None, "none"):
            thought = self._thought(_reasoning_digest(call), _EFFORT_ROUNDS.get(asked["effort"], 2))
            summary = None
            if asked.get("summary"):
                summary = thought[: thought.index(".") + 1] if "." in thought else thought
            items.append(reasoning_plan(thought, summary))
        said: list[platform_tools.Said] = []
        if offered := call.request.get("tools"):
            answered = _tool_outputs(call)
            if answered:  # the functions' results are back: an answer that uses them
                items.append(text_message_plan(tokens.tokenize(answered)))
                return Turn(items)
            question = last_user_message(call.input_items)
            used = tool_choice.chosen(call.request, question, platform_tools.about)
            functions = []
            for tool in used:  # server-side tools run inside the turn, before any function call
                index = _index(offered, tool)
                if tool_choice.is_function(tool):
                    functions.append(_function_call(tool, index, call.digest))
                else:
                    ran, what = platform_tools.run(tool, index, call, question)
                    items += ran
                    said.append(what)
            if functions:
                return Turn(items + functions)
        text_format = (call.request.get("text") or {}).get("format") or {}
        kind = text_format.get("type")
        if kind in ("json_schema", "json_object"):
            items.append(text_message_plan(tokens.tokenize(structured(text_format, call.digest))))
        elif said:
            text, citations = platform_tools.answer(said)
            items.append(message_plan([("output_text", tokens.tokenize(text), citations)]))
        else:
            question = last_user_message(call.input_items)
            items.append(text_message_plan(self.composer.answer(call.digest, question, call.shape)))
        return Turn(items)

    def _thought(self, digest: bytes, rounds: int) -> list[str]:
        """The reasoning text: `rounds` replies in a row, each effort's a prefix of the next's."""
        thought: list[str] = []
        for n in range(rounds):
            key = b"reasoning" + (str(n).encode() if n else b"")
            part = self.text.reply(hashlib.shake_128(key + digest).digest(len(digest)))
            thought += [" " + part[0], *part[1:]] if thought else part
        return thought


def _reasoning_digest(call: Call) -> bytes:
    """The request's random stream with its reasoning settings left out, so the same question
    thinks the same thoughts at every effort, each level's a prefix of the next's."""
    rest = {k: v for k, v in call.request.items() if k not in ("reasoning", "stream", "stream_options")}
    return hashlib.shake_128(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).digest(len(call.digest))


def structured(text_format: dict[str, Any], digest: bytes) -> str:
    """The JSON text a request's `text.format` asks for."""
    schema = text_format.get("schema") if text_format.get("type") == "json_schema" else _ANY_OBJECT
    return generated(schema if schema is not None else True, random.Random(digest), "/text/format/schema")


def generated(schema: Any, rng: random.Random, where: str) -> str:
    """JSON text `schema` accepts; a 400 at `where` (the schema's place in the request) when no
    value can satisfy it, or at the exact place where it is not a JSON Schema."""
    try:
        return json.dumps(jsongen.generate(schema, rng))
    except jsonschema.SchemaError as exc:
        at = where + "".join(f"/{p}" for p in exc.absolute_path)
        raise bad_field(at, f"{at} is not a valid JSON Schema: {exc.message}") from None
    except jsongen.Unsatisfiable as exc:
        raise bad_field(where, f"{where}: {exc} (keyword `{exc.keyword}`)") from None


def _function_call(tool: dict[str, Any], index: int, digest: bytes) -> ItemPlan:
    """A call of `tool` (the request's `tools[index]`) with arguments its parameters accept."""
    rng = random.Random(digest + tool["name"].encode())
    schema = tool.get("parameters") or {"type": "object", "properties": {}}
    arguments = generated(schema, rng, f"/tools/{index}/parameters")
    return function_call_plan(tool["name"], tokens.tokenize(arguments))


def _index(offered: list[dict[str, Any]], tool: dict[str, Any]) -> int:
    """The tool's place in `tools` (by identity: two tools may be equal)."""
    return next(n for n, t in enumerate(offered) if t is tool)


def _tool_outputs(call: Call) -> str | None:
    """When the request ends with function results, the answer that reports them."""
    outputs = []
    for item in reversed(call.input_items):
        if item.get("type") != "function_call_output":
            break
        outputs.append(item)
    if not outputs:
        return None
    names = {i["call_id"]: i["name"] for i in call.input_items if i.get("type") == "function_call"}
    said = []
    for item in reversed(outputs):
        name = names.get(item["call_id"]) or call.history.calls.get(item["call_id"], "the tool")
        output = item["output"] if isinstance(item["output"], str) else json.dumps(item["output"])
        said.append(f"{name} returned {output[:400]}")
    return "Here is what I found: " + "; ".join(said) + "."
