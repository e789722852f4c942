"""Shared fixtures: a real database in a temporary directory, nothing mocked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


from tests.peers import postgres  # noqa: E402,F401  (the fixture)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store contract runs on every database backend."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'kastell.db'}"
    cluster = request.getfixturevalue("postgres")
    return str(cluster.new_database())
