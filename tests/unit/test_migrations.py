"""Migrations: a database made by the baseline upgrades to head and matches the schema."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from kastell.db import migrate
from kastell.db import schema as s
from kastell.db.engine import Database

# Made by migration 0002 with database-specific DDL, deliberately not in the metadata.
_NATIVE = ("item_fts", "ix_item_text_trgm", "item_words", "word_terms")


def _declared(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (reflected and name is not None and name.startswith(_NATIVE))


def test_baseline_database_upgrades_to_head_with_data_kept(db_url: str) -> None:
    async def main() -> None:
        db = Database(db_url)
        await migrate.upgrade(db, "0001")
        assert await migrate.current_revision(db) == "0001"
        async with db.write() as conn:
            await conn.execute(insert(s.organisations).values(name="kept", created=1))
        await migrate.upgrade(db)
        assert await migrate.current_revision(db) == migrate.head_revision()
        async with db.read() as conn:
            assert await conn.scalar(select(s.organisations.c.name)) == "kept"

            def diff(sync_conn: Any) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"include_object": _declared})
                return compare_metadata(context, s.metadata)

            assert await conn.run_sync(diff) == []
        # Running the upgrade again is harmless.
        await migrate.upgrade(db)
        await db.close()

    asyncio.run(main())


def test_sqlite_pragmas(tmp_path: Path) -> None:
    async def main() -> None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
        async with db.read() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        await db.close()

    asyncio.run(main())


def test_head_constant_names_the_newest_migration() -> None:
    assert migrate.head_revision() == migrate.HEAD
