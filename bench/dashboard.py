"""Does the dashboard keep up? Ten open pages, each following the journal's live feed, while a
client sends 200 create requests a second.

    python bench/dashboard.py [--pages 10] [--rate 200] [--seconds 10]

The emulator runs under uvicorn in a subprocess (as `serve` runs it, with the throughput bench's
settings: instant timing, a frozen clock); the pages and the load run
in this process on one event loop: each page is a streaming GET of /_emulator/requests/feed, the
load a paced sequence of creates (each a distinct question). Every page must see every request;
the figures are the rate achieved, and, per entry, the time from its create's answer to each page
receiving it (p50, p99, max; negative when the page saw it first: an entry is recorded as its
answer starts out). The baseline in the same run: the same load with no page open.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.apps import HEADERS
from bench.throughput import server


async def follow(base: str, seen: dict[str, float], ready: asyncio.Event, stop: asyncio.Event) -> None:
    """One page: records when each entry arrives, by its question."""
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("GET", f"{base}/_emulator/requests/feed", headers=HEADERS) as feed,
    ):
        ready.set()
        async for line in feed.aiter_lines():
            if line.startswith("data: "):
                entry = json.loads(line[6:])
                seen[str((entry["body"] or {}).get("input"))] = time.monotonic()
            if stop.is_set():
                return


def question(run: str, n: int) -> str:
    return f"Question number {n} of run {run} of the dashboard bench"


async def load(base: str, run: str, rate: float, seconds: float, answered: dict[int, float]) -> float:
    """Paced creates; returns the rate achieved."""
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30) as client:
        start = time.monotonic()
        total = int(rate * seconds)
        pending = []

        async def one(n: int) -> None:
            body = {"model": "openai/gpt-4o", "input": question(run, n)}
            answer = await client.post("/v3/router/responses", json=body)
            answer.raise_for_status()
            answered[n] = time.monotonic()

        for n in range(total):
            due = start + n / rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            pending.append(asyncio.ensure_future(one(n)))
        await asyncio.gather(*pending)
        return total / (time.monotonic() - start)


async def run(base: str, pages: int, rate: float, seconds: float) -> dict[str, float]:
    seen: list[dict[str, float]] = [{} for _ in range(pages)]
    readies = [asyncio.Event() for _ in range(pages)]
    stop = asyncio.Event()
    followers = [asyncio.ensure_future(follow(base, seen[p], readies[p], stop)) for p in range(pages)]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 10)
    tag = f"{pages}-{time.monotonic_ns()}"
    answered: dict[int, float] = {}
    achieved = await load(base, tag, rate, seconds, answered)
    await asyncio.sleep(1.0)  # the last entries' way to the pages
    stop.set()
    for follower in followers:
        follower.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    lags = sorted(
        (page[question(tag, n)] - done) * 1000 for page in seen for n, done in answered.items()
        if question(tag, n) in page
    )  # fmt: skip
    return {
        "rate": achieved,
        "delivered": len(lags) / max(1, pages * len(answered)),
        "p50": statistics.median(lags) if lags else 0.0,
        "p99": lags[max(0, int(len(lags) * 0.99) - 1)] if lags else 0.0,
        "max": lags[-1] if lags else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with server("emulator") as base:  # the emulator as `serve` runs it (bench/throughput.py)
        baseline = asyncio.run(run(base, 0, args.rate, args.seconds))
        watched = asyncio.run(run(base, args.pages, args.rate, args.seconds))
    print(f"no page open: {baseline['rate']:.0f} req/s achieved (asked {args.rate:.0f})")
    print(
        f"{args.pages} pages open: {watched['rate']:.0f} req/s achieved; every page saw "
        f"{watched['delivered'] * 100:.1f} % of the requests; time from the client's answer to the page "
        "(negative: the page saw it first) "
        f"p50 {watched['p50']:.1f} ms, p99 {watched['p99']:.1f} ms, max {watched['max']:.1f} ms"
    )
    print(f"rate with pages / without: {watched['rate'] / baseline['rate']:.3f}")


if __name__ == "__main__":
    main()
