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

    async with db.write() as conn:
        await conn.run_sync(_run)
