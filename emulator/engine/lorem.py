"""The default backend: plausible text, the same for the same request (emulator.engine.textgen).

A request that asks for reasoning (`reasoning.effort` other than none) first gets a reasoning
item, with a summary (its first sentence) when `reasoning.summary` is set.
"""

from __future__ import annotations

import hashlib

from emulator.engine.backend import Call, Turn
from emulator.engine.items import ItemPlan, reasoning_plan, text_message_plan
from emulator.engine.textgen import TextGenerator


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
        items.append(text_message_plan(self.text.reply(call.digest)))
        return Turn(items)
