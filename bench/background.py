"""1,000 concurrent background responses: do their state changes happen on time?

Creates N background responses (`background: true`, each queued 3 s, then 0.5 s to its first
token and 20 tokens a second: a few seconds each), then follows every one with `GET ?stream=true`
(raw sockets, all N open together), timestamping each `response.in_progress` (due 3 s after its
create) and `response.completed` (due after the queue, the time to first token and one gap per
delta) as it arrives. A response's clock starts between its create's sending and its answer, so
its lateness (arrival minus due time) lies between the two figures reported for each: p50, p99
and max, for both state changes.

The server runs under uvicorn (uvloop + httptools, the emulator's bounded protocol) on CPU 0 with
the real clock; the load on CPU 1.

    python bench/background.py [--responses 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.apps import HEADERS, PATH  # noqa: E402
from bench.throughput import LOAD_CPU, PIN, server  # noqa: E402

QUEUE, TTFT, GAP = 3.0, 0.5, 0.05
TIMING = f"queue_ms={QUEUE * 1000:g},ttft_ms={TTFT * 1000:g},tokens_per_second={1 / GAP:g},jitter=0"
IN_PROGRESS = b"event: response.in_progress\n"
COMPLETED = b"event: response.completed\n"
DELTA = b"event: response.output_text.delta\n"


async def follow(host: str, port: int, response_id: str) -> tuple[float, float, float, int]:
    """Arrival times of the stream's first bytes, of in_progress and of completed, and the number of
    deltas, of one response."""
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        f"GET {PATH}/{response_id}?stream=true HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: {HEADERS['Authorization']}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    first = in_progress = completed = 0.0
    deltas = 0
    tail = b""
    while chunk := await reader.read(65536):
        now = time.perf_counter()
        first = first or now
        seen = tail + chunk
        if not in_progress and IN_PROGRESS in seen:
            in_progress = now
        deltas += chunk.count(DELTA)
        if COMPLETED in seen:
            completed = now
        tail = chunk[-64:]
    writer.close()
    return first, in_progress, completed, deltas


async def run(url: str, n: int) -> None:
    parts = urlsplit(url)
    headers = {**HEADERS, "x-emulator-timing": TIMING, "x-emulator-shape": "plain"}
    # Creates in flight; `sent` is taken once one may go. (httpx's pool slows down sharply past a
    # few dozen connections: with 8 the creates take a fraction of a second.)
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=httpx.Limits(max_connections=8)
    ) as client:

        async def create(k: int) -> tuple[str, float, float]:
            body = {"model": "openai/gpt-4o", "input": f"Background #{k}", "background": True}
            async with gate:
                sent = time.perf_counter()
                created = await client.post(PATH, json=body)
                answered = time.perf_counter()
            assert created.json()["status"] == "queued", created.text
            return created.json()["id"], sent, answered

        started = time.perf_counter()
        made = await asyncio.gather(*(create(k) for k in range(n)))
        created_in = time.perf_counter() - started
    following = time.perf_counter()
    followed = await asyncio.gather(*(follow(parts.hostname, parts.port, rid) for rid, _, _ in made))
    ready = max(f for f, _, _, _ in followed) - following
    print(f"{n} background responses created in {created_in:.2f}s (each queued {QUEUE:g}s, then {TTFT:g}s to "
          f"its first token, a token every {GAP * 1000:g} ms), then all followed at once; every follower "
          f"had its first bytes {ready:.2f}s after they began")  # fmt: skip
    assert all(p and c for _, p, c, _ in followed), "a follower missed a state change"
    for name, state in (("in_progress", 1), ("completed", 2)):
        low, high = [], []  # lateness from the create's answer, and from its sending
        for (_, sent, answered), follower in zip(made, followed, strict=True):
            first, at, deltas = follower[0], follower[state], follower[3]
            offset = QUEUE if state == 1 else QUEUE + TTFT + (deltas - 1) * GAP
            if sent + offset < first:  # due before its follower was there: not a live state change
                continue
            low.append((at - (answered + offset)) * 1000)
            high.append((at - (sent + offset)) * 1000)
        lo, hi = statistics.quantiles(low, n=100), statistics.quantiles(high, n=100)
        print(f"{name:>12} lateness ({len(low)} live): p50 {lo[49]:.1f}..{hi[49]:.1f} ms, "
              f"p99 {lo[98]:.1f}..{hi[98]:.1f} ms, max {max(low):.1f}..{max(high):.1f} ms")  # fmt: skip
    trip = statistics.quantiles([(a - s) * 1000 for _, s, a in made], n=100)
    print(f"(each range: from the create's answer .. from its sending; the create round trip: "
          f"p50 {trip[49]:.1f} ms, p99 {trip[98]:.1f} ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--responses", type=int, default=1000)
    args = parser.parse_args()
    if PIN:
        os.sched_setaffinity(0, {int(LOAD_CPU)})
    with server("emulator_background") as url:
        asyncio.run(run(url, args.responses))


if __name__ == "__main__":
    main()
