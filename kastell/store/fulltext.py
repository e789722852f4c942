"""The full-text index of the mailbox store: what goes in at ingest, how substring search reads it.

Theory of operation
-------------------
IMAP SEARCH BODY/TEXT (RFC 9051 §6.4.4) asks for a case-insensitive *substring*
match, not a word match: ``SEARCH BODY "port"`` finds "report". A word index
(stemming, tokens) cannot answer that, a trigram index can: every 3-character
window of the text is a key, and a query of n ≥ 3 characters is the phrase of its
n - 2 trigrams, which matches exactly where the query occurs as a substring.

* At ingest (``store/ingest.py``), the text of each message — subject, names and
  addresses, text/plain parts, text/html parts without their tags, never the
  base64 of attachments — is extracted once from the same parse as the other
  cached columns (:func:`message_text`, bounded to :data:`TEXT_LIMIT` characters)
  and written to ``item_text`` in the same transaction as the item
  (:func:`insert_texts`). COPY duplicates the rows inside the database
  (:func:`copy_texts`); MOVE keeps item ids, so the row follows the item; a
  deleted item's row goes with it (``ON DELETE CASCADE``).
* SQLite: ``item_text`` holds the text zlib-compressed (migration 0013; rows
  from before are plain TEXT and read as they are). Two FTS5 indexes are fed
  from it: ``item_fts``, a contentless ``trigram`` table, and ``item_words``,
  the distinct words of each text (``detail=none``), with ``word_terms`` the
  vocabulary and ``word_terms_fts`` a trigram index over it. Indexing is
  deferred (migration 0006): a row is written with ``indexed = 0`` and
  :func:`index_pending`, run by the server in the background, moves batches of
  them into the indexes. Deletes are deferred too (migration 0010): the delete
  trigger queues rows that reached the index in ``item_fts_gone`` (with their
  text, which a contentless FTS5 table needs to forget a row), and the indexer
  removes them before it adds rows.
  A search reads the indexes for indexed rows (minus queued deletes) and scans
  the (few) pending rows of the folder in Python. A query made of letters and
  digits only lies inside one word of the text: the words containing it come
  from ``word_terms_fts`` and their items from ``item_words`` (a few
  milliseconds, however often the word occurs). Other queries are a trigram
  phrase; the trigram tokenizer folds case with Unicode rules, so "ÜBER"
  finds "über". Queries under 3 characters that are not letters and digits
  have no trigram: they decompress and scan the rows of the folder.
* PostgreSQL: ``ILIKE '%…%'`` with ``%``, ``_`` and ``\\`` escaped, served by
  the pg_trgm GIN index of migration 0002. Non-ASCII case folding follows the
  database's LC_CTYPE (any UTF-8 locale, including C.UTF-8, folds umlauts; the
  plain "C" locale folds ASCII only).

Everything is scoped like ``scope.py``: the hits are joined to ``items`` and
filtered on organisation, mailbox and folder, so the shared index never leaks an
item of another mailbox or tenant.

Dialect-specific SQL lives here and nowhere else in the store.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    column,
    delete,
    exists,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.formats import mime

log = logging.getLogger("kastell.store.fulltext")

# Characters of text kept per message. A mail's readable text is rarely over a
# few KiB; the bound stops a 20 MB text/plain log attachment from costing ~60
# million trigram postings. Matches past it are not found (docs/store.md).
TEXT_LIMIT = 256 * 1024
# Candidate sets up to this size are pushed into SQL as ``IN (…)``; larger ones
# are intersected in Python (bound parameters are limited on both databases).
_IN_LIMIT = 500

_I = s.items.c
_T = s.item_text.c
# The FTS5 table of migration 0002 (SQLite only, so not in schema.py's metadata).
_FTS = table("item_fts", column("rowid", Integer))
# Rows deleted from item_text that are still in item_fts (migration 0010, SQLite only).
_GONE = table("item_fts_gone", column("id", Integer), column("item_id", Integer), column("text"))
# The word index of migration 0013 (SQLite only).
_WORDS = table("item_words", column("rowid", Integer))
_TERMS = table("word_terms", column("id", Integer), column("term"))
_TERMS_FTS = table("word_terms_fts", column("rowid", Integer))

# A word: a run of letters and digits (of the lower-cased text). A query that
# is one fullmatch of it can only occur inside one word.
_WORD = re.compile(r"[^\W_]+")
# More words containing a query than this, and the trigram phrase is cheaper.
_MAX_TERMS = 2000


def pack(body: str) -> bytes:
    """The stored form of an index text on SQLite: zlib (level 1: fast, ~4x smaller)."""
    return zlib.compress(body.encode("utf-8"), 1)


def unpack(stored: bytes | str) -> str:
    """An index text as stored on either database (plain text: PostgreSQL, SQLite before 0013)."""
    return zlib.decompress(stored).decode("utf-8") if isinstance(stored, bytes) else stored


def words(body: str) -> list[str]:
    """The distinct words of a text, lower-cased, sorted: what ``item_words`` holds for it."""
    return sorted(set(_WORD.findall(body.lower())))


def message_text(source: bytes, parsed: mime.ParsedMessage, limit: int = TEXT_LIMIT) -> str:
    """The indexed text of a parsed message (never raises; "" when there is none).

    NUL is removed (PostgreSQL text cannot hold it) and anything that cannot be
    encoded as UTF-8 (lone surrogates) is replaced, so the insert cannot fail and
    take the item down with it.
    """
    try:
        extracted = mime.extract_text(source, parsed, limit)
    except Exception:  # extract_text promises not to raise; an item must never be lost over its index
        log.warning("full-text extraction failed; message stored without index text", exc_info=True)
        return ""
    extracted = extracted.replace("\x00", "")
    try:
        extracted.encode("utf-8")
    except UnicodeEncodeError:
        extracted = extracted.encode("utf-8", "replace").decode("utf-8")
    return extracted


async def insert_texts(conn: AsyncConnection, mailbox_id: int, texts: Sequence[tuple[int, str]]) -> None:
    """Index ``(item_id, text)`` pairs inside the caller's transaction (one executemany).

    Empty texts get no row: there is nothing to find in them, and the search
    for "" (which matches everything) does not read ``item_text``.
    """
    sqlite = conn.dialect.name == "sqlite"  # SQLite: the background indexer does it
    rows = [
        {"item_id": item_id, "mailbox_id": mailbox_id, "text": pack(body) if sqlite else body, "indexed": not sqlite}
        for item_id, body in texts
        if body
    ]
    if rows:
        await conn.execute(insert(s.item_text), rows)


async def copy_texts(conn: AsyncConnection, old_to_new: Mapping[int, int]) -> None:
    """Give copied items the index rows of their originals, inside the caller's transaction.

    ``INSERT … SELECT`` keeps the text inside the database (a COPY of a thousand
    large messages must not pull their text through Python).
    """
    if not old_to_new:
        return
    await conn.execute(
        text(
            "INSERT INTO item_text (item_id, mailbox_id, text, indexed) "
            "SELECT :new_id, mailbox_id, text, :indexed FROM item_text WHERE item_id = :old_id"
        ),
        [{"new_id": new, "old_id": old, "indexed": conn.dialect.name != "sqlite"} for old, new in old_to_new.items()],
    )


async def search_item_ids(
    conn: AsyncConnection,
    org_id: int,
    mailbox_id: int,
    folder_id: int,
    query: str,
    *,
    candidates: Collection[int] | None = None,
) -> set[int]:
    """Ids of the items of one folder whose indexed text contains ``query``.

    Case-insensitive substring semantics of IMAP SEARCH BODY/TEXT (RFC 9051
    §6.4.4); ``%``, ``_``, quotes and backslashes in ``query`` are literal.
    ``conn`` is any transaction of the caller (``Database.read()``); the search
    is scoped to ``org_id``/``mailbox_id``/``folder_id`` like every store query.
    ``candidates`` (item ids), when given, restricts the answer to them, e.g.
    the items that matched the other keys of a SEARCH. The empty query matches
    every item of the folder. Item ids, not uids: they survive MOVE.
    """
    if candidates is not None and not candidates:
        return set()
    scope: list[ColumnElement[bool]] = [_I.org_id == org_id, _I.mailbox_id == mailbox_id, _I.folder_id == folder_id]
    pushed = candidates is not None and len(candidates) <= _IN_LIMIT
    if pushed:
        assert candidates is not None
        scope.append(_I.id.in_(list(candidates)))
    clause = await match_clause(conn, scope, query)
    found = {int(row[0]) for row in await conn.execute(select(_I.id).where(clause, *scope))}
    if candidates is not None and not pushed:
        found.intersection_update(candidates)
    return found


async def match_clause(conn: AsyncConnection, scope: Sequence[ColumnElement[bool]], query: str) -> ColumnElement[bool]:
    """A condition on ``items``: the item's indexed text contains ``query``.

    For callers that put it into their own statement (store/search.py, where
    SEARCH keys combine in one query). ``scope`` is the caller's filter on
    organisation, mailbox and folder; it bounds the scan of pending rows.
    Semantics as :func:`search_item_ids`.

    SQLite: the FTS5 lookup is an uncorrelated ``items.id IN (SELECT rowid …)``,
    which SQLite evaluates once. Written as a join, its planner walked the
    folder's items and probed FTS5 once per row: 2.7 s instead of 0.09 s for a
    word in all of 5,000 messages.
    """
    if not query:
        return true()
    if "\x00" in query or not _encodable(query):
        return false()  # never stored (see message_text), so never found
    if conn.dialect.name != "sqlite":
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return _I.id.in_(select(_T.item_id).where(_T.text.ilike("%" + escaped + "%", escape="\\")))
    pending = await _search_pending(conn, scope, query)
    indexed = await _word_clause(conn, query)
    if indexed is None:
        if len(query) < 3:
            # No trigram to look up, and not a word part: read the texts of the folder.
            return ids_clause(pending | await _scan(conn, scope, query))
        # A quoted FTS5 string is one phrase of consecutive trigrams: the substring
        # itself. Inside it only '"' is special, and it is escaped by doubling.
        phrase = '"' + query.replace('"', '""') + '"'
        indexed = _I.id.in_(select(_FTS.c.rowid).where(literal_column("item_fts").op("MATCH")(phrase)))
    # A deleted row stays in the indexes until the indexer gets to it; its id may
    # already belong to a new (pending) item, whose text is not that row's.
    indexed = and_(indexed, _I.id.not_in(select(_GONE.c.item_id)))
    return or_(indexed, ids_clause(pending)) if pending else indexed


async def _word_clause(conn: AsyncConnection, query: str) -> ColumnElement[bool] | None:
    """``items.id IN`` the items having a word that contains ``query``; None when
    ``query`` is not made of letters and digits or too many words contain it."""
    needle = query.lower()
    if not _WORD.fullmatch(needle):
        return None
    if len(needle) >= 3:
        phrase = '"' + needle + '"'  # letters and digits: nothing to escape
        found = select(_TERMS.c.term).where(
            _TERMS.c.id.in_(select(_TERMS_FTS.c.rowid).where(literal_column("word_terms_fts").op("MATCH")(phrase)))
        )
    else:
        found = select(_TERMS.c.term).where(func.instr(_TERMS.c.term, needle) > 0)
    # The trigram tokenizer folds case its own way: keep the words that contain
    # the query as str.lower() has it (the words were lower-cased so).
    candidates = list(await conn.scalars(found.limit(_MAX_TERMS + 1)))
    if len(candidates) > _MAX_TERMS:
        return None
    terms = [term for term in candidates if needle in term]
    if not terms:
        return false()
    match = " OR ".join('"' + term + '"' for term in terms)
    return _I.id.in_(select(_WORDS.c.rowid).where(literal_column("item_words").op("MATCH")(match)))


def ids_clause(ids: Collection[int]) -> ColumnElement[bool]:
    """``items.id IN (…)`` for any number of ids.

    The ids (integers) are rendered into the statement, so 250,000 of them do
    not run into the databases' limits on bound parameters.
    """
    if not ids:
        return false()
    return _I.id.in_(bindparam("ids", sorted(ids), unique=True, expanding=True, literal_execute=True))


async def _search_pending(conn: AsyncConnection, scope: Sequence[ColumnElement[bool]], query: str) -> set[int]:
    """Rows not yet in item_fts, matched in Python with the trigram tokenizer's folding.

    ``str.lower`` and not ``casefold``: FTS5 folds case one character at a time
    ("ß" stays "ß"), and an answer must not change when its row gets indexed.
    """
    # Driven by the partial index of pending rows (EXISTS, not a join: as a join the
    # planner walked every item of the folder to find the few pending ones).
    return await _matching(conn, _T.indexed == false(), exists().where(_I.id == _T.item_id, *scope), query=query)


async def _scan(conn: AsyncConnection, scope: Sequence[ColumnElement[bool]], query: str) -> set[int]:
    """Indexed rows of the folder matched in Python (queries no index answers)."""
    return await _matching(conn, _T.indexed == true(), _T.item_id.in_(select(_I.id).where(*scope)), query=query)


async def _matching(conn: AsyncConnection, *where: ColumnElement[bool], query: str) -> set[int]:
    needle = query.lower()
    found: set[int] = set()
    result = await conn.stream(select(_T.item_id, _T.text).where(*where))
    async for partition in result.partitions(200):
        found.update(int(item_id) for item_id, body in partition if needle in unpack(body).lower())
    return found


async def index_pending(db: Database, batch: int = 200) -> int:
    """Bring item_fts up to date by up to ``batch`` rows (SQLite); the number of rows done.

    Deleted rows leave first (they are queued in item_fts_gone by the delete
    trigger of migration 0010), then pending rows enter: an id freed by a
    delete can be taken by a new item, and its new text must not reach the
    index before the old text has left it. One short write transaction per
    batch, so deliveries are never held up for long; the server's indexer calls
    this until it returns less than ``batch``.
    """
    if db.dialect != "sqlite":
        return 0
    async with db.write() as conn:
        gone = (
            await conn.execute(select(_GONE.c.id, _GONE.c.item_id, _GONE.c.text).order_by(_GONE.c.id).limit(batch))
        ).all()
        if gone:
            # A contentless FTS5 table forgets a row when given the text it indexed.
            await conn.execute(
                text("INSERT INTO item_fts(item_fts, rowid, text) VALUES ('delete', :item_id, :text)"),
                [{"item_id": row.item_id, "text": unpack(row.text)} for row in gone],
            )
            await conn.execute(delete(_WORDS).where(_WORDS.c.rowid.in_([row.item_id for row in gone])))
            await conn.execute(delete(_GONE).where(_GONE.c.id <= gone[-1].id))
            return len(gone)
        rows = (await conn.execute(select(_T.item_id, _T.text).where(_T.indexed == false()).limit(batch))).all()
        if not rows:
            return 0
        texts = [(int(row.item_id), unpack(row.text)) for row in rows]
        await conn.execute(
            text("INSERT INTO item_fts(rowid, text) VALUES (:item_id, :text)"),
            [{"item_id": item_id, "text": body} for item_id, body in texts],
        )
        vocabulary: set[str] = set()
        entries = []
        for item_id, body in texts:
            found = words(body)
            vocabulary.update(found)
            entries.append({"item_id": item_id, "words": " ".join(found)})
        await conn.execute(text("INSERT INTO item_words(rowid, words) VALUES (:item_id, :words)"), entries)
        await _add_terms(conn, vocabulary)
        await conn.execute(
            update(s.item_text).where(_T.item_id.in_([item_id for item_id, _ in texts])).values(indexed=True)
        )
    return len(rows)


async def _add_terms(conn: AsyncConnection, terms: set[str]) -> None:
    """Put the words not yet in the vocabulary into it and its trigram index.

    The caller holds the write lock, so the new rows are exactly those above
    the highest id from before.
    """
    if not terms:
        return
    before = await conn.scalar(select(func.coalesce(func.max(_TERMS.c.id), 0)))
    await conn.execute(text("INSERT OR IGNORE INTO word_terms(term) VALUES (:term)"), [{"term": t} for t in terms])
    await conn.execute(
        text("INSERT INTO word_terms_fts(rowid, term) SELECT id, term FROM word_terms WHERE id > :before"),
        {"before": before},
    )


def _encodable(query: str) -> bool:
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
