"""A real ``kastell serve`` on a loopback port with two users, shared by the DAV tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.process.harness import RunningServer, kastell

ALICE = ("alice@dav.test", "alice-pass-1")
BOB = ("bob@dav.test", "bob-pass-12")
ROOM = "room1@dav.test"


@dataclass
class Dav:
    url: str  # http://127.0.0.1:P
    server: RunningServer
    data: Path

    def home(self, space: str, user: tuple[str, str] = ALICE) -> str:
        return f"{self.url}/dav/{space}/{user[0]}/"


@pytest.fixture(scope="session")
def dav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dav]:
    base: Path = tmp_path_factory.mktemp("dav")
    data = base / "data"
    for args in (
        ("init", "--no-demo"),
        ("domain", "add", "dav.test"),
        ("user", "add", ALICE[0], "--password", ALICE[1], "--name", "Alice Example"),
        ("user", "add", BOB[0], "--password", BOB[1], "--name", "Bob Example"),
        ("user", "add", ROOM, "--kind", "room", "--name", "Room One"),
        ("group", "add", "team@dav.test", "--name", "The Team"),
        ("group", "add-member", "team@dav.test", ALICE[0]),
        ("group", "add-member", "team@dav.test", BOB[0]),
    ):
        result = kastell(data, *args)
        assert result.returncode == 0, result.stderr
    server = RunningServer(data, services=("http",))
    try:
        server.wait_ready()
        yield Dav(f"http://127.0.0.1:{server.ports['http']}", server, data)
    finally:
        server.stop()
