"""deferred full-text deletes on SQLite

Revision ID: 0010
Revises: 0009

Deleting a row from the FTS5 trigram index makes FTS5 tokenise its text again
(as much work as indexing it): IMAP EXPUNGE of 2,500 messages spent 3 of its
3.4 s there. From here on the delete trigger of ``item_text`` only queues the
row's id and text in ``item_fts_gone``; the background indexer
(kastell.store.fulltext.index_pending) takes the queued rows out of
``item_fts`` before it indexes new ones, and searches ignore index hits whose
id is still queued (an id can be reused by a new item before then).
PostgreSQL has nothing to defer.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE item_fts_gone (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, text TEXT NOT NULL)"
    )
    op.execute("CREATE INDEX item_fts_gone_item ON item_fts_gone (item_id)")
    op.execute("DROP TRIGGER item_text_ad")
    op.execute(
        "CREATE TRIGGER item_text_ad AFTER DELETE ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_fts_gone(item_id, text) VALUES (old.item_id, old.text); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "INSERT INTO item_fts(item_fts, rowid, text) SELECT 'delete', item_id, text FROM item_fts_gone ORDER BY id"
    )
    op.execute("DROP TRIGGER item_text_ad")
    op.execute(
        "CREATE TRIGGER item_text_ad AFTER DELETE ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_fts(item_fts, rowid, text) VALUES ('delete', old.item_id, old.text); END"
    )
    op.execute("DROP TABLE item_fts_gone")
