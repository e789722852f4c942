"""Real peers the tests start themselves: a private PostgreSQL cluster on loopback.

CI installs the peers (.ci/run) and sets ``KASTELL_REQUIRE_PEERS=1``, so a
missing peer fails there instead of quietly skipping; on a developer machine
without PostgreSQL the PostgreSQL variants are skipped with the reason shown.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing(reason: str) -> None:
    if os.environ.get("KASTELL_REQUIRE_PEERS"):
        pytest.fail(f"required peer missing: {reason}")
    pytest.skip(reason)


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the packaged postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PostgresCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kastell-pg-"))
        self.port = _free_port()
        self.data = self.root / "data"
        self._counter = 0

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
            check=True, capture_output=True,
        )
        subprocess.run(
            _as_postgres([
                str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start",
                "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off",
            ]),
            check=True, capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        self._counter += 1
        name = f"t{os.getpid()}_{self._counter}_{int(time.time() * 1000) % 100000}"
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
            check=True, capture_output=True,
        )
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists():
        _missing("PostgreSQL 15 server is not installed (apt-get install postgresql)")
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        _missing("asyncpg is not installed (pip install '.[test]')")
    cluster = PostgresCluster()
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        cluster.stop()
        _missing(f"cannot start PostgreSQL: {exc.stderr.decode(errors='replace')[-300:]}")
    yield cluster
    cluster.stop()
