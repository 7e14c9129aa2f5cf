"""Memory stores: what orq keeps per entity (`memory: {entity_id}`), as documents of text.

orq's memory stores hold, per entity (a user, a session...), documents an agent writes and
queries with its memory tools. Here an entity's documents are kept in the order they were made,
each naming its store (`key`): seeded from scenario files (`memory_stores:`), written by scripted
memory tools, and listed, added, replaced and deleted through `/_emulator/memories`. A query
ranks documents by the words they share with it (orq's is semantic; this is its deterministic
stand-in), most shared first, newer first among equals.

Bounded: past `cap` entities the least recently used goes; an entity keeps its newest
`DOCUMENTS_PER_ENTITY` documents.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.state.bounded import lru_put

DOCUMENTS_PER_ENTITY = 1000
DEFAULT_STORE = "default"
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(slots=True)
class Document:
    id: str
    text: str
    store: str  # the memory store's key
    created_at: int
    seeded: bool = False  # from a scenario file: replaced when the files are loaded again

    def json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "store": self.store, "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class Seed:
    """One document a scenario file's `memory_stores:` gives an entity."""

    entity_id: str
    store: str
    text: str


class MemoryStore:
    def __init__(self, cap: int = 1000) -> None:
        self.cap = max(cap, 1)
        self._entities: OrderedDict[str, list[Document]] = OrderedDict()
        self._made = 0  # documents made so far: their ids (mem_1, mem_2...), never reused

    def documents(self, entity_id: str) -> list[Document]:
        """The entity's documents, oldest first ([] for an entity with none)."""
        found = self._entities.get(entity_id)
        if found is None:
            return []
        self._entities.move_to_end(entity_id)
        return found

    def texts(self, entity_id: str) -> list[str]:
        return [d.text for d in self.documents(entity_id)]

    def write(self, entity_id: str, text: str, store: str, now: float, *, seeded: bool = False) -> Document:
        self._made += 1
        document = Document(f"mem_{self._made}", text, store, int(now), seeded)
        kept = self._entities.get(entity_id)
        if kept is None:
            kept = []
            lru_put(self._entities, entity_id, kept, self.cap)
        else:
            self._entities.move_to_end(entity_id)
        kept.append(document)
        if len(kept) > DOCUMENTS_PER_ENTITY:
            del kept[0]
        return document

    def query(self, entity_id: str, query: str, store: str | None = None, limit: int = 5) -> list[Document]:
        """The entity's documents that share a word with `query` (all of them for an empty one),
        most shared words first, then newest first; only `store`'s when it is given."""
        wanted = set(_WORD.findall(query.lower()))
        scored = []
        for age, document in enumerate(reversed(self.documents(entity_id))):
            if store is not None and document.store != store:
                continue
            shared = len(wanted & set(_WORD.findall(document.text.lower()))) if wanted else 1
            if shared:
                scored.append((-shared, age, document))
        return [document for *_, document in sorted(scored, key=lambda s: s[:2])[:limit]]

    def delete(self, entity_id: str, document_id: str) -> bool:
        kept = self._entities.get(entity_id, [])
        for n, document in enumerate(kept):
            if document.id == document_id:
                del kept[n]
                return True
        return False

    def replace(self, entity_id: str, documents: Iterable[tuple[str, str]], now: float) -> None:
        """The entity's documents, (text, store) each, replace what it had."""
        self._entities.pop(entity_id, None)
        for text, store in documents:
            self.write(entity_id, text, store, now)

    def forget(self, entity_id: str) -> bool:
        return self._entities.pop(entity_id, None) is not None

    def seed(self, seeds: Iterable[Seed], now: float) -> None:
        """The scenario files' documents, in place of those an earlier load seeded (what was
        written since stays)."""
        for entity_id, kept in list(self._entities.items()):
            kept[:] = [d for d in kept if not d.seeded]
            if not kept:
                del self._entities[entity_id]
        for seed in seeds:
            self.write(seed.entity_id, seed.text, seed.store, now, seeded=True)

    def entity_ids(self) -> list[str]:
        """Least recently used first."""
        return list(self._entities)

    def clear(self) -> None:
        self._entities.clear()

    def __len__(self) -> int:
        return len(self._entities)
