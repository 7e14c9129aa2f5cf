"""Which offered tools the default backend uses, and how many: `tool_choice` (`none`, `auto`,
`required`, a named function, `allowed_tools`), `parallel_tool_calls` and `max_tool_calls`.

The rule for `auto` (README, Tool calls): a tool is used when the last user message shares a word
with what the tool is about: a function's name and description, a platform tool's built-in topic
words (emulator.engine.platform_tools.TOPICS), an MCP server's label, description and tool names
(names split at `_`, `-` and case changes; common words such as "the" or "what" do not count; a
plural matches its singular). The tools that share most come first. `required` uses the best
match, or the first tool offered when none matches. Server-side tools (platform tools, MCP, web
search) run inside the turn; with `parallel_tool_calls: false` only the first matching function
is called. `max_tool_calls` bounds both together. A tool that was not offered (or that
`allowed_tools` leaves out) is never used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_WORD = re.compile(r"[A-Za-z0-9]+")
_CASE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_COMMON = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for", "from",
    "get", "give", "how", "i", "in", "is", "it", "its", "like", "me", "my", "of", "on", "or",
    "please", "set", "show", "tell", "that", "the", "this", "to", "us", "was", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your",
))  # fmt: skip

Tool = dict[str, Any]


def words(text: str) -> set[str]:
    """The words of `text` that can tie it to a tool: lower case, singular, not common."""
    found = set()
    for word in _WORD.findall(_CASE.sub(" ", text).replace("_", " ").replace("-", " ")):
        word = word.lower()
        if word in _COMMON:
            continue
        found.add(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return found


def is_function(tool: Tool) -> bool:
    return tool.get("type") == "function"


def chosen(request: dict[str, Any], user_text: str, about: Callable[[Tool], str]) -> list[Tool]:
    """The offered tools to use this turn, best match first (empty: answer in text). `about(tool)`
    is the text a tool is known by; only functions and the tools it knows (non-empty) are used."""
    offered = [t for t in request.get("tools") or () if (t.get("name") if is_function(t) else about(t))]
    choice = request.get("tool_choice", "auto")
    mode = "auto"
    if choice == "none" or not offered:
        return []
    if choice == "required":
        mode = "required"
    elif isinstance(choice, dict):
        if choice.get("type") == "function":
            named = choice.get("name") or (choice.get("function") or {}).get("name")
            offered, mode = [t for t in offered if is_function(t) and t["name"] == named], "required"
        elif choice.get("type") == "allowed_tools":
            allowed = choice.get("tools", ())
            offered = [t for t in offered if any(_names(a, t) for a in allowed)]
            mode = choice.get("mode", "auto")
        else:  # a hosted tool by type, as OpenAI's clients name one
            offered, mode = [t for t in offered if t.get("type") == choice.get("type")], "required"
    asked = words(user_text)
    scored = [(len(asked & words(about(t))), n, t) for n, t in enumerate(offered)]
    ranked = [t for score, _, t in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]
    if mode == "required" and not ranked and offered:
        ranked = [offered[0]]
    single = request.get("parallel_tool_calls") is False
    limit = request.get("max_tool_calls")
    used: list[Tool] = []
    functions = 0
    for tool in ranked:
        if isinstance(limit, int) and len(used) >= limit:
            break
        if is_function(tool):
            if single and functions:
                continue
            functions += 1
        used.append(tool)
    return used


def _names(allowed: Tool, tool: Tool) -> bool:
    """Whether an `allowed_tools` entry names this offered tool."""
    if allowed.get("type") != tool.get("type"):
        return False
    if is_function(tool):
        return bool(allowed.get("name") == tool["name"])
    label = allowed.get("server_label")
    return label is None or label in (tool.get("server_label"), tool.get("key"))
