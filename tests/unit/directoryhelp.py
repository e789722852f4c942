"""Fixtures shared by the directory tests; no tests here.

Each test gets a real SQLite database in its own ``tmp_path``, migrated with
``kastell.db.migrate`` (once per session, then copied: a copy is much faster
than running Alembic per test), the real ``MailStore.provision`` as the
account hook, and cheap argon2 parameters. Async tests run on the anyio
pytest plugin (anyio comes with Starlette), on asyncio.

A test module imports the ``*_fixture`` functions it needs; the fixtures are
named without the suffix (``env``, ``directory``, ``migrated_template``). ``env`` runs
each test on SQLite and on a private PostgreSQL cluster (tests/peers.py).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kastell.blobs.filesystem import FilesystemBlobStore
from kastell.db import migrate
from kastell.db.engine import Database
from kastell.directory.passwords import Passwords
from kastell.directory.service import Directory
from kastell.events import ChangeBus
from kastell.store.mailstore import MailStore


def fast_passwords() -> Passwords:
    """argon2id with the cheapest sane parameters: ~1 ms per hash instead of ~100."""
    return Passwords(time_cost=1, memory_cost=8 * 1024, parallelism=1)


@dataclass
class Env:
    db: Database
    directory: Directory
    store: MailStore


@pytest.fixture(scope="session", name="anyio_backend")
def anyio_backend_fixture() -> str:
    return "asyncio"


@pytest.fixture(scope="session", name="migrated_template")
def migrated_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "kastell.db"

    async def make() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate.upgrade(db)
        finally:
            await db.close()  # the last close checkpoints the WAL into the file

    asyncio.run(make())
    return path


def open_env(template: Path, root: Path, **options: object) -> Env:
    """A fresh database copied from the template, with a directory and a mailbox store on it."""
    path = root / "kastell.db"
    shutil.copyfile(template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    store = MailStore(db, FilesystemBlobStore(root / "blobs"), ChangeBus())
    directory = Directory(db, on_account_created=store.provision, passwords=fast_passwords(), **options)  # type: ignore[arg-type]
    return Env(db, directory, store)


@pytest.fixture(name="env", params=["sqlite", "postgresql"])
async def env_fixture(
    request: pytest.FixtureRequest, migrated_template: Path, tmp_path: Path
) -> AsyncIterator[Env]:
    """The directory on every database backend (PostgreSQL: a fresh database per test)."""
    if request.param == "sqlite":
        opened = open_env(migrated_template, tmp_path)
    else:
        url = request.getfixturevalue("postgres").new_database()
        db = Database(url)
        await migrate.upgrade(db)
        store = MailStore(db, FilesystemBlobStore(tmp_path / "blobs"), ChangeBus())
        opened = Env(db, Directory(db, on_account_created=store.provision, passwords=fast_passwords()), store)
    try:
        yield opened
    finally:
        await opened.db.close()


@pytest.fixture(name="directory")
async def directory_fixture(env: Env) -> Directory:
    return env.directory
