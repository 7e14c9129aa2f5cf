"""The default backend: plausible text, the same for the same request (emulator.engine.textgen).

A request that asks for reasoning (`reasoning.effort` other than none) first gets a reasoning
item, with a summary (its first sentence) when `reasoning.summary` is set.
"""

from __future__ import annotations

import hashlib

from emulator.engine.backend import Call, ItemSpec, Turn, message_spec, reasoning_spec
from emulator.engine.textgen import TextGenerator

# Built once: the planner copies an item before writing into it, so every reply can share it.
_MESSAGE = message_spec([("output_text", [], [])]).item


class LoremBackend:
    def __init__(self, text: TextGenerator) -> None:
        self.text = text

    def turn(self, call: Call) -> Turn:
        items: list[ItemSpec] = []
        asked = call.request.get("reasoning")
        if asked and asked.get("effort") not in (None, "none"):
            thought = self.text.reply(hashlib.shake_128(b"reasoning" + call.digest).digest(len(call.digest)))
            summary = None
            if asked.get("summary"):
                summary = thought[: thought.index(".") + 1] if "." in thought else thought
            items.append(reasoning_spec(thought, summary))
        items.append(ItemSpec(_MESSAGE, [self.text.reply(call.digest)]))
        return Turn(items)
