"""Conversations: orq's `conversation: {id}` and OpenAI's Conversations API, one store.

A conversation accumulates the items of every response made in it (its input, then its output)
and is the context of each new turn: its token count, its function calls, its turn count (what
scenario matching reads). OpenAI's API creates conversations (`conv_` ids), reads, updates their
metadata, deletes them, and lists, adds and deletes their items; orq's `conversation: {id}` with
an id never seen starts one under that id. Bounded: past `cap`, the least recently used goes.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from emulator.state.bounded import lru_put
from emulator.state.responses import Conversation

NEW = Conversation()


@dataclass(slots=True)
class StoredConversation:
    id: str
    created_at: int
    metadata: dict[str, str] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    context: Conversation = NEW  # what a turn in it continues from

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }


class ConversationStore:
    def __init__(self, cap: int = 1000) -> None:
        self.cap = max(cap, 1)
        self._entries: OrderedDict[str, StoredConversation] = OrderedDict()

    def get(self, conversation_id: str) -> StoredConversation | None:
        found = self._entries.get(conversation_id)
        if found is not None:
            self._entries.move_to_end(conversation_id)
        return found

    def put(self, conversation: StoredConversation) -> StoredConversation:
        lru_put(self._entries, conversation.id, conversation, self.cap)
        return conversation

    def context_of(self, conversation_id: str) -> Conversation:
        """What a turn in it continues from (an id never seen: a new conversation)."""
        found = self.get(conversation_id)
        return found.context if found is not None else NEW

    def record(
        self, conversation_id: str, items: list[dict[str, Any]], context: Conversation, now: float
    ) -> None:
        """A turn made in the conversation (started under this id if it is new): its input and
        output items, and the context after it."""
        found = self.get(conversation_id) or self.put(StoredConversation(conversation_id, int(now)))
        found.items += items
        found.context = context

    def clear(self) -> None:
        self._entries.clear()

    def delete(self, conversation_id: str) -> bool:
        return self._entries.pop(conversation_id, None) is not None

    def ids(self) -> list[str]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
