"""Memory stays flat: 200,000 creates against an emulator whose stores are capped at 1,000.

Every store is exercised: responses (`--max-stored`), the journal (`--journal`), conversations
(`--max-conversations`, a new one every 4th request), the response cache (`--cache-size`, a new
key every 3rd request) and background responses (every 10th, instant: they settle as they go).
The app runs in this process, driven through ASGI (no sockets, so only the emulator's own memory
moves); RSS is read from /proc every 20,000 creates. After warm-up (the first 20,000, which fill
the stores), RSS must stay within 10 % of its figure then.

    python bench/memory.py [--creates 200000] [--every 20000] [--cap 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from emulator.app import create_app  # noqa: E402
from emulator.config import DEV_API_KEY, Config  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def body(n: int) -> bytes:
    request: dict[str, object] = {"model": "openai/gpt-4o", "input": f"Question number {n}, please."}
    if n % 4 == 0:
        request["conversation"] = {"id": f"conversation-{n}"}
    if n % 3 == 0:
        request["cache"] = {"type": "exact_match"}
    if n % 10 == 0:
        request["background"] = True
    return orjson.dumps(request)


async def run(creates: int, every: int, cap: int) -> list[tuple[int, float]]:
    app = create_app(Config(frozen_time=1_767_225_600.0, max_stored=cap, journal=cap, max_conversations=cap,
                            cache_size=cap))  # fmt: skip
    headers = [(b"authorization", f"Bearer {DEV_API_KEY}".encode()), (b"content-type", b"application/json")]
    statuses: list[int] = []

    async def one(n: int) -> None:
        content = body(n)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/v3/router/responses", "raw_path": b"/v3/router/responses",
            "query_string": b"", "root_path": "",
            "headers": [*headers, (b"content-length", str(len(content)).encode())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
        }  # fmt: skip
        sent = False

        async def receive() -> dict[str, object]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": content, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(int(message["status"]))  # type: ignore[call-overload]

        await app(scope, receive, send)

    readings = []
    for n in range(1, creates + 1):
        await one(n)
        if n % every == 0:
            gc.collect()
            readings.append((n, rss_mb()))
    assert set(statuses) == {200}, set(statuses)
    world = app.service.worlds.default
    sizes = (len(world.store), len(app.journal), len(world.conversations), len(world.cache))
    assert all(size <= cap for size in sizes), sizes
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creates", type=int, default=200_000)
    parser.add_argument("--every", type=int, default=20_000)
    parser.add_argument("--cap", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    readings = asyncio.run(run(args.creates, args.every, args.cap))
    elapsed = time.perf_counter() - started
    base = readings[0][1]
    print(
        f"{args.creates} creates in {elapsed:.0f}s, every store capped at {args.cap}; "
        f"RSS (MiB) every {args.every}:"
    )
    for n, mb in readings:
        print(f"{n:>9} {mb:8.1f}  {mb / base - 1:+6.1%}")
    drift = max(abs(mb / base - 1) for _, mb in readings[1:])
    print(f"largest change after warm-up: {drift:+.1%} (target: within 10 %)")


if __name__ == "__main__":
    main()
