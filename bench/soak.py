"""A soak: a million non-stream creates against the emulator with its default caps (10,000 stored
responses, 1,000 journal entries), printing the server's RSS as it goes. Once the stores are full
(the first 10,000 requests), memory must stay flat: anything kept per request beyond the caps
shows as RSS that keeps climbing.

The server is `bench/apps.py:emulator` under uvicorn in its own process (as bench/throughput.py
runs it), loaded by wrk in segments; each segment's requests are counted from wrk's output and
the server's RSS read from /proc after it.

    python bench/soak.py [--requests 1000000] [--segment 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.throughput import server  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no RSS for process {pid}")


def server_pid(port: str) -> int:
    """The process listening on `port` (the uvicorn child of bench.throughput.server)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True)
    return int(re.search(r"pid=(\d+)", out.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--segment", type=int, default=10, help="seconds of load between readings")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    from bench.throughput import load_wrk

    with server("emulator") as url:
        pid = server_pid(url.rsplit(":", 1)[1])
        print(f"{'requests':>10}{'RSS MB':>9}{'req/s':>9}")
        print(f"{0:>10}{rss_mb(pid):>9.1f}")
        done, started, readings = 0, time.monotonic(), []
        while done < args.requests:
            figures = load_wrk(url, args.segment, args.connections)
            done += int(figures["rps"] * args.segment)
            readings.append(rss_mb(pid))
            print(f"{done:>10}{readings[-1]:>9.1f}{figures['rps']:>9.0f}")
        after_fill = readings[1:] or readings
        print(f"{done} requests in {time.monotonic() - started:.0f} s; RSS after the first segment: "
              f"{min(after_fill):.1f} to {max(after_fill):.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
