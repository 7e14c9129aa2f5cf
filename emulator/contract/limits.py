"""The shape limits of a request body, checked as soon as it is parsed, before anything walks it.

A body past them would otherwise reach code that recurses over it (the schema validator, the
serialiser, the journal) and fail there as a 500. Each check is a 400 naming the place by JSON
pointer. They cost almost nothing on an ordinary body: a body with fewer brackets than the depth
limit cannot be too deep, and one shorter than the string limit cannot hold a string too long, so
neither is walked; nor are `input` and `tools` counted in a body too short to hold too many.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from emulator.contract.errors import ApiError, bad_field
from emulator.contract.messages import pointer


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_bytes: int = 10 * 1024 * 1024  # the body's size (larger: 413, checked as it is read)
    max_depth: int = 64  # objects and arrays nested in each other, the body itself counting 1
    max_string: int = 1_000_000  # characters in one string (a key or a value)
    max_input_items: int = 10_000  # items in `input` (a list)
    max_tools: int = 512  # entries in `tools`
    # The longest body that cannot break the string or list limits (a list of n items takes at
    # least 2n bytes: "0," each); with the depth's bracket count, what the caller checks first.
    floor: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "floor", min(self.max_string, 2 * min(self.max_input_items, self.max_tools)))

    def check(self, raw: bytes, body: Any) -> None:
        """Raise a 400 for the first limit `body` (parsed from `raw`) breaks."""
        if raw.count(b"{") + raw.count(b"[") > self.max_depth:
            _check_depth(body, self.max_depth, 1, [])
        if len(raw) > self.max_string:
            _check_strings(body, self.max_string, [])
        if isinstance(body, dict) and len(raw) > self.floor:
            for name, cap in (("input", self.max_input_items), ("tools", self.max_tools)):
                value = body.get(name)
                if isinstance(value, list) and len(value) > cap:
                    raise bad_field(
                        f"/{name}",
                        f"/{name} has {len(value)} items; the emulator takes at most {cap}",
                    )


def _check_depth(node: Any, limit: int, depth: int, path: list[str | int]) -> None:
    if depth > limit:
        raise too_deep(path, limit)
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                _check_depth(value, limit, depth + 1, [*path, key])
    elif isinstance(node, list):
        for n, value in enumerate(node):
            if isinstance(value, dict | list):
                _check_depth(value, limit, depth + 1, [*path, n])


def too_deep(path: list[str | int], limit: int) -> ApiError:
    where = pointer(path) or "/"
    return bad_field(where, f"{where} is nested more than {limit} levels deep (the emulator's limit)")


_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')


def place_too_deep(raw: bytes, limit: int) -> list[str | int] | None:
    """Where the first container deeper than `limit` opens in `raw`, found by scanning its bytes:
    for a body too deep for the JSON parser itself to return."""
    frames: list[list[Any]] = []  # per open container: [is_array, key or index]
    last = b'""'
    for token in _TOKEN.finditer(raw):
        text = token.group()
        if text[0] == 34:  # a string: perhaps the next key
            last = text
        elif text in (b"{", b"["):
            if len(frames) + 1 > limit:
                return [frame[1] for frame in frames]
            frames.append([text == b"[", 0 if text == b"[" else None])
        elif text in (b"}", b"]"):
            if frames:
                frames.pop()
        elif frames and text == b":":
            frames[-1][1] = json.loads(last)
        elif frames and text == b"," and frames[-1][0]:
            frames[-1][1] += 1
    return None


def _check_strings(node: Any, limit: int, path: list[str | int]) -> None:
    if isinstance(node, str):
        if len(node) > limit:
            where = pointer(path) or "/"
            raise bad_field(
                where, f"{where} is a string of {len(node)} characters; the emulator takes at most {limit}"
            )
    elif isinstance(node, dict):
        for key, value in node.items():
            if len(key) > limit:
                _check_strings(key, limit, path)
            _check_strings(value, limit, [*path, key])
    elif isinstance(node, list):
        for n, value in enumerate(node):
            _check_strings(value, limit, [*path, n])
