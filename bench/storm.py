"""A disconnect storm: waves of concurrent paced streams, a share of whose clients leave mid-stream,
and what the server holds before and after (memory, file descriptors, asyncio tasks, streams).

The emulator runs in this process (real uvicorn, real clock, in a thread), so its tasks can be
counted; the clients run in a child process, so their sockets and memory are not counted with
the server's. After each wave, once every connection has closed, it prints the server's RSS,
open fds, live tasks and open streams: a leak shows as a figure that grows wave after wave once
the stores are full (the response store holds --max-stored, 1,000 by default: one wave's worth;
the journal 1,000 requests).

    python bench/storm.py [--streams 1000] [--abort 0.3] [--waves 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.apps import raw_stream_request  # noqa: E402

TIMING = "realistic,ttft_ms=150"  # about a second per stream


async def client_wave(url: str, streams: int, abort: float, seed: int) -> dict[str, int]:
    """`streams` concurrent streams; a share `abort` of them closes after a random part of it."""
    parts = urlsplit(url)
    rng = random.Random(seed)
    outcome = {"finished": 0, "aborted": 0, "refused": 0}

    async def one(n: int) -> None:
        raw = raw_stream_request(f"#{seed}-{n}", TIMING, str(parts.hostname))
        leave_after = rng.randint(200, 6000) if rng.random() < abort else None
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writer.write(raw)
        received = b""
        while chunk := await reader.read(4096):
            received += chunk
            if leave_after is not None and len(received) >= leave_after:
                break
        writer.close()
        if not received.startswith(b"HTTP/1.1 200"):
            outcome["refused"] += 1
        elif leave_after is not None and b"response.completed" not in received:
            outcome["aborted"] += 1
        else:
            outcome["finished"] += 1

    await asyncio.gather(*(one(n) for n in range(streams)))
    return outcome


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--abort", type=float, default=0.3)
    parser.add_argument("--waves", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-stored", type=int, default=1000, help="the store fills in the first wave")
    parser.add_argument(
        "--trace", action="store_true", help="also print the Python heap (tracemalloc), to tell a leak "
        "from the allocator keeping freed memory; slower",
    )  # fmt: skip
    parser.add_argument("--client", help=argparse.SUPPRESS)  # URL: run one wave as the child process
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(client_wave(args.client, args.streams, args.abort, args.seed))))
        return

    if args.trace:
        tracemalloc.start()
    from emulator.app import connection_limits, create_app
    from emulator.config import Config
    from emulator.testing.server import EmulatorServer

    room = args.streams + 100
    config = Config(log_level="warning", max_connections=room, max_streams=room, max_stored=args.max_stored)
    app = create_app(config)
    server = EmulatorServer(app, limits=connection_limits(config)).start()

    def heap() -> str:
        return f"   Python heap {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MB" if args.trace else ""

    def measure() -> tuple[float, int, int, int]:
        deadline = time.monotonic() + 30
        while server.server.server_state.connections and time.monotonic() < deadline:
            time.sleep(0.05)

        async def tasks() -> int:
            return len(asyncio.all_tasks())

        return rss_mb(), len(os.listdir("/proc/self/fd")), server.call(tasks()), app.responses.streams

    print(f"{args.waves} waves of {args.streams} concurrent paced streams ({TIMING}), "
          f"{args.abort:.0%} of clients leaving mid-stream")  # fmt: skip
    columns = ("finished", 9), ("aborted", 9), ("refused", 9), ("RSS MB", 9), ("fds", 6), ("tasks", 7)
    print(f"{'':<10}" + "".join(f"{name:>{width}}" for name, width in columns) + f"{'streams':>9}")
    rss, fds, tasks, streams = measure()
    print(f"{'before':<10}{'':>27}{rss:>9.1f}{fds:>6}{tasks:>7}{streams:>9}{heap()}")
    for wave in range(args.waves):
        started = time.monotonic()
        child = subprocess.run(
            [sys.executable, __file__, "--client", server.url, "--streams", str(args.streams),
             "--abort", str(args.abort), "--seed", str(args.seed + wave)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        outcome = json.loads(child.stdout)
        rss, fds, tasks, streams = measure()
        label = f"wave {wave + 1}"
        print(f"{label:<10}{outcome['finished']:>9}{outcome['aborted']:>9}{outcome['refused']:>9}"
              f"{rss:>9.1f}{fds:>6}{tasks:>7}{streams:>9}"
              f"   ({time.monotonic() - started:.1f} s){heap()}")  # fmt: skip
    stored = [json.loads(app.store.get(i).body)["status"] for i in app.store.ids()]
    print("stored responses by status:", {s: stored.count(s) for s in sorted(set(stored))})
    server.stop()


if __name__ == "__main__":
    main()
