"""The tests' everyday fixtures, built on the plugin's own (emulator.pytest_plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from orq_ai_sdk import Orq

from emulator.testing import InProcessEmulator, ServedEmulator
from tests.support import make_config


@pytest.fixture
def client(responses_emulator: InProcessEmulator) -> httpx.Client:
    """An httpx client of the in-process emulator (no socket): frozen clock, seed 0, dev key sent."""
    return responses_emulator.httpx_client()


@pytest.fixture(scope="module")
def live() -> Iterator[ServedEmulator]:
    """One real uvicorn server per test module."""
    with ServedEmulator.running(make_config()) as server:
        yield server


@pytest.fixture
def orq(live: ServedEmulator) -> Orq:
    """The orq SDK, pointed at this module's live server."""
    return live.orq_client()


@pytest.fixture
def oai(live: ServedEmulator) -> openai.OpenAI:
    """The OpenAI SDK, pointed at this module's live server's /v3/router, without retries."""
    return live.openai_client()
