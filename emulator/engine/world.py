"""What one session remembers, so two tests sharing a server never see each other.

Requests name their session with `X-Emulator-Session`; those without one share the default
session. Each session has its own stored responses, background runs, conversations, memories,
response and prompt caches, and its own id sequence (seeded by `--seed` and the session's name),
so a session's bodies are the same however other sessions' requests interleave with its own.
Scenario sequences and the journal are kept per session where they live (the scenario layer's
counters; the journal's entries carry their session header).

Bounded: past `cap` named sessions the least recently used is forgotten; the default one stays.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from emulator.clock import Clock
from emulator.engine.background import Runs
from emulator.engine.cache import ResponseCache
from emulator.engine.prompt_cache import PromptCache
from emulator.ids import IdSource
from emulator.state.bounded import lru_put
from emulator.state.conversations import ConversationStore
from emulator.state.memories import MemoryStore, Seed
from emulator.state.responses import ResponseStore

DEFAULT_SESSION = ""


@dataclass(frozen=True, slots=True)
class Caps:
    responses: int = 10_000
    conversations: int = 1000
    memories: int = 1000  # entities
    cache: int = 1000  # entries of the response cache, and of the prompt cache
    sessions: int = 100  # named sessions (the default one is not counted)


@dataclass(slots=True)
class World:
    ids: IdSource
    store: ResponseStore
    conversations: ConversationStore
    memories: MemoryStore
    cache: ResponseCache
    prompt_cache: PromptCache
    runs: Runs = field(default_factory=Runs)


class Worlds:
    """Every session's World, made on its first request."""

    def __init__(self, seed: int, clock: Clock, caps: Caps, seeds: Callable[[], list[Seed]]) -> None:
        self.seed, self.clock, self.caps = seed, clock, caps
        self._seeds = seeds  # the scenario files' memories, which every new World starts with
        self._seeded = seeds()  # as they were last given to every World
        self.default = self._made(DEFAULT_SESSION)
        self._named: OrderedDict[str, World] = OrderedDict()

    def of(self, session: str) -> World:
        if not session:
            return self.default
        world = self._named.get(session)
        if world is None:
            world = self._made(session)
            lru_put(self._named, session, world, self.caps.sessions)
        else:
            self._named.move_to_end(session)
        return world

    def _made(self, session: str) -> World:
        caps = self.caps
        seed = self.seed
        if session:  # its own sequence, the same whatever else the server is doing
            seed = int.from_bytes(hashlib.sha256(f"{self.seed}/{session}".encode()).digest()[:8], "big")
        world = World(
            IdSource(seed, self.clock),
            ResponseStore(caps.responses),
            ConversationStore(caps.conversations),
            MemoryStore(caps.memories),
            ResponseCache(caps.cache),
            PromptCache(caps.cache),
        )
        world.memories.seed(self._seeds(), self.clock.now())
        return world

    def forget(self, session: str | None = None) -> None:
        """Every session forgotten (the default one starts afresh), or one."""
        if session is None:
            self._named.clear()
            self.default = self._made(DEFAULT_SESSION)
        elif not session:
            self.default = self._made(DEFAULT_SESSION)
        else:
            self._named.pop(session, None)

    def reseed(self) -> None:
        """The scenario files' memories, loaded again, in every session."""
        seeds, now = self._seeds(), self.clock.now()
        if seeds == self._seeded:  # (a test scripting a scenario loads the set again: same seeds)
            return
        self._seeded = seeds
        for world in self:
            world.memories.seed(seeds, now)

    def __iter__(self) -> Iterator[World]:
        yield self.default
        yield from list(self._named.values())

    def sessions(self) -> list[str]:
        return [DEFAULT_SESSION, *self._named]
