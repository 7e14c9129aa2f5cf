"""Stored responses, for GET and for `previous_response_id` chains."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredResponse:
    response: dict[str, Any]
    # Every item of the conversation up to and including this turn's output: the context a
    # turn continuing from this response sees (contract decision 8).
    context: tuple[dict[str, Any], ...]


class ResponseStore:
    def __init__(self, cap: int = 10_000) -> None:
        if cap < 1:
            raise ValueError("the response store needs room for at least one response")
        self.cap = cap
        self._entries: OrderedDict[str, StoredResponse] = OrderedDict()
        # Ids of store:false responses, only to explain why they cannot be continued.
        self._unstored: OrderedDict[str, None] = OrderedDict()

    def put(self, entry: StoredResponse) -> None:
        self._entries[entry.response["id"]] = entry
        while len(self._entries) > self.cap:
            self._entries.popitem(last=False)

    def remember_unstored(self, response_id: str) -> None:
        self._unstored[response_id] = None
        while len(self._unstored) > self.cap:
            self._unstored.popitem(last=False)

    def was_unstored(self, response_id: str) -> bool:
        return response_id in self._unstored

    def get(self, response_id: str) -> StoredResponse | None:
        return self._entries.get(response_id)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._unstored.clear()
