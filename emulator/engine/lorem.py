"""The default backend: plausible text, the same for the same request (emulator.engine.textgen).

A request that asks for reasoning (`reasoning.effort` other than none) first gets a reasoning
item, with a summary (its first sentence) when `reasoning.summary` is set. A request for
structured output (`text.format` `json_schema` or `json_object`) gets JSON that its schema
accepts (emulator.engine.jsongen), streamed in deltas like any text.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import jsonschema

from emulator.contract.errors import bad_field
from emulator.engine import jsongen, tokens
from emulator.engine.backend import Call, Turn
from emulator.engine.items import ItemPlan, reasoning_plan, text_message_plan
from emulator.engine.textgen import TextGenerator

# `json_object` promises an object and nothing more: this one says something.
_ANY_OBJECT = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


class LoremBackend:
    def __init__(self, text: TextGenerator) -> None:
        self.text = text

    def turn(self, call: Call) -> Turn:
        items: list[ItemPlan] = []
        asked = call.request.get("reasoning")
        if asked and asked.get("effort") not in (None, "none"):
            thought = self.text.reply(hashlib.shake_128(b"reasoning" + call.digest).digest(len(call.digest)))
            summary = None
            if asked.get("summary"):
                summary = thought[: thought.index(".") + 1] if "." in thought else thought
            items.append(reasoning_plan(thought, summary))
        text_format = (call.request.get("text") or {}).get("format") or {}
        kind = text_format.get("type")
        if kind in ("json_schema", "json_object"):
            items.append(text_message_plan(tokens.tokenize(structured(text_format, call.digest))))
        else:
            items.append(text_message_plan(self.text.reply(call.digest)))
        return Turn(items)


def structured(text_format: dict[str, Any], digest: bytes) -> str:
    """The JSON text a request's `text.format` asks for; a 400 naming the schema's keyword when
    no value can satisfy it, or naming the place when it is not a JSON Schema."""
    schema = text_format.get("schema") if text_format.get("type") == "json_schema" else _ANY_OBJECT
    rng = random.Random(digest)
    try:
        return json.dumps(jsongen.generate(schema if schema is not None else True, rng))
    except jsonschema.SchemaError as exc:
        where = "/text/format/schema" + "".join(f"/{p}" for p in exc.absolute_path)
        raise bad_field(where, f"{where} is not a valid JSON Schema: {exc.message}") from None
    except jsongen.Unsatisfiable as exc:
        raise bad_field(
            "/text/format/schema", f"/text/format/schema: {exc} (keyword `{exc.keyword}`)"
        ) from None
