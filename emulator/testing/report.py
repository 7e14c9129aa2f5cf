"""What the journal assertions say when they fail: every request, and why each one missed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.engine.backend import Call
from emulator.scenarios.compile import Scenario
from emulator.scenarios.matching import RequestView, conditions
from emulator.state.journal import Exchange

INDENT = "      "


def creates(entries: Sequence[Exchange]) -> list[Exchange]:
    return [e for e in entries if e.method == "POST"]


def misses_of(entry: Exchange, spec: dict[str, Any]) -> list[str]:
    """Why a create request does not meet a `match` spec ([] when it does)."""
    call = entry.call()
    if call is None:
        return [_unplanned(entry)]
    view = RequestView(call)
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
        lines.append(f"  {entry.summary()}")
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
            lines.append(f"    {entry.summary()}")
            lines.append(f"{INDENT}{_why_not(scenario, entry)}")
    return "\n".join(lines)


def journal(entries: Sequence[Exchange]) -> str:
    if not entries:
        return "no request was made to the emulator"
    lines = []
    for entry in entries:
        lines.append(entry.summary())
        if entry.method == "POST" and entry.scenario is None and entry.misses:
            for miss in sorted(entry.misses, key=lambda m: len(m.reasons))[:3]:
                lines.append(f"{INDENT}near miss {miss}")
        if entry.warnings:
            lines.append(f"{INDENT}contract warnings: {'; '.join(entry.warnings)}")
    return "\n".join(lines)


def _why_not(scenario: Scenario, entry: Exchange) -> str:
    call: Call | None = entry.call()
    if call is None:
        return _unplanned(entry)
    why = scenario.misses(RequestView(call))
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
