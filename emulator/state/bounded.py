"""The least-recently-used bound the emulator's caches and stores share."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def lru_put(entries: OrderedDict[K, V], key: K, value: V, cap: int) -> None:
    """Keeps `value` under `key` as the most recently used; past `cap`, the least recently used goes."""
    entries[key] = value
    entries.move_to_end(key)
    if len(entries) > cap:
        entries.popitem(last=False)
