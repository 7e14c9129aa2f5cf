from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from emulator.app import create_app
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
