"""Throughput and latency of a non-stream create: the emulator against a bare Starlette app.

Every request carries a distinct question (a counter), so the emulator generates every reply.
On a machine with two or more cores the server is pinned to CPU 0 and the load generator to
CPU 1 (the same for both apps), so neither migrates and the figures repeat.
Each app runs alone under uvicorn (uvloop + httptools, the emulator with its own bounded protocol
as `serve` runs it, one worker, no access log) in its own
process, loaded by the same client: wrk when installed (apt-get install wrk), else a Python
client. Prints requests/s and p50/p99 latency for each, and the ratio emulator / bare.

    python bench/throughput.py [--seconds 10] [--connections 8] [--client wrk|python]
    python bench/throughput.py --against ../before   # A/B: another checkout's emulator, same rounds
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.apps import HEADERS, MARKER, PATH, REQUEST_BYTES, VARIED_PREFIX, VARIED_SUFFIX, varied  # noqa: E402

PIN = os.cpu_count() and os.cpu_count() >= 2 and hasattr(os, "sched_setaffinity") and shutil.which("taskset")
SERVER_CPU, LOAD_CPU = "0", "1"


def pinned(cpu: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *command] if PIN else command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(factory: str, root: Path = ROOT) -> Iterator[str]:
    """`factory` of bench/apps.py under uvicorn, imported from the checkout at `root`."""
    port = free_port()
    # The emulator's own HTTP protocol (timeouts, caps), as `serve` runs it, in builds that have one
    bounded = factory.startswith("emulator") and (root / "emulator" / "http" / "connections.py").exists()
    http = "emulator.http.connections:BoundedHttpProtocol" if bounded else "httptools"
    proc = subprocess.Popen(
        pinned(SERVER_CPU, [sys.executable, "-m", "uvicorn", f"bench.apps:{factory}", "--factory",
                            "--port", str(port), "--loop", "uvloop", "--http", http,
                            "--no-access-log", "--log-level", "warning"]),
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url + PATH, content=REQUEST_BYTES, headers=HEADERS).raise_for_status()
                break
            except (httpx.HTTPError, OSError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{factory} did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def load_wrk(
    url: str, seconds: int, connections: int, template: tuple[str, str] = (VARIED_PREFIX, VARIED_SUFFIX)
) -> dict[str, float]:
    """wrk's figures for POSTs of the request `template` (prefix, suffix) with a counter between."""
    script = "".join(f"wrk.headers['{k}'] = '{v}'\n" for k, v in HEADERS.items())
    script += f"""
local n = 0
local prefix = [[{template[0]}{MARKER} #]]
local suffix = [[{template[1]}]]
request = function()
  n = n + 1
  return wrk.format("POST", nil, nil, prefix .. n .. suffix)
end
"""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            pinned(LOAD_CPU, ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
                              "-s", f.name, url + PATH]),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(f.name)
    if re.search(r"Non-2xx or 3xx responses", out):
        raise RuntimeError(f"wrk saw errors:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
    }


def load_python(url: str, seconds: int, connections: int) -> dict[str, float]:
    async def run() -> list[float]:
        latencies: list[float] = []
        stop = time.perf_counter() + seconds
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=limits) as client:

            async def worker() -> None:
                while time.perf_counter() < stop:
                    start = time.perf_counter()
                    (await client.post(PATH, content=varied(len(latencies)))).raise_for_status()
                    latencies.append((time.perf_counter() - start) * 1000)

            await asyncio.gather(*(worker() for _ in range(connections)))
        return latencies

    if PIN:
        os.sched_setaffinity(0, {int(LOAD_CPU)})
    latencies = asyncio.run(run())
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / seconds, "p50": cuts[49], "p99": cuts[98]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=8, help="load per app per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved bare/emulator rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python"
    )
    parser.add_argument(
        "--against", type=Path, metavar="CHECKOUT",
        help="another checkout (an earlier build): its emulator is loaded in the same rounds",
    )  # fmt: skip
    args = parser.parse_args()
    load = load_wrk if args.client == "wrk" else load_python
    where = f"servers on CPU {SERVER_CPU}, load on CPU {LOAD_CPU}" if PIN else "unpinned"
    print(
        f"client: {args.client}, {args.connections} connections, {args.seconds}s per app per round, {where}"
    )
    builds = {"emulator": ROOT} | ({"against": args.against.resolve()} if args.against else {})
    latency = f"{'p50':>7}{'p99':>7}"
    print(f"{'round':<7}{'app':<10}{'req/s':>10}{latency}{'/ bare':>8}")
    ratios: dict[str, list[float]] = {name: [] for name in builds}
    # Every server stays up (an idle one costs nothing); loading them in turn, round after round,
    # spreads the machine's drift over all of them instead of favouring whichever ran in a quiet moment.
    with contextlib.ExitStack() as servers:
        urls = {"bare": servers.enter_context(server("bare"))}
        urls |= {name: servers.enter_context(server("emulator", root)) for name, root in builds.items()}
        for url in urls.values():
            load(url, 2, args.connections)  # warm-up
        for n in range(1, args.rounds + 1):
            bare = load(urls["bare"], args.seconds, args.connections)
            print(f"{n:<7}{'bare':<10}{bare['rps']:>10.0f}{bare['p50']:>7.2f}{bare['p99']:>7.2f}")
            for name in builds:
                figures = load(urls[name], args.seconds, args.connections)
                ratios[name].append(figures["rps"] / bare["rps"])
                print(
                    f"{'':<7}{name:<10}{figures['rps']:>10.0f}{figures['p50']:>7.2f}{figures['p99']:>7.2f}"
                    f"{ratios[name][-1]:>8.2f}"
                )
    for name, root in builds.items():
        median = statistics.median(ratios[name])
        print(f"{name} ({root}) / bare throughput, median of {args.rounds} rounds: {median:.2f}x")
    if args.against:
        change = statistics.median(ratios["emulator"]) / statistics.median(ratios["against"]) - 1
        print(f"this build against {args.against}: {change:+.1%}")


if __name__ == "__main__":
    main()
