"""compressed full-text rows and a word index on SQLite

Revision ID: 0013
Revises: 0012

Two costs of the SQLite full-text index, measured with bench/imap.py:

* ``item_text`` held every message's text a second time, uncompressed (as much
  as the FTS5 index itself): EXPUNGE of 2,500 messages spent most of its time
  freeing those pages, APPEND writing them. From here on new rows hold the text
  zlib-compressed (a BLOB; rows written before stay TEXT and are read as they
  are), which FTS5 cannot read, so ``item_fts`` becomes a contentless trigram
  table that the indexer feeds and, for deletes, gives the old text back.
* A substring that is all letters and digits lies inside one word, so it is
  answered from the words that contain it instead of a trigram phrase query
  (whose cost grows with the number of occurrences: 0.1 s for a word in every
  one of 5,000 messages). ``word_terms`` is the vocabulary (trigram-indexed by
  ``word_terms_fts`` to find the words containing a query), ``item_words`` maps
  words to items (FTS5, ``detail=none``: no positions).

Every row goes back to "pending"; the background indexer rebuilds both indexes
(searches scan the pending rows meanwhile, so answers stay complete).
PostgreSQL has nothing to change.
"""

from __future__ import annotations

import zlib

from alembic import op
from sqlalchemy import text

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_QUEUE_DELETE = (
    "CREATE TRIGGER item_text_ad AFTER DELETE ON item_text WHEN old.indexed = 1 BEGIN "
    "INSERT INTO item_fts_gone(item_id, text) VALUES (old.item_id, old.text); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS item_text_ad")
    op.execute("DROP TRIGGER IF EXISTS item_text_au")
    op.execute("DROP TABLE item_fts")
    op.execute("DELETE FROM item_fts_gone")
    op.execute("CREATE VIRTUAL TABLE item_fts USING fts5(text, content='', tokenize='trigram')")
    op.execute("CREATE VIRTUAL TABLE item_words USING fts5(words, detail=none, tokenize='ascii')")
    op.execute("CREATE TABLE word_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)")
    op.execute(
        "CREATE VIRTUAL TABLE word_terms_fts USING fts5(term, content='word_terms', content_rowid='id', "
        "tokenize='trigram')"
    )
    op.execute("UPDATE item_text SET indexed = 0")
    op.execute(_QUEUE_DELETE)
    # A changed text leaves the indexes like a deleted one and comes back as pending.
    op.execute(
        "CREATE TRIGGER item_text_au AFTER UPDATE OF text ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_fts_gone(item_id, text) VALUES (old.item_id, old.text); "
        "UPDATE item_text SET indexed = 0 WHERE item_id = new.item_id; END"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS item_text_ad")
    op.execute("DROP TRIGGER IF EXISTS item_text_au")
    for name in ("word_terms_fts", "word_terms", "item_words", "item_fts"):
        op.execute(f"DROP TABLE {name}")
    op.execute("DELETE FROM item_fts_gone")
    # The old index reads item_text itself: the compressed rows become text again.
    last = 0
    while True:
        rows = bind.execute(
            text(
                "SELECT item_id, text FROM item_text WHERE item_id > :last AND typeof(text) = 'blob' "
                "ORDER BY item_id LIMIT 500"
            ),
            {"last": last},
        ).all()
        if not rows:
            break
        bind.execute(
            text("UPDATE item_text SET text = :text WHERE item_id = :item_id"),
            [{"item_id": r.item_id, "text": zlib.decompress(r.text).decode("utf-8")} for r in rows],
        )
        last = rows[-1].item_id
    op.execute(
        "CREATE VIRTUAL TABLE item_fts USING fts5(text, content='item_text', content_rowid='item_id', "
        "tokenize='trigram')"
    )
    op.execute("UPDATE item_text SET indexed = 0")
    op.execute(_QUEUE_DELETE)
    op.execute(
        "CREATE TRIGGER item_text_au AFTER UPDATE OF text ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_fts(item_fts, rowid, text) VALUES ('delete', old.item_id, old.text); "
        "UPDATE item_text SET indexed = 0 WHERE item_id = new.item_id; END"
    )
