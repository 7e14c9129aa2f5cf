"""Stored responses, for GET and for `previous_response_id` chains.

Entries hold serialised JSON, not dicts: GET returns the bytes as they are, memory per response
is a fraction of the dict form (which matters: a growing heap costs throughput), and the garbage
collector has millions fewer objects to scan in a long-running server (which otherwise shows up
as tail-latency pauses).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

_NO_CALLS: Mapping[str, str] = MappingProxyType({})


class Conversation(NamedTuple):  # a tuple: immutable, and cheap to build once per response
    """What continuing a conversation needs of its turns so far (contract decision 8).

    The turns' items themselves are not copied here: each stored body holds its own `input` and
    `output`, and `previous_response_id` links the bodies into the chain.
    """

    tokens: int = 0  # token count of every input and output item so far: the next turn's context
    calls: Mapping[str, str] = _NO_CALLS  # call_id -> function name of its function_call items
    turns: int = 0  # responses in the chain so far

    def extended(self, turn: Iterable[list[dict[str, Any]]], tokens: int) -> Conversation:
        """The conversation after a turn: its item lists (input, output) and their tokens."""
        calls = {i["call_id"]: i["name"] for items in turn for i in items if i["type"] == "function_call"}
        merged = MappingProxyType({**self.calls, **calls}) if calls else self.calls
        return Conversation(self.tokens + tokens, merged, self.turns + 1)


class StoredResponse(NamedTuple):
    id: str
    body: bytes  # the response object as GET returns it
    # The conversation up to and including this response's output; None while it is in progress.
    conversation: Conversation | None
    trace: tuple[str, str]  # (trace_id, span_id) of its telemetry, for the x-orq-trace-* headers
    # For each output item, the pieces each of its streams was sent in (ItemPlan.pieces), so
    # `?stream=true` replays the very events that were streamed; None when they were each
    # text's own tokens (Plan.chunked false), which the replay works out again.
    pieces: list[list[list[str]]] | None = None

    @property
    def in_progress(self) -> bool:
        return self.conversation is None


class ResponseStore:
    def __init__(self, cap: int = 10_000) -> None:
        if cap < 1:
            raise ValueError("the response store needs room for at least one response")
        self.cap = cap
        self._entries: OrderedDict[str, StoredResponse] = OrderedDict()
        # Ids of store:false responses, only to explain why they cannot be continued.
        self._unstored: OrderedDict[str, None] = OrderedDict()

    def put(self, entry: StoredResponse) -> None:
        _bounded_insert(self._entries, entry.id, entry, self.cap)

    def remember_unstored(self, response_id: str) -> None:
        _bounded_insert(self._unstored, response_id, None, self.cap)

    def was_unstored(self, response_id: str) -> bool:
        return response_id in self._unstored

    def get(self, response_id: str) -> StoredResponse | None:
        return self._entries.get(response_id)

    def clear(self) -> None:
        self._entries.clear()
        self._unstored.clear()

    def delete(self, response_id: str) -> bool:
        """Forgets a stored response; False when there was none."""
        return self._entries.pop(response_id, None) is not None

    def __len__(self) -> int:
        return len(self._entries)

    def ids(self) -> list[str]:
        """The stored responses' ids, oldest first."""
        return list(self._entries)


def _bounded_insert(entries: OrderedDict[str, Any], key: str, value: Any, cap: int) -> None:
    """Insert, then evict the oldest if that went over `cap` (one insert adds at most one)."""
    entries[key] = value
    if len(entries) > cap:
        entries.popitem(last=False)
