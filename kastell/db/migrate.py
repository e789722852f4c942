"""Schema migrations with Alembic, driven from code.

``upgrade()`` brings any Kastell database to the newest schema; ``kastell serve``
and every CLI command call it on start, so an operator upgrades a data
directory by installing the new version and starting it (docs/upgrade.md).
Migrations run inside one transaction (SQLite and PostgreSQL both have
transactional DDL), so a failed upgrade leaves the old schema intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from kastell.db.engine import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Any = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` in one write transaction."""

    def _run(sync_connection: Any) -> None:
        command.upgrade(alembic_config(sync_connection), revision)

    async with db.write() as conn:
        await conn.run_sync(_run)


async def current_revision(db: Database) -> str | None:
    def _run(sync_connection: Any) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()

    async with db.read() as conn:
        return await conn.run_sync(_run)
