"""Which offered functions the default backend calls, and how many: `tool_choice` (`none`, `auto`,
`required`, a named function, `allowed_tools`), `parallel_tool_calls` and `max_tool_calls`.

The rule for `auto` (README, Tool calls): a function is called when the last user message shares
a word with its name or description (names split at `_`, `-` and case changes; common words such
as "the" or "what" do not count; a plural matches its singular). The functions that share most
come first; with `parallel_tool_calls: false` only the first is called. `required` calls the best
match, or the first function offered when none matches. A tool that was not offered (or that
`allowed_tools` leaves out) is never called.
"""

from __future__ import annotations

import re
from typing import Any

_WORD = re.compile(r"[A-Za-z0-9]+")
_CASE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_COMMON = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "could", "do", "does", "for", "from",
    "get", "give", "how", "i", "in", "is", "it", "its", "like", "me", "my", "of", "on", "or",
    "please", "set", "show", "tell", "that", "the", "this", "to", "us", "was", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your",
))  # fmt: skip


def words(text: str) -> set[str]:
    """The words of `text` that can tie it to a tool: lower case, singular, not common."""
    found = set()
    for word in _WORD.findall(_CASE.sub(" ", text).replace("_", " ").replace("-", " ")):
        word = word.lower()
        if word in _COMMON:
            continue
        found.add(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return found


def calls(request: dict[str, Any], user_text: str) -> list[dict[str, Any]]:
    """The offered function tools to call this turn, in order (empty: answer in text)."""
    functions = [t for t in request.get("tools") or () if t.get("type") == "function" and t.get("name")]
    choice = request.get("tool_choice", "auto")
    mode = "auto"
    if choice == "none" or not functions:
        return []
    if choice == "required":
        mode = "required"
    elif isinstance(choice, dict):
        if choice.get("type") == "function":
            functions, mode = [f for f in functions if f["name"] == choice.get("name")], "required"
        elif choice.get("type") == "allowed_tools":
            allowed = {t.get("name") for t in choice.get("tools", ()) if t.get("type") == "function"}
            functions, mode = [f for f in functions if f["name"] in allowed], choice.get("mode", "auto")
        else:  # a hosted or platform tool: no function this turn
            return []
    asked = words(user_text)
    scored = [
        (len(asked & words(f"{f['name']} {f.get('description') or ''}")), n, f)
        for n, f in enumerate(functions)
    ]
    chosen = [f for score, _, f in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]
    if mode == "required" and not chosen and functions:
        chosen = [functions[0]]
    if request.get("parallel_tool_calls") is False:
        chosen = chosen[:1]
    limit = request.get("max_tool_calls")
    return chosen[:limit] if isinstance(limit, int) else chosen


def _described(function: dict[str, Any]) -> set[str]:
    return words(f"{function['name']} {function.get('description') or ''}")
