"""Structured output's cost: non-stream creates whose `text.format` is a 30-field nested JSON
Schema (the answer generated from it and checked against it), against plain creates, on the
same emulator, in interleaved rounds (wrk, as bench/throughput.py loads it).

    python bench/structured.py [--seconds 6] [--rounds 3] [--connections 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.apps import MARKER, REQUEST, VARIED_PREFIX, VARIED_SUFFIX  # noqa: E402
from bench.throughput import load_wrk, server  # noqa: E402


def schema() -> dict[str, Any]:
    """30 fields: 10 at the top, 10 in each of an object and a list of objects, of every kind."""

    def fields(prefix: str) -> dict[str, Any]:
        kinds: list[dict[str, Any]] = [
            {"type": "string"}, {"type": "integer", "minimum": 0, "maximum": 100},
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}, {"type": "boolean"},
            {"enum": ["low", "mid", "high"]}, {"type": "string", "format": "date"},
            {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"}, {"type": ["string", "null"]},
            {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            {"type": "string", "format": "email"},
        ]  # fmt: skip
        return {f"{prefix}{n}": kind for n, kind in enumerate(kinds)}

    def obj(props: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": props,
            "required": sorted(props),
            "additionalProperties": False,
        }

    inner = obj(fields("item_"))
    return obj(
        {**fields("top_"), "detail": obj(fields("detail_")), "items": {"type": "array", "items": inner}}
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    text_format = {"format": {"type": "json_schema", "name": "Report", "schema": schema(), "strict": True}}
    structured = orjson.dumps({**REQUEST, "text": text_format}).decode().split(MARKER)
    ratios = []
    with server("emulator") as url:
        print(f"{'round':<7}{'plain req/s':>14}{'structured req/s':>18}{'ratio':>8}")
        for n in range(1, args.rounds + 1):
            plain = load_wrk(url, args.seconds, args.connections, (VARIED_PREFIX, VARIED_SUFFIX))["rps"]
            shaped = load_wrk(url, args.seconds, args.connections, (structured[0], structured[1]))["rps"]
            ratios.append(shaped / plain)
            print(f"{n:<7}{plain:>14.0f}{shaped:>18.0f}{ratios[-1]:>8.2f}")
    print(f"structured / plain, median of {args.rounds} rounds: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
