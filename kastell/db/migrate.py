"""Schema migrations with Alembic, driven from code.

``upgrade()`` brings any Kastell database to the newest schema; ``kastell serve``
and every CLI command call it on start, so an operator upgrades a data
directory by installing the new version and starting it (docs/operations.md).
Migrations run inside one write transaction, so a failed upgrade leaves the old
schema intact.

A database already at ``HEAD`` is recognised with one query and Alembic is not
even imported (it costs the server about 12 MB of memory). ``HEAD`` must name
the newest revision in ``migrations/versions``; a test checks that it does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kastell.db.engine import Database

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0015"


def alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The newest revision according to the migration scripts themselves."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def current_revision(db: Database) -> str | None:
    try:
        async with db.read() as conn:
            value = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return None  # a new database: no version table yet
    return str(value) if value is not None else None


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` in one write transaction."""
    if revision in ("head", HEAD) and await current_revision(db) == HEAD:
        return

    def _run(sync_connection: Any) -> None:
        from alembic import command

        command.upgrade(alembic_config(sync_connection), revision)

    await _migrate(db, _run)


async def downgrade(db: Database, revision: str) -> None:
    """Undo migrations down to ``revision`` (for developers and tests: no command offers it)."""

    def _run(sync_connection: Any) -> None:
        from alembic import command

        command.downgrade(alembic_config(sync_connection), revision)

    await _migrate(db, _run)


async def _migrate(db: Database, run: Any) -> None:
    """Run ``run`` in one write transaction; on SQLite with foreign keys off.

    SQLite cannot alter most of a table, so Alembic's batch mode copies it to a new
    one and drops the old. With foreign keys on, that DROP deletes every row first
    and fires ON DELETE CASCADE: rebuilding ``items`` would empty ``item_text``,
    rebuilding ``mailboxes`` every folder and message. SQLite's own procedure for
    schema changes (lang_altertable.html) turns them off outside the transaction
    and runs ``PRAGMA foreign_key_check`` before committing; so do we.
    """
    if db.dialect != "sqlite":
        async with db.write() as conn:
            await conn.run_sync(run)
        return

    def pragma(sync_connection: Any, statement: str) -> None:
        # On the DBAPI connection, outside any transaction (inside one it is a no-op).
        cursor = sync_connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()

    async with db.writer.connect() as conn:
        await conn.run_sync(pragma, "PRAGMA foreign_keys = OFF")
        try:
            async with conn.begin():
                await conn.run_sync(run)
                broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} rows with dangling foreign keys: {broken[:5]}")
        finally:
            await conn.run_sync(pragma, "PRAGMA foreign_keys = ON")
