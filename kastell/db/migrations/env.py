"""Alembic environment: runs on the connection handed over by kastell.db.migrate."""

from __future__ import annotations

from alembic import context

from kastell.db.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through kastell.db.migrate, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite ALTER TABLE support
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
