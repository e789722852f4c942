"""The running server the API tests share (one per test module)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.serverhelp import AdminServer, start


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    running = start(tmp_path_factory.mktemp("api"), services=("http", "https"))
    try:
        yield running
    finally:
        code, _ = running.server.stop()
        assert code == 0, running.server.log.read_text()[-4000:]
