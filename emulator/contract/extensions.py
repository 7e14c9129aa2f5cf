"""The rules of the emulator's own request parts: its x-emulator-* headers and the query of GET
/responses/{id}, read from `schemas/emulator-api.schema.json` (which the OpenAPI document serves)
so the server refuses exactly what the document forbids."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.contract import schemas
from emulator.contract.errors import ApiError


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    """GET .../input_items's query: a page of `limit` (1-100) items in `order`, after or before an
    item id."""

    limit: int = 20
    order: str = "desc"
    after: str | None = None
    before: str | None = None


@functools.cache
def _defs() -> dict[str, dict[str, object]]:
    defs: dict[str, dict[str, object]] = schemas.load(schemas.EMULATOR_API)["$defs"]
    return defs


@functools.cache
def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(str(_defs()[name]["pattern"]))


def check_timing_header(value: str) -> None:
    """A 400 for an x-emulator-timing value outside the documented grammar and ranges."""
    if _pattern("TimingHeader").fullmatch(value) is None:
        raise ApiError(
            400, "invalid_header",
            f"x-emulator-timing must be a profile (instant, realistic) and/or settings such as "
            f"'realistic,ttft_ms=800': ttft_ms 0-60000, tokens_per_second 0 or 1-999999, chunk_tokens "
            f"1-16, jitter 0-1; got '{value[:100]}'.",
            "x-emulator-timing",
        )  # fmt: skip


def reasoning_events(value: str) -> str:
    """The x-emulator-reasoning-events value, if it is one of the documented ones; else a 400."""
    allowed = _defs()["ReasoningEventsHeader"]["enum"]
    assert isinstance(allowed, list)
    if value not in allowed:
        raise ApiError(
            400, "invalid_header",
            f"x-emulator-reasoning-events must be one of {', '.join(allowed)}.",
            "x-emulator-reasoning-events",
        )  # fmt: skip
    return value


def check_shape_header(value: str) -> None:
    """A 400 for an x-emulator-shape value that is not a documented shape."""
    allowed = _defs()["ShapeHeader"]["enum"]
    assert isinstance(allowed, list)
    if value not in allowed:
        raise ApiError(
            400,
            "invalid_header",
            f"x-emulator-shape must be one of {', '.join(allowed)}.",
            "x-emulator-shape",
        )


def replay_query(query: Mapping[str, list[str]]) -> tuple[bool, int]:
    """(replay the events?, the sequence number to start after, -1 for all) from GET's query; a
    400 naming the parameter for a value the document does not allow."""
    stream = query.get("stream", ["false"])[-1]
    if stream not in ("true", "false"):
        raise ApiError(
            400, "invalid_request", f"stream must be true or false, got '{stream[:50]}'.", "stream"
        )
    after = query.get("starting_after")
    if after is None:
        return stream == "true", -1
    if _pattern("StartingAfterQuery").fullmatch(after[-1]) is None:
        raise ApiError(
            400, "invalid_request",
            f"starting_after must be a sequence number (an integer >= 0), got '{after[-1][:50]}'.",
            "starting_after",
        )  # fmt: skip
    return stream == "true", int(after[-1])


def items_query(query: Mapping[str, list[str]]) -> ItemsQuery:
    """GET .../input_items's query; a 400 naming the parameter for a value the document refuses
    (`include` is accepted and changes nothing: input items carry everything already)."""
    limit = query.get("limit", ["20"])[-1]
    if _pattern("LimitQuery").fullmatch(limit) is None:
        raise ApiError(
            400, "invalid_request", f"limit must be an integer from 1 to 100, got '{limit[:50]}'.", "limit"
        )
    order = query.get("order", ["desc"])[-1]
    if order not in ("asc", "desc"):
        raise ApiError(400, "invalid_request", f"order must be asc or desc, got '{order[:50]}'.", "order")
    after, before = query.get("after"), query.get("before")
    return ItemsQuery(int(limit), order, after[-1] if after else None, before[-1] if before else None)


def item_list(items: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    """OpenAI's list object (decision 2: every key always present)."""
    return {
        "object": "list",
        "data": items,
        "first_id": items[0].get("id") if items else None,
        "last_id": items[-1].get("id") if items else None,
        "has_more": has_more,
    }


def page_of(items: list[dict[str, Any]], query: ItemsQuery, noun: str, where: str) -> dict[str, Any]:
    """A page of `items` (as sent) in the query's order, after or before an item id, as the list
    object; a cursor naming no item is a 400 "No <noun> '<id>' <where>."."""
    ordered = items[::-1] if query.order == "desc" else items
    for cursor, param in ((query.after, "after"), (query.before, "before")):
        if cursor is None:
            continue
        at = next((n for n, item in enumerate(ordered) if item.get("id") == cursor), None)
        if at is None:
            raise ApiError(400, "invalid_request", f"No {noun} '{cursor}' {where}.", param)
        ordered = ordered[at + 1 :] if param == "after" else ordered[:at]
    return item_list(ordered[: query.limit], has_more=len(ordered) > query.limit)
