"""Fixture overhead: what a fresh in-process emulator per test costs, measured through pytest.

Two generated test files of N tests each, run by pytest in a subprocess:
1. bare: each test builds a bare Starlette app answering the create route with a fixed JSON
   body, opens Starlette's TestClient on it (the same in-process portal the fixture uses) and
   makes one request;
2. emulator: each test takes the `responses_emulator` fixture (a new app, its portal, its
   journal) and makes the same request through `httpx_client()`.
Runs alternate over rounds; the per-test overhead is (emulator - bare) / N from each round's
pair, median reported. Target: under 5 ms per test.

    python bench/fixture_overhead.py [--tests 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BODY = '{"model": "openai/gpt-4o", "input": "Say hi"}'
JSON = {"content-type": "application/json"}

BARE = f"""
import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

ANSWER = b'{{"id": "resp_1", "object": "response", "status": "completed", "output": []}}'

async def create(request):
    await request.body()
    return Response(ANSWER, media_type="application/json")

@pytest.fixture
def bare():
    with TestClient(Starlette(routes=[Route("/v3/router/responses", create, methods=["POST"])])) as client:
        yield client

@pytest.mark.parametrize("n", range({{tests}}))
def test_one_request(bare, n):
    answer = bare.post("/v3/router/responses", content={BODY!r}, headers={JSON!r})
    assert answer.status_code == 200
"""

EMULATOR = f"""
import pytest

@pytest.mark.parametrize("n", range({{tests}}))
def test_one_request(responses_emulator, n):
    with responses_emulator.httpx_client() as http:
        answer = http.post("/v3/router/responses", content={BODY!r}, headers={JSON!r})
    assert answer.status_code == 200
"""


def run(path: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{path.name} failed:\n{done.stdout[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bare, emulator = Path(folder, "test_bare.py"), Path(folder, "test_emulator.py")
        bare.write_text(textwrap.dedent(BARE.replace("{tests}", str(args.tests))))
        emulator.write_text(textwrap.dedent(EMULATOR.replace("{tests}", str(args.tests))))
        run(bare), run(emulator)  # warm the file system and bytecode caches
        print(f"{args.tests} tests per run, pytest in a subprocess, {args.rounds} alternating rounds")
        print(f"{'round':<7}{'bare s':>9}{'emulator s':>12}{'bare ms/test':>14}{'overhead ms/test':>18}")
        overheads = []
        for n in range(1, args.rounds + 1):
            bare_s, emulator_s = run(bare), run(emulator)
            overhead = (emulator_s - bare_s) / args.tests * 1000
            overheads.append(overhead)
            print(
                f"{n:<7}{bare_s:>9.2f}{emulator_s:>12.2f}{bare_s / args.tests * 1000:>14.2f}{overhead:>18.2f}"
            )
    median = statistics.median(overheads)
    verdict = "meets" if median < 5 else "misses"
    print(f"median overhead {median:.2f} ms per test on top of the bare app ({verdict} the 5 ms target)")


if __name__ == "__main__":
    main()
