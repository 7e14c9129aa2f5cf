"""What decides the model's answer: a Backend turns a Call into a Turn.

The planner owns everything around the answer (ids, history, usage, truncation, timing); a
backend only says what the model outputs: the default backend's generated text
(`emulator.engine.lorem`) or a scenario's script (`emulator.scenarios`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from emulator.contract.errors import ApiError
from emulator.engine.faults import Faults, StreamFault
from emulator.engine.items import ItemPlan
from emulator.engine.live_http import LiveHttp
from emulator.engine.timing import Timing
from emulator.state.journal import Miss
from emulator.state.responses import Conversation

if TYPE_CHECKING:  # (the World holds engine parts that import this module)
    from emulator.engine.world import World

# A request header naming the session whose sequences (of scenario turns, of a model's failures) it
# advances, so tests sharing one server never see each other's counts.
SESSION_HEADER = "x-emulator-session"
# Names the scenario in a request (to choose it) and in an answer (the one that answered).
SCENARIO_HEADER = "x-emulator-scenario"


@dataclass(slots=True)
class Call:
    """One create request, as a backend sees it."""

    request: dict[str, Any]  # the validated body
    headers: Mapping[str, str]  # lower-case names
    history: Conversation  # the previous_response_id chain so far
    digest: bytes  # the request's seeded random stream (emulator.engine.textgen.request_digest)
    input_items: list[dict[str, Any]]  # the request's input, normalised to typed items
    timing: Timing  # the server's pacing, which a backend's turn may replace
    response_id: str = ""  # the id the answer will have
    created_at: int = 0
    live_http: LiveHttp | None = None  # makes orq:http's real calls, when the server allows them
    shape: str | None = None  # the answer shape the request asks for (x-emulator-shape)
    world: World | None = None  # its session's state (memories, for scripted memory tools)


@dataclass(slots=True)
class Turn:
    # Each output item, without its ids, texts included (`"id": None` after its type, so the id
    # lands second; a new dict the planner completes in place), with its streams' tokens as its
    # pieces: joined, they are the texts.
    items: list[ItemPlan]
    status: str = "completed"  # completed | incomplete | failed
    incomplete_reason: str | None = None
    error: dict[str, str] | None = None  # {code, message} when failed
    usage: dict[str, int] | None = None  # counters that replace the computed ones
    timing: Timing | None = None  # replaces the request's timing
    scenario: str | None = None  # the scenario that answered, if any
    misses: tuple[Miss, ...] = ()  # the scenarios tried before an answer, and why each missed
    http_error: ApiError | None = None  # the turn answers with this HTTP error instead (no items)
    stream_fault: StreamFault | None = None  # what breaks its stream (emulator.engine.faults)


class Backend(Protocol):
    def turn(self, call: Call) -> Turn: ...


class Sequences(Protocol):
    def take(self, session: str, name: str) -> int:
        """The next index of `name`'s sequence in this session (0 the first time)."""
        ...


class Scenarios(Protocol):
    """The scenario layer as the engine sees it (emulator.scenarios.source.ScenarioSource)."""

    @property
    def active(self) -> bool:
        """True once it answers requests (files or scripts loaded, or strict): until then the
        engine skips it, and the gateway with it."""
        ...

    @property
    def backend(self) -> Backend: ...

    @property
    def sequences(self) -> Sequences: ...

    def failures(self, model: str) -> Sequence[int | str]:
        """The model's failure profile in the models catalogue ([]: it always answers)."""
        ...

    def faults(self, model: str) -> Faults:
        """The model's faults in the models catalogue."""
        ...

    def timing(self, model: str) -> Timing | None:
        """The model's timing in the models catalogue (None: the server's)."""
        ...

    def agent(self, key: str) -> dict[str, Any] | None:
        """The agent `agent/<key>` names in the scenario files, if one is defined."""
        ...

    @property
    def defines_agents(self) -> bool:
        """The scenario files define agents (then an unknown one is a 404)."""
        ...
