"""A documented, deterministic token approximation.

A token is a run of up to 6 letters or digits, or a single other non-space character, together
with the whitespace before it. So "Hello, world!" is 4 tokens and "internationalisation" is 4.
English text comes out near OpenAI's tokenisers (about 1.3 tokens a word); the same text always
counts the same, and joining a text's tokens gives the text back, which is what truncation at
`max_output_tokens` and stream chunking need.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

_TOKEN = re.compile(r"\s*(?:\w{1,6}|[^\w\s])|\s+$")

# Per-item framing overhead, as chat formats add role and separator tokens around each message.
ITEM_OVERHEAD = 3


tokenize = _TOKEN.findall  # text -> its tokens, which join back to the text


def count(text: str) -> int:
    return len(tokenize(text))


_count_remembered = lru_cache(maxsize=512)(count)


def count_recurring(text: str) -> int:
    """`count`, remembered for text that recurs request after request (instructions, tool
    definitions). Only texts up to 32 KB are remembered, so the cache stays under 16 MB."""
    return _count_remembered(text) if len(text) <= 32_768 else count(text)


def count_content(content: Any) -> int:
    """Tokens in a message's content or a tool output: a string or a list of parts."""
    if isinstance(content, str):
        return count(content)
    total = 0
    for part in content or ():
        text = part.get("text") or part.get("refusal")
        if isinstance(text, str):
            total += count(text)
        elif part.get("type") in ("input_image", "input_file"):
            total += 85  # a low-detail image tile, OpenAI's flat rate
    return total


def count_tools(tools: list[dict[str, Any]]) -> int:
    return count_recurring(orjson.dumps(tools).decode()) if tools else 0
