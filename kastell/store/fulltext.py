"""The full-text index of the mailbox store: what goes in at ingest, how substring search reads it.

Theory of operation
-------------------
IMAP SEARCH BODY/TEXT (RFC 9051 §6.4.4) asks for a case-insensitive *substring*
match, not a word match: ``SEARCH BODY "port"`` finds "report". A plain word
index (stemming, tokens) cannot answer that; a trigram index can, but a query
for a common word then costs as much as its occurrences. Here (SQLite) the
words of the texts are indexed without positions, and the *vocabulary* has a
trigram index: "port" finds the words containing it ("report", "portal"),
those find the messages.

* At ingest (``store/ingest.py``), the text of each message — subject, names and
  addresses, text/plain parts, text/html parts without their tags, never the
  base64 of attachments — is extracted once from the same parse as the other
  cached columns (:func:`message_text`, bounded to :data:`TEXT_LIMIT` characters)
  and written to ``item_text`` in the same transaction as the item
  (:func:`insert_texts`). COPY duplicates the rows inside the database
  (:func:`copy_texts`); MOVE keeps item ids, so the row follows the item; a
  deleted item's row goes with it (``ON DELETE CASCADE``).
* SQLite: ``item_text`` holds the text lower-cased and zstd-compressed (migration
  0013; rows from before are plain TEXT and read as they are). The index is a word index:
  ``item_words`` holds the distinct lower-cased words of each text (FTS5,
  ``detail=none``), ``word_terms`` the vocabulary and ``word_terms_fts`` a
  trigram index over the vocabulary. Indexing is deferred (migration 0006): a
  row is written with ``indexed = 0`` and :func:`index_pending`, run by the
  server in the background, moves batches of them into the index. Deletes are
  deferred too (migration 0010): the delete trigger queues the ids of rows that
  reached the index in ``item_words_gone``, and the indexer removes them before
  it adds rows.
  A query made of letters and digits lies inside one word of the text: the
  words containing it come from ``word_terms_fts`` and their items from
  ``item_words`` (a few milliseconds, however often the word occurs). Any
  other query is cut at its non-word characters: a word between two of them
  must be a word of the text, the first part the end of one, the last part
  the start of one. Those words give the candidates, whose texts are then
  checked. Either way the folder's pending rows are scanned in Python too, so
  an answer never depends on whether the indexer has caught up. Case is
  folded with ``str.lower`` on both sides.
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
from zstandard import ZstdCompressor, ZstdDecompressor

from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.formats import mime

log = logging.getLogger("kastell.store.fulltext")

# Characters of text kept per message. A mail's readable text is rarely over a
# few KiB; the bound keeps a 20 MB text/plain log attachment from being read,
# stored and scanned whole. Matches past it are not found (docs/store.md).
TEXT_LIMIT = 256 * 1024
# Candidate sets up to this size are pushed into SQL as ``IN (…)``; larger ones
# are intersected in Python (bound parameters are limited on both databases).
_IN_LIMIT = 500

_I = s.items.c
_T = s.item_text.c
# The word index of migration 0013 (SQLite only, so not in schema.py's metadata),
# and the ids deleted from item_text that are still in item_words.
_GONE = table("item_words_gone", column("id", Integer), column("item_id", Integer))
_WORDS = table("item_words", column("rowid", Integer))
_TERMS = table("word_terms", column("id", Integer), column("term"))
_TERMS_FTS = table("word_terms_fts", column("rowid", Integer))

# A word: a run of letters and digits (of the lower-cased text). A query that
# is one fullmatch of it can only occur inside one word.
_WORD = re.compile(r"[^\W_]+")
# More words than this for one part of a query, and the part is not used to
# narrow the candidates (a MATCH of thousands of words costs more than it saves).
_MAX_TERMS = 2000
# zstd level 3: about 1 GB/s to decompress (checking candidates reads them), a fifth of
# the size of the text; zlib took three times as long to decompress.
_COMPRESS = ZstdCompressor(level=3)
_DECOMPRESS = ZstdDecompressor()


def pack(body: str) -> bytes:
    """The stored form of an index text on SQLite: lower-cased (what searches compare), zstd."""
    return _COMPRESS.compress(body.lower().encode("utf-8"))


def folded(stored: bytes | str) -> bytes:
    """An index text as stored on either database, lower-cased, as UTF-8 (plain text on
    PostgreSQL and in SQLite rows from before migration 0013)."""
    if isinstance(stored, bytes):
        return _DECOMPRESS.decompress(stored)
    return stored.lower().encode("utf-8")


def unpack(stored: bytes | str) -> str:
    """:func:`folded` as text."""
    return folded(stored).decode("utf-8")


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
    needle = query.lower()
    pending = await _search_pending(conn, scope, needle)
    if _WORD.fullmatch(needle):
        terms = await _terms(conn, needle, "inside")
        if terms is not None:
            # A deleted row stays in item_words until the indexer gets to it; its id
            # may already belong to a new (pending) item, whose text is not that row's.
            indexed = and_(_words_match(terms), _I.id.not_in(select(_GONE.c.item_id))) if terms else false()
            return or_(indexed, ids_clause(pending)) if pending else indexed
    # Candidates from the words of the query, checked against their texts.
    groups = []
    for m in _WORD.finditer(needle):
        before, after = m.start() > 0, m.end() < len(needle)
        kind = "word" if before and after else "end" if after else "start" if before else "inside"
        terms = await _terms(conn, m.group(), kind)
        if terms is None:
            continue  # too common to narrow anything down
        if not terms:
            return ids_clause(pending)  # no indexed text has this part
        groups.append("(" + " OR ".join(_quoted(t) for t in terms) + ")")
    where = [_T.indexed == true(), _T.item_id.in_(select(_I.id).where(*scope))]
    if groups:
        where.append(_words_match(" AND ".join(groups), _T.item_id))
    return ids_clause(pending | await _matching(conn, *where, needle=needle))


async def _terms(conn: AsyncConnection, part: str, kind: str) -> list[str] | None:
    """The vocabulary's words that are ``part`` (kind "word"), end with it ("end"),
    start with it ("start") or contain it ("inside"); None when there are too many."""
    if kind == "word":
        return list(await conn.scalars(select(_TERMS.c.term).where(_TERMS.c.term == part)))
    if len(part) >= 3:
        phrase = '"' + part + '"'  # letters and digits: nothing to escape
        found = select(_TERMS.c.term).where(
            _TERMS.c.id.in_(select(_TERMS_FTS.c.rowid).where(literal_column("word_terms_fts").op("MATCH")(phrase)))
        )
    else:
        found = select(_TERMS.c.term).where(func.instr(_TERMS.c.term, part) > 0)
    candidates = list(await conn.scalars(found.limit(_MAX_TERMS + 1)))
    if len(candidates) > _MAX_TERMS:
        return None
    # The trigram tokenizer folds case its own way: keep the words as str.lower() has them.
    if kind == "end":
        return [t for t in candidates if t.endswith(part)]
    if kind == "start":
        return [t for t in candidates if t.startswith(part)]
    return [t for t in candidates if part in t]


def _quoted(term: str) -> str:
    return '"' + term + '"'  # a word has no '"' to escape


def _words_match(terms: list[str] | str, id_column: ColumnElement[int] = _I.id) -> ColumnElement[bool]:
    """``id_column IN`` the items whose words match (a list: any of them; a str: that MATCH expression)."""
    expression = terms if isinstance(terms, str) else " OR ".join(_quoted(t) for t in terms)
    return id_column.in_(select(_WORDS.c.rowid).where(literal_column("item_words").op("MATCH")(expression)))


def ids_clause(ids: Collection[int]) -> ColumnElement[bool]:
    """``items.id IN (…)`` for any number of ids.

    The ids (integers) are rendered into the statement, so 250,000 of them do
    not run into the databases' limits on bound parameters.
    """
    if not ids:
        return false()
    return _I.id.in_(bindparam("ids", sorted(ids), unique=True, expanding=True, literal_execute=True))


async def _search_pending(conn: AsyncConnection, scope: Sequence[ColumnElement[bool]], needle: str) -> set[int]:
    """Rows not yet in the index, matched in Python (``needle`` is lower-cased)."""
    # Driven by the partial index of pending rows (EXISTS, not a join: as a join the
    # planner walked every item of the folder to find the few pending ones).
    return await _matching(conn, _T.indexed == false(), exists().where(_I.id == _T.item_id, *scope), needle=needle)


async def _matching(conn: AsyncConnection, *where: ColumnElement[bool], needle: str) -> set[int]:
    """Ids of the ``item_text`` rows selected by ``where`` whose lower-cased text contains ``needle``.

    Compared as UTF-8 bytes: a substring of valid UTF-8 text is found exactly where
    its encoding is a substring of the text's (and decoding costs as much as reading).
    """
    target = needle.encode("utf-8")
    found: set[int] = set()
    result = await conn.stream(select(_T.item_id, _T.text).where(*where))
    async for partition in result.partitions(200):
        found.update(int(item_id) for item_id, body in partition if target in folded(body))
    return found


async def index_pending(db: Database, batch: int = 200) -> int:
    """Bring the word index up to date by up to ``batch`` rows (SQLite); the number of rows done.

    Deleted rows leave first (they are queued in item_words_gone by the delete
    trigger of migration 0013), then pending rows enter: an id freed by a
    delete can be taken by a new item, and its new text must not reach the
    index before the old text has left it. One short write transaction per
    batch, so deliveries are never held up for long; the server's indexer calls
    this until it returns less than ``batch``.
    """
    if db.dialect != "sqlite":
        return 0
    async with db.write() as conn:
        gone = (await conn.execute(select(_GONE.c.id, _GONE.c.item_id).order_by(_GONE.c.id).limit(batch))).all()
        if gone:
            await conn.execute(delete(_WORDS).where(_WORDS.c.rowid.in_([row.item_id for row in gone])))
            await conn.execute(delete(_GONE).where(_GONE.c.id <= gone[-1].id))
            return len(gone)
        rows = (await conn.execute(select(_T.item_id, _T.text).where(_T.indexed == false()).limit(batch))).all()
        if not rows:
            return 0
        texts = [(int(row.item_id), unpack(row.text)) for row in rows]
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


async def prune_vocabulary(db: Database, batch: int = 500) -> int:
    """Forget the words no indexed text has any more (SQLite); the number forgotten.

    Deleted mail leaves its words in ``word_terms``, and unique tokens (ids in
    links, reference numbers) would make the vocabulary grow with all mail ever
    received. The live words are read from an ``fts5vocab`` view of ``item_words``
    in a read snapshot; each candidate is looked up again under the write lock
    before it goes, because the indexer may have brought it back meanwhile.
    """
    if db.dialect != "sqlite":
        return 0
    async with db.read() as conn:
        await conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.item_words_vocab USING fts5vocab(main, item_words, row)"
        )
        dead = (
            await conn.exec_driver_sql(
                "SELECT id, term FROM word_terms WHERE term NOT IN (SELECT term FROM temp.item_words_vocab)"
            )
        ).all()
    forgotten = 0
    for start in range(0, len(dead), batch):
        async with db.write() as conn:
            for term_id, term in dead[start : start + batch]:
                match = literal_column("item_words").op("MATCH")(_quoted(term))
                if await conn.scalar(select(_WORDS.c.rowid).where(match).limit(1)) is not None:
                    continue  # indexed again since the snapshot
                await conn.execute(
                    text("INSERT INTO word_terms_fts(word_terms_fts, rowid, term) VALUES ('delete', :id, :term)"),
                    {"id": term_id, "term": term},
                )
                await conn.execute(delete(_TERMS).where(_TERMS.c.id == term_id))
                forgotten += 1
    return forgotten


def _encodable(query: str) -> bool:
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
