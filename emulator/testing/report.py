"""What the journal assertions say when they fail: every request, and why each one missed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.clock import FrozenClock
from emulator.engine.backend import Call
from emulator.engine.items import content_text, normalise_input
from emulator.engine.timing import PROFILES
from emulator.ids import IdSource
from emulator.scenarios.matching import RequestView, conditions
from emulator.scenarios.model import Scenario
from emulator.state.journal import Exchange
from emulator.state.responses import Conversation

INDENT = "      "


def call(entry: Exchange) -> Call | None:
    """The create request as a scenario's conditions look at it; None if it was not a valid create
    request. One answered by an error before its Plan was made (a scenario's http_error, a gateway
    failure) counts as a first turn."""
    body = entry.body
    if entry.method != "POST" or not isinstance(body, dict) or "model" not in body:
        return None
    try:  # the ids of input items without one are made up: no condition looks at them
        items = normalise_input(body.get("input"), IdSource(0, FrozenClock()))
    except (AttributeError, KeyError, TypeError):
        return None
    history = entry.history if entry.history is not None else Conversation()
    return Call(body, entry.headers, history, b"", items, PROFILES["instant"])


def summary(entry: Exchange) -> str:
    """One line: what was asked and what came back."""
    what = f"#{entry.index} {entry.method} {entry.path}{'?' + entry.query if entry.query else ''}"
    if entry.model:
        what += f" model={entry.model!r}"
    if entry.stream:
        what += " stream"
    said = last_user_text(entry.body)
    if said:
        what += f" input={_short(said)!r}"
    answer = f"-> {entry.status}"
    error = entry.error
    if error is not None:
        answer += f" {error.get('code')}: {_short(str(error.get('message')), 160)}"
    elif entry.response_id:
        answer += f" {entry.response_id}"
    if entry.scenario:
        answer += f" (scenario {entry.scenario!r})"
    return f"{what} {answer}"


def last_user_text(body: Any) -> str:
    """The text of a create body's last user message (or its string input), read as the
    scenarios' `last_user_message` reads it, from a body that may not be valid."""
    if not isinstance(body, dict):
        return ""
    given = body.get("input")
    if isinstance(given, str):
        return given
    if isinstance(given, list):
        for item in reversed(given):
            if isinstance(item, dict) and item.get("role") == "user":
                content = item.get("content")
                return content_text(content) if isinstance(content, str | list) else ""
    return ""


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def creates(entries: Sequence[Exchange]) -> list[Exchange]:
    return [e for e in entries if e.method == "POST"]


def misses_of(entry: Exchange, spec: dict[str, Any]) -> list[str]:
    """Why a create request does not meet a `match` spec ([] when it does)."""
    made = call(entry)
    if made is None:
        return [_unplanned(entry)]
    view = RequestView(made)
    return [why for test in conditions(spec) if (why := test(view)) is not None]


def matching(entries: Sequence[Exchange], spec: dict[str, Any]) -> list[Exchange]:
    return [e for e in creates(entries) if not misses_of(e, spec)]


def called(
    entries: Sequence[Exchange], spec: dict[str, Any], asked: dict[str, Any], times: int | None, found: int
) -> str:
    wanted = ", ".join(f"{k}={v!r}" for k, v in asked.items()) or "any conditions"
    expected = "at least once" if times is None else f"exactly {times} time{'s' if times != 1 else ''}"
    made = creates(entries)
    lines = [f"expected a create request with {wanted} {expected}; {found} of {len(made)} matched"]
    if not entries:
        lines.append("the emulator received no request")
    for entry in entries:
        lines.append(f"  {summary(entry)}")
        if entry.method == "POST":
            why = misses_of(entry, spec)
            lines.append(f"{INDENT}{'missed: ' + '; '.join(why) if why else 'matched'}")
    return "\n".join(lines)


def unused(scenarios: Sequence[Scenario], entries: Sequence[Exchange]) -> str:
    made = creates(entries)
    lines = [f"{len(scenarios)} scenario(s) answered no request ({len(made)} create request(s) made):"]
    for scenario in scenarios:
        lines.append(f"  '{scenario.name}' ({scenario.where})")
        for entry in made:
            lines.append(f"    {summary(entry)}")
            lines.append(f"{INDENT}{_why_not(scenario, entry)}")
    return "\n".join(lines)


def journal(entries: Sequence[Exchange]) -> str:
    if not entries:
        return "no request was made to the emulator"
    lines = []
    for entry in entries:
        lines.append(summary(entry))
        if entry.method == "POST" and entry.scenario is None and entry.misses:
            for miss in sorted(entry.misses, key=lambda m: len(m.reasons))[:3]:
                lines.append(f"{INDENT}near miss {miss}")
        if entry.warnings:
            lines.append(f"{INDENT}contract warnings: {'; '.join(entry.warnings)}")
    return "\n".join(lines)


def _why_not(scenario: Scenario, entry: Exchange) -> str:
    made = call(entry)
    if made is None:
        return _unplanned(entry)
    why = scenario.misses(RequestView(made))
    if why:
        return "missed: " + "; ".join(why)
    if entry.scenario is not None:
        return f"its conditions held, but '{entry.scenario}' answered first"
    return "its conditions held, but it did not answer (its turns were used up)"


def _unplanned(entry: Exchange) -> str:
    if entry.error is not None:
        return (
            f"rejected before any scenario was tried: {entry.error.get('code')}: {entry.error.get('message')}"
        )
    return "not a create request the emulator planned"
