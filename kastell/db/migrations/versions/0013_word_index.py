"""a word index with compressed text rows instead of the trigram index on SQLite

Revision ID: 0013
Revises: 0012

Measured with bench/imap.py against Dovecot: tokenising every message into
trigrams cost the background indexer about 2 ms per message, most of what
APPEND spent beyond Dovecot; a trigram phrase query for a word that occurs in
every message took 0.1 s; and ``item_text`` held every text a second time,
uncompressed, so EXPUNGE spent most of its time freeing those pages.

From here on:

* ``item_text`` rows are written lower-cased and zstd-compressed (a BLOB; rows
  from before stay TEXT and are read as they are).
* ``item_words`` (FTS5, ``detail=none``, keeping its own content) holds the
  distinct lower-cased words of each text; ``word_terms`` is the vocabulary and
  ``word_terms_fts`` a trigram index over it, to find the words that contain a
  query. A query of letters and digits lies inside one word and is answered
  from these alone; other queries take their candidates from them and are
  checked against the text (kastell.store.fulltext).
* Deletes stay deferred (migration 0010): the delete trigger queues the item id
  in ``item_words_gone``; the indexer removes queued ids before it adds rows.

Every row goes back to "pending"; the background indexer builds the word index
(searches scan the pending rows meanwhile, so answers stay complete).
PostgreSQL has nothing to change.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text
from zstandard import ZstdDecompressor

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS item_text_ad")
    op.execute("DROP TRIGGER IF EXISTS item_text_au")
    op.execute("DROP TABLE item_fts")
    op.execute("DROP TABLE item_fts_gone")
    op.execute("CREATE TABLE item_words_gone (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL)")
    op.execute("CREATE INDEX item_words_gone_item ON item_words_gone (item_id)")
    op.execute("CREATE VIRTUAL TABLE item_words USING fts5(words, detail=none, tokenize='ascii')")
    op.execute("CREATE TABLE word_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)")
    op.execute(
        "CREATE VIRTUAL TABLE word_terms_fts USING fts5(term, content='word_terms', content_rowid='id', "
        "tokenize='trigram')"
    )
    op.execute("UPDATE item_text SET indexed = 0")
    op.execute(
        "CREATE TRIGGER item_text_ad AFTER DELETE ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_words_gone(item_id) VALUES (old.item_id); END"
    )
    # A changed text leaves the index like a deleted one and comes back as pending.
    op.execute(
        "CREATE TRIGGER item_text_au AFTER UPDATE OF text ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_words_gone(item_id) VALUES (old.item_id); "
        "UPDATE item_text SET indexed = 0 WHERE item_id = new.item_id; END"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS item_text_ad")
    op.execute("DROP TRIGGER IF EXISTS item_text_au")
    for name in ("word_terms_fts", "word_terms", "item_words", "item_words_gone"):
        op.execute(f"DROP TABLE {name}")
    # The trigram index of 0002 reads item_text itself: compressed rows become text again
    # (lower-cased, which changes no answer: the index folds case).
    decompressor = ZstdDecompressor()
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
            [{"item_id": r.item_id, "text": decompressor.decompress(r.text).decode("utf-8")} for r in rows],
        )
        last = rows[-1].item_id
    op.execute(
        "CREATE VIRTUAL TABLE item_fts USING fts5(text, content='item_text', content_rowid='item_id', "
        "tokenize='trigram')"
    )
    op.execute("CREATE TABLE item_fts_gone (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, text TEXT NOT NULL)")
    op.execute("CREATE INDEX item_fts_gone_item ON item_fts_gone (item_id)")
    op.execute("UPDATE item_text SET indexed = 0")
    op.execute(
        "CREATE TRIGGER item_text_ad AFTER DELETE ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_fts_gone(item_id, text) VALUES (old.item_id, old.text); END"
    )
    op.execute(
        "CREATE TRIGGER item_text_au AFTER UPDATE OF text ON item_text WHEN old.indexed = 1 BEGIN "
        "INSERT INTO item_fts(item_fts, rowid, text) VALUES ('delete', old.item_id, old.text); "
        "UPDATE item_text SET indexed = 0 WHERE item_id = new.item_id; END"
    )
