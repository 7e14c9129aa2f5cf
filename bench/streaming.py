"""Streaming: throughput with zero delays, and pacing accuracy under concurrency.

1. Throughput: wrk POSTs stream:true requests (each a distinct question) with no pacing, so every
   request is one whole stream; streams/s and events/s for the emulator, against a bare Starlette
   app sending the same event-stream bytes pre-rendered in one piece (the floor), interleaved
   over rounds, median ratio reported.
2. Pacing accuracy: N concurrent streams paced at one delta every 20 ms (header
   `x-emulator-timing: tokens_per_second=50,jitter=0`). A raw asyncio socket reader timestamps
   each delta frame as it arrives; the error is |actual gap - 20 ms| between consecutive deltas of
   a stream. Reports p50/p99 (target: p99 under 5 ms at 100 streams).

Servers run under uvicorn (uvloop + httptools) pinned to CPU 0, load on CPU 1 when there are two
cores.

    python bench/streaming.py [--seconds 6] [--rounds 3] [--streams 100]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.apps import STREAM_PREFIX, STREAM_SUFFIX, raw_stream_request, sample_stream  # noqa: E402
from bench.throughput import LOAD_CPU, PIN, load_wrk, server  # noqa: E402
from emulator.testing.streams import read_sse  # noqa: E402

SPACING = 0.020  # seconds between deltas in the accuracy run
DELTA = b"event: response.output_text.delta\n"


def throughput(seconds: int, rounds: int, connections: int) -> None:
    events_per_stream = len(read_sse(sample_stream()).events)
    template = (STREAM_PREFIX, STREAM_SUFFIX)
    print(f"throughput: wrk, {connections} connections, {seconds}s per app per round, "
          f"{events_per_stream} events per stream")  # fmt: skip
    print(f"{'round':<7}{'bare streams/s':>16}{'emulator streams/s':>20}{'events/s':>10}{'ratio':>8}")
    ratios = []
    with server("bare_stream") as bare_url, server("emulator") as emulator_url:
        for url in (bare_url, emulator_url):
            load_wrk(url, 2, connections, template)
        for n in range(1, rounds + 1):
            bare = load_wrk(bare_url, seconds, connections, template)["rps"]
            emulator = load_wrk(emulator_url, seconds, connections, template)["rps"]
            ratios.append(emulator / bare)
            print(
                f"{n:<7}{bare:>16.0f}{emulator:>20.0f}{emulator * events_per_stream:>10.0f}{ratios[-1]:>8.2f}"
            )
    print(f"emulator / bare streams per second, median of {rounds} rounds: {statistics.median(ratios):.2f}x")


async def one_stream(host: str, port: int, n: int, arrivals: list[list[float]]) -> None:
    raw = raw_stream_request(f"#{n}", f"tokens_per_second={1 / SPACING:g},jitter=0", f"{host}:{port}")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(raw)
    times: list[float] = []
    while chunk := await reader.read(65536):
        now = time.perf_counter()
        times.extend([now] * chunk.count(DELTA))
    writer.close()
    arrivals.append(times)


def accuracy(url: str, streams: int) -> None:
    parts = urlsplit(url)
    arrivals: list[list[float]] = []

    async def run() -> None:
        await asyncio.gather(*(one_stream(parts.hostname, parts.port, n, arrivals) for n in range(streams)))

    if PIN:
        os.sched_setaffinity(0, {int(LOAD_CPU)})
    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    errors = [abs((b - a) - SPACING) * 1000 for times in arrivals for a, b in itertools.pairwise(times)]
    cuts = statistics.quantiles(errors, n=100)
    deltas = sum(len(t) for t in arrivals)
    print(f"pacing: {streams} concurrent streams, a delta every {SPACING * 1000:.0f} ms, "
          f"{deltas} deltas in {elapsed:.1f}s")  # fmt: skip
    print(f"|actual - scheduled| gap: p50 {cuts[49]:.2f} ms, p99 {cuts[98]:.2f} ms, max {max(errors):.2f} ms "
          f"(target p99 < 5 ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=6, help="wrk load per app per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--streams", type=int, default=100, help="concurrent paced streams")
    args = parser.parse_args()
    throughput(args.seconds, args.rounds, args.connections)
    with server("emulator_real_clock") as url:
        accuracy(url, args.streams)


if __name__ == "__main__":
    main()
