from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from orq_ai_sdk import Orq
from starlette.testclient import TestClient

from emulator.app import create_app
from emulator.config import DEV_API_KEY
from tests.support import AUTH, LiveServer, make_config


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The emulator in-process (no socket), frozen clock, seed 0, dev key sent."""
    with TestClient(create_app(make_config()), headers=AUTH, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    """One real uvicorn server per test module."""
    with LiveServer(make_config()) as server:
        yield server


@pytest.fixture
def orq(live: LiveServer) -> Orq:
    """The orq SDK, pointed at this module's live server."""
    return Orq(api_key=DEV_API_KEY, server_url=live.url)


@pytest.fixture
def oai(live: LiveServer) -> openai.OpenAI:
    """The OpenAI SDK, pointed at this module's live server's /v3/router, without retries."""
    return openai.OpenAI(api_key=DEV_API_KEY, base_url=f"{live.url}/v3/router", max_retries=0)
