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


def test_word_index_migration_goes_down_and_up_again(tmp_path: Path) -> None:
    """SQLite: 0013 down to the trigram index (compressed rows become text again) and back up.

    Going down rebuilds ``items`` and ``mailboxes`` (batch mode): no row may be lost on the way.
    """
    from sqlalchemy import text

    from kastell.store import fulltext
    from kastell.store.model import NewItem

    from .storehelp import make_account, message, open_env

    async def main() -> None:
        env = await open_env(tmp_path)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        item = await box.append(inbox.id, NewItem(message(1, "Quarterly report about unicorns")))
        while await fulltext.index_pending(env.db):
            pass

        await migrate.downgrade(env.db, "0012")
        async with env.db.write() as conn:
            stored = await conn.scalar(text("SELECT text FROM item_text WHERE item_id = :i"), {"i": item.item_id})
            assert isinstance(stored, str) and "unicorns" in stored
            await conn.execute(text("INSERT INTO item_fts(item_fts) VALUES ('rebuild')"))
            hits = await conn.scalars(text("SELECT rowid FROM item_fts WHERE item_fts MATCH '\"unicorn\"'"))
            assert list(hits) == [item.item_id]
        await migrate.upgrade(env.db)
        async with env.db.read() as conn:
            found = await fulltext.search_item_ids(conn, box.org_id, box.id, inbox.id, "UNICORN")
        assert found == {item.item_id}  # pending again after the upgrade, found by the scan
        while await fulltext.index_pending(env.db):
            pass
        async with env.db.read() as conn:
            assert await fulltext.search_item_ids(conn, box.org_id, box.id, inbox.id, "unicorn") == {item.item_id}
        await env.db.close()

    asyncio.run(main())
