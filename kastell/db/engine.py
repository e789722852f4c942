"""Database engines: one writer and a pool of readers.

SQLite allows one writer at a time. Rather than let several connections race
for the write lock (and fail with SQLITE_BUSY when a deferred transaction tries
to upgrade), every write transaction goes through a single connection that
starts with ``BEGIN IMMEDIATE``; asyncio callers queue for it in the pool. Reads
use other connections, each a consistent WAL snapshot. Other processes (the CLI
while the server runs) wait for the lock up to ``busy_timeout``.

PostgreSQL needs none of this: both roles share one pooled engine and row locks
(``UPDATE … RETURNING`` on the change clock) serialise what must be serial.

Durability: ``synchronous=FULL`` in WAL mode makes every commit survive power
loss; the operator may choose NORMAL (see docs/operations.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool


class Database:
    """The engines for one database URL. ``write()`` and ``read()`` open transactions."""

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "full",
        busy_timeout_ms: int = 15000,
        read_pool_size: int = 4,
    ) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        if self.dialect == "sqlite":
            self.writer = self._sqlite_engine(url, synchronous, busy_timeout_ms, "BEGIN IMMEDIATE", 1)
            self.reader = self._sqlite_engine(url, synchronous, busy_timeout_ms, "BEGIN", read_pool_size)
        else:
            self.writer = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
            self.reader = self.writer

    @staticmethod
    def _sqlite_engine(url: str, synchronous: str, busy_timeout_ms: int, begin: str, size: int) -> AsyncEngine:
        engine = create_async_engine(url, poolclass=AsyncAdaptedQueuePool, pool_size=size, max_overflow=0)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module: we emit BEGIN ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA temp_store = MEMORY")
            cursor.execute("PRAGMA cache_size = -16000")  # 16 MB per connection
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql(begin)

        return engine

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on an exception."""
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only snapshot."""
        async with self.reader.connect() as conn, conn.begin():
            yield conn

    async def ping(self) -> None:
        """One trivial query: raises when the database does not answer."""
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
