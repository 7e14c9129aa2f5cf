"""The scenario backend: the first scenario that matches a request answers it.

Scenarios are tried by priority (higher first), then in file order; all of a scenario's
conditions must hold. A request can also name its scenario (header `X-Emulator-Scenario`, or
`metadata.emulator_scenario`), which skips the conditions. Each scenario counts the requests it
has answered, per session (header `X-Emulator-Session`), to walk its sequence of turns, so tests
sharing one server never see each other's counts. With no match, the default backend answers, or,
in strict mode, a 400 `no_scenario_matched` names the closest scenarios and why each missed.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace

from faker import Faker

from emulator.contract.errors import ApiError
from emulator.engine.backend import SCENARIO_HEADER, SESSION_HEADER, Backend, Call, Turn
from emulator.scenarios.matching import RequestView
from emulator.scenarios.model import Scenario, ScenarioSet
from emulator.state.journal import Miss

log = logging.getLogger("emulator")

SCENARIO_METADATA = "emulator_scenario"


class Counters:
    """How many requests each scenario has answered, per session; bounded, oldest sessions first out."""

    def __init__(self, cap: int = 10_000) -> None:
        self.cap = cap
        self._counts: OrderedDict[tuple[str, str], int] = OrderedDict()

    def take(self, session: str, scenario: str) -> int:
        """The next index for this scenario in this session (0 for its first answer)."""
        key = (session, scenario)
        index = self._counts.get(key, 0)
        self._counts[key] = index + 1
        self._counts.move_to_end(key)
        while len(self._counts) > self.cap:
            self._counts.popitem(last=False)
        return index

    def give_back(self, session: str, scenario: str) -> None:
        """Undoes a take whose turn did not answer (it fell through)."""
        key = (session, scenario)
        if self._counts.get(key, 0) > 0:
            self._counts[key] -= 1

    def reset(self, session: str | None = None) -> None:
        if session is None:
            self._counts.clear()
        else:
            for key in [k for k in self._counts if k[0] == session]:
                del self._counts[key]


class ScenarioBackend:
    def __init__(self, scenarios: ScenarioSet, fallback: Backend, *, strict: bool = False) -> None:
        self.scenarios = scenarios
        self.fallback = fallback
        self.strict = strict
        self.counters = Counters()
        self._faker: Faker | None = None  # this backend's own (built on first use: about 1 ms)

    @property
    def faker(self) -> Faker:
        if self._faker is None:
            self._faker = Faker("en_US")
        return self._faker

    def turn(self, call: Call) -> Turn:
        view = RequestView(call)
        scenarios = self.scenarios
        profile = scenarios.model(call.request["model"])
        if profile is not None and not profile.tools and call.request.get("tools"):
            raise ApiError(
                400, "invalid_request_body",
                f"Model '{call.request['model']}' does not support tools (the models catalogue says "
                f"tools: false for '{profile.pattern}').", "/tools",
            )  # fmt: skip
        timing = profile.timing if profile and profile.timing else None
        named = call.headers.get(SCENARIO_HEADER) or (call.request.get("metadata") or {}).get(
            SCENARIO_METADATA
        )
        session = call.headers.get(SESSION_HEADER, "")
        if named:
            scenario = scenarios.named(named)
            if scenario is None:
                known = ", ".join(s.name for s in scenarios.scenarios) or "none are loaded"
                raise ApiError(
                    400, "no_scenario_matched", f"No scenario is named '{named}' (scenarios: {known})."
                )
            tried = [scenario]  # named: its conditions do not apply
        else:
            tried = scenarios.scenarios
        misses: list[tuple[Scenario, list[str]]] = []
        for scenario in tried:
            why = [] if named else scenario.misses(view)
            if why:
                misses.append((scenario, why))
                continue
            index = self.counters.take(session, scenario.name)
            script = scenario.turn_at(index)
            if script is None:  # used up, and set to let the next scenario answer
                self.counters.give_back(session, scenario.name)
                misses.append((scenario, ["it has used all its turns (after: fall_through)"]))
                continue
            turn = script.render(view, scenario.name, timing or call.timing, self.faker)
            turn.timing = turn.timing or timing  # the turn's own, else the model's
            if misses:
                turn.misses = _missed(misses)
            return turn
        if self.strict:
            refusal = ApiError(400, "no_scenario_matched", _closest(misses))
            return Turn([], misses=_missed(misses), http_error=refusal)
        if profile is not None and not profile.reasoning and "reasoning" in call.request:
            call = replace(call, request={k: v for k, v in call.request.items() if k != "reasoning"})
        turn = self.fallback.turn(call)
        if timing is not None:
            turn.timing = timing
        turn.misses = _missed(misses)
        return turn


def _missed(misses: list[tuple[Scenario, list[str]]]) -> tuple[Miss, ...]:
    return tuple(Miss(s.name, s.where, tuple(why)) for s, why in misses)


def _closest(misses: list[tuple[Scenario, list[str]]]) -> str:
    if not misses:
        return "No scenario matched this request, and none are loaded."
    ranked = sorted(misses, key=lambda entry: len(entry[1]))[:3]
    lines = [f"'{s.name}' ({s.where}): {'; '.join(why)}" for s, why in ranked]
    return "No scenario matched this request. Closest: " + " | ".join(lines)
