"""Searching and sorting the messages of one folder (IMAP SEARCH/SORT, RFC 9051 §6.4.4, RFC 5256).

Theory of operation
-------------------
A protocol builds a tree of :data:`Key` values (``And``/``Or``/``Not`` over
leaves such as :class:`FlagKey` or :class:`TextKey`); sequence numbers are the
protocol's business and arrive here already turned into UID ranges.  Most
leaves are plain SQL on the cached columns of ``items`` (flags bits, the
``" kw1 kw2 "`` keywords column, dates, size, subject, addresses), scoped on
organisation, mailbox and folder exactly as ``scope.py`` does.

Leaves that need the message itself (HEADER, BCC, and BODY/TEXT when the
full-text index cannot answer) are *source leaves*.  For those we first run a
relaxed query — each source leaf replaced by TRUE or FALSE so that the result
is a superset of the answer (:func:`_relaxed`) — read only those candidates'
sources, decide every source leaf for them in Python, and then run the exact
query with each source leaf replaced by ``id IN (matching ids)``.  So the SQL
keys narrow the scan, and the boolean structure (OR/NOT nesting) stays SQL's.

BODY/TEXT use ``kastell.store.fulltext`` (the full-text index fed at ingest)
when the mailbox has index rows; otherwise they scan the candidates' sources
(TEXT then also matches every header field; with the index, the header fields
it holds: subject, names and addresses).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from sqlalchemy import ColumnElement, String, and_, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.formats import mime
from kastell.formats.mime.charsets import header_str
from kastell.formats.mime.encoded_words import decode_words
from kastell.store import fulltext
from kastell.store.fulltext import ids_clause
from kastell.store.mailbox import _ROW_COLUMNS, _row
from kastell.store.scope import UidRanges, uid_clause

if TYPE_CHECKING:
    from kastell.store.mailbox import Mailbox

__all__ = [
    "All",
    "And",
    "DateKey",
    "FlagKey",
    "HeaderKey",
    "Key",
    "KeywordKey",
    "ModSeqKey",
    "Not",
    "Or",
    "SizeKey",
    "SortKey",
    "TextKey",
    "ThreadRow",
    "UidKey",
    "base_subject",
    "folder_uids",
    "search",
    "sort",
    "thread_rows",
]

_I = s.items.c


@dataclass(frozen=True, slots=True)
class All:
    pass


@dataclass(frozen=True, slots=True)
class And:
    keys: tuple[Key, ...]


@dataclass(frozen=True, slots=True)
class Or:
    left: Key
    right: Key


@dataclass(frozen=True, slots=True)
class Not:
    key: Key


@dataclass(frozen=True, slots=True)
class FlagKey:
    """System flag bits (store.flags.Flag) that must be set (``present``) or clear."""

    flag: int
    present: bool


@dataclass(frozen=True, slots=True)
class KeywordKey:
    keyword: str
    present: bool


@dataclass(frozen=True, slots=True)
class UidKey:
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class DateKey:
    """``which``: internal (arrival, in the zone it arrived in) or sent (Date header).
    ``day`` is the epoch second of the day's 00:00 UTC (RFC 9051: dates ignore time and zone)."""

    which: Literal["internal", "sent"]
    op: Literal["before", "on", "since"]
    day: int


@dataclass(frozen=True, slots=True)
class SizeKey:
    op: Literal["larger", "smaller"]
    size: int


@dataclass(frozen=True, slots=True)
class TextKey:
    """Case-insensitive substring; ``field`` subject/from/to/cc use cached columns,
    bcc/body/text need the source or the full-text index."""

    field: Literal["subject", "from", "to", "cc", "bcc", "body", "text"]
    value: str


@dataclass(frozen=True, slots=True)
class HeaderKey:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ModSeqKey:
    """RFC 7162 §3.1.5: items whose change number is at least ``modseq``."""

    modseq: int


Key: TypeAlias = (
    All | And | Or | Not | FlagKey | KeywordKey | UidKey | DateKey | SizeKey | TextKey | HeaderKey | ModSeqKey
)


def _is_source(key: Key) -> bool:
    return isinstance(key, HeaderKey) or (isinstance(key, TextKey) and key.field in ("bcc", "body", "text"))


def _like(column: Any, value: str) -> ColumnElement[bool]:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike("%" + escaped + "%", escape="\\")  # type: ignore[no-any-return]


_DAY = 86400


def _leaf(key: Key) -> ColumnElement[bool]:
    if isinstance(key, All):
        return true()
    if isinstance(key, FlagKey):
        bits = _I.flags.op("&")(key.flag)
        return bits != 0 if key.present else bits == 0
    if isinstance(key, KeywordKey):
        clause = _like(_I.keywords, f" {key.keyword} ")
        return clause if key.present else not_(clause)
    if isinstance(key, UidKey):
        return uid_clause(_I.uid, key.ranges)
    if isinstance(key, ModSeqKey):
        return _I.change_num >= key.modseq
    if isinstance(key, SizeKey):
        # The size IMAP reports (RFC822.SIZE): bare LFs count as CRLF, as Dovecot compares.
        size = func.coalesce(_I.imap_size, _I.size)
        return size > key.size if key.op == "larger" else size < key.size
    if isinstance(key, DateKey):
        moment: Any = (
            _I.internal_date + _I.internal_tz * 60
            if key.which == "internal"
            else func.coalesce(_I.sent_date, _I.internal_date)
        )
        if key.op == "before":
            return moment < key.day  # type: ignore[no-any-return]
        if key.op == "since":
            return moment >= key.day  # type: ignore[no-any-return]
        return and_(moment >= key.day, moment < key.day + _DAY)
    if isinstance(key, TextKey):
        if key.field == "subject":
            return _like(_I.subject, key.value)
        if key.field == "from":
            return or_(_like(_I.from_addr, key.value), _like(_I.from_name, key.value))
        if key.field == "to":
            return _like(_I.to_addrs, key.value)
        if key.field == "cc":
            return _like(_I.cc_addrs, key.value)
    raise AssertionError(f"not an SQL leaf: {key!r}")


def _compile(key: Key, resolved: dict[int, ColumnElement[bool]]) -> ColumnElement[bool]:
    """Exact SQL; source leaves must be in ``resolved`` (by ``id(key)``)."""
    if isinstance(key, And):
        return and_(true(), *(_compile(k, resolved) for k in key.keys))
    if isinstance(key, Or):
        return or_(_compile(key.left, resolved), _compile(key.right, resolved))
    if isinstance(key, Not):
        return not_(_compile(key.key, resolved))
    if _is_source(key):
        return resolved[id(key)]
    return _leaf(key)


def _relaxed(key: Key, superset: bool) -> ColumnElement[bool]:
    """A clause matching a superset (or, for ``superset=False``, a subset) of ``key``."""
    if isinstance(key, And):
        return and_(true(), *(_relaxed(k, superset) for k in key.keys))
    if isinstance(key, Or):
        return or_(_relaxed(key.left, superset), _relaxed(key.right, superset))
    if isinstance(key, Not):
        return not_(_relaxed(key.key, not superset))
    if _is_source(key):
        return true() if superset else false()
    return _leaf(key)


def _source_leaves(key: Key, out: list[Key]) -> list[Key]:
    if isinstance(key, And):
        for k in key.keys:
            _source_leaves(k, out)
    elif isinstance(key, Or):
        _source_leaves(key.left, out)
        _source_leaves(key.right, out)
    elif isinstance(key, Not):
        _source_leaves(key.key, out)
    elif _is_source(key):
        out.append(key)
    return out


async def folder_uids(mailbox: Mailbox, folder_id: int) -> array[int]:
    """Every UID of the folder, ascending, as a compact array (SELECT of a 250k folder).

    One aggregated string (group_concat / string_agg through SQLAlchemy's
    ``aggregate_strings``) instead of a row per message: building 250,000 row
    objects costs more than the query itself.
    """
    async with mailbox.reading() as conn:
        text = await conn.scalar(
            select(func.aggregate_strings(func.cast(_I.uid, String), ",")).where(mailbox.folder_filter(folder_id))
        )
    out: array[int] = array("I", map(int, text.split(","))) if text else array("I")
    # The aggregate's order is the scan's, not guaranteed: sort (cheap on an array).
    return array("I", sorted(out))


async def search(
    mailbox: Mailbox, folder_id: int, key: Key, *, within: UidRanges | None = None, limit: int | None = None
) -> list[tuple[int, int]]:
    """``(uid, change_num)`` of the folder's items matching ``key``, ascending by uid.

    ``within`` restricts the search to UID ranges (the protocol's view of the folder);
    ``limit`` returns only the first matches (e.g. the first unseen message).
    """
    async with mailbox.reading() as conn:
        resolved = await _resolve_sources(conn, mailbox, folder_id, key, within)
        stmt = (
            select(_I.uid, _I.change_num)
            .where(mailbox.folder_filter(folder_id), uid_clause(_I.uid, within), _compile(key, resolved))
            .order_by(_I.uid)
            .limit(limit)
        )
        return [(int(r[0]), int(r[1])) for r in await conn.execute(stmt)]


async def _resolve_sources(
    conn: AsyncConnection, mailbox: Mailbox, folder_id: int, key: Key, within: UidRanges | None
) -> dict[int, ColumnElement[bool]]:
    leaves = _source_leaves(key, [])
    if not leaves:
        return {}
    has_index = await _has_index(conn, mailbox)
    indexed = [leaf for leaf in leaves if has_index and isinstance(leaf, TextKey) and leaf.field in ("body", "text")]
    scan = [leaf for leaf in leaves if leaf not in indexed]
    resolved: dict[int, ColumnElement[bool]] = {}
    for text_leaf in indexed:
        assert isinstance(text_leaf, TextKey)
        # The index holds subject, names, addresses and the text parts; TEXT matches
        # other header fields only without it (reading every source is what the index avoids).
        # A condition inside the one SEARCH statement, not a list of ids.
        resolved[id(text_leaf)] = await fulltext.match_clause(conn, [mailbox.folder_filter(folder_id)], text_leaf.value)
    if scan:
        hits: dict[int, set[int]] = {id(leaf): set() for leaf in scan}
        # Only the items the other keys leave are read (the relaxed query is a superset).
        base = [mailbox.folder_filter(folder_id), uid_clause(_I.uid, within), _relaxed(key, True)]
        for r in (await conn.execute(select(_I.id, *_ROW_COLUMNS, _I.structure).where(*base))).all():
            raw = await mailbox.source(_row(r[1:], r.structure))
            parsed = _parsed(raw, r.structure)
            for leaf in scan:
                if _source_match(leaf, raw, parsed):
                    hits[id(leaf)].add(int(r.id))
        for leaf_id, found in hits.items():
            resolved[leaf_id] = ids_clause(found)
    return resolved


async def _has_index(conn: AsyncConnection, mailbox: Mailbox) -> bool:
    """Whether this mailbox has full-text rows (data from before the index has none)."""
    row = await conn.scalar(select(s.item_text.c.item_id).where(s.item_text.c.mailbox_id == mailbox.id).limit(1))
    return row is not None


def _parsed(raw: bytes, structure: bytes | None) -> mime.ParsedMessage:
    if structure is not None:
        try:
            return mime.loads(structure)
        except ValueError:
            pass
    return mime.parse_message(raw)


def _header_texts(raw: bytes, part: mime.BodyPart, name: str | None) -> list[str]:
    from kastell.formats.mime.headers import iter_field_spans, unfold

    key = None if name is None else name.lower().encode("utf-8", "replace")
    out = []
    for field, start, end in iter_field_spans(raw, part.header_start, part.body_start):
        if key is None or field == key:
            line = raw[start:end]
            value = unfold(line[line.index(b":") + 1 :]) if key is not None else unfold(line)
            out.append(decode_words(header_str(value)))
    return out


def _source_match(leaf: Key, raw: bytes, parsed: mime.ParsedMessage) -> bool:
    if isinstance(leaf, HeaderKey):
        needle = leaf.value.lower()
        values = _header_texts(raw, parsed.root, leaf.name)
        # RFC 9051 §6.4.4: HEADER with an empty string matches every message that has the field.
        return any(needle in v.lower() for v in values)
    assert isinstance(leaf, TextKey)
    needle = leaf.value.lower()
    if leaf.field == "bcc":
        return any(needle in v.lower() for v in _header_texts(raw, parsed.root, "bcc"))
    if leaf.field == "text" and any(needle in v.lower() for v in _header_texts(raw, parsed.root, None)):
        return True
    return needle in mime.extract_text(raw, parsed).lower()


# ---------------------------------------------------------------------- SORT (RFC 5256)

SortKey = Literal["arrival", "cc", "date", "from", "size", "subject", "to"]

_SUBJ_LEADER = re.compile(r"^(?:\s*(?:re|fwd?)\s*(?:\[[^\[\]]*\])?\s*:|\s*\[[^\[\]]*\]\s*(?=.))", re.I)
_SUBJ_TRAILER = re.compile(r"(?:\s|\(fwd\))+$", re.I)
_FWD_WRAP = re.compile(r"^\[fwd:(.*)\]$", re.I | re.S)


def base_subject(subject: str) -> str:
    """RFC 5256 §2.1 base subject: no Re:/Fw:/Fwd:, [blob] prefixes, (fwd) trailers; case-folded."""
    text = " ".join(subject.split())
    while True:
        text = _SUBJ_TRAILER.sub("", text)
        while True:
            stripped = _SUBJ_LEADER.sub("", text, count=1)
            if stripped == text:
                break
            text = stripped.lstrip()
        m = _FWD_WRAP.match(text)
        if m is None:
            break
        text = m.group(1).strip()
    return text.strip().lower()


def _mailbox_part(addresses: str) -> str:
    first = addresses.split(",", 1)[0]
    return first.split("@", 1)[0].lower()


async def sort(
    mailbox: Mailbox,
    folder_id: int,
    key: Key,
    order: Sequence[tuple[SortKey, bool]],
    *,
    within: UidRanges | None = None,
) -> list[int]:
    """UIDs matching ``key`` in the order of ``order`` (``(criterion, reverse)`` pairs); ties by uid."""
    async with mailbox.reading() as conn:
        resolved = await _resolve_sources(conn, mailbox, folder_id, key, within)
        rows = list(
            await conn.execute(
                select(
                    _I.uid,
                    _I.internal_date,
                    _I.sent_date,
                    func.coalesce(_I.imap_size, _I.size).label("size"),
                    _I.subject,
                    _I.from_addr,
                    _I.to_addrs,
                    _I.cc_addrs,
                ).where(mailbox.folder_filter(folder_id), uid_clause(_I.uid, within), _compile(key, resolved))
            )
        )
    rows.sort(key=lambda r: r.uid)
    # Stable sorts from the last criterion to the first give a lexicographic order.
    for criterion, reverse in reversed(order):
        rows.sort(key=_SORT_VALUES[criterion], reverse=reverse)
    return [int(r.uid) for r in rows]


_SORT_VALUES: dict[str, Any] = {
    "arrival": lambda r: r.internal_date,
    "date": lambda r: r.sent_date if r.sent_date is not None else r.internal_date,
    "size": lambda r: r.size,
    "subject": lambda r: base_subject(r.subject),
    "from": lambda r: _mailbox_part(r.from_addr),
    "to": lambda r: _mailbox_part(r.to_addrs),
    "cc": lambda r: _mailbox_part(r.cc_addrs),
}


@dataclass(frozen=True, slots=True)
class ThreadRow:
    uid: int
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    date: int


async def thread_rows(
    mailbox: Mailbox, folder_id: int, key: Key, *, within: UidRanges | None = None
) -> list[ThreadRow]:
    """What THREAD (RFC 5256) needs of the matching items, ascending by uid."""
    async with mailbox.reading() as conn:
        resolved = await _resolve_sources(conn, mailbox, folder_id, key, within)
        rows = (
            await conn.execute(
                select(_I.uid, _I.message_id, _I.in_reply_to, _I.refs, _I.subject, _I.sent_date, _I.internal_date)
                .where(mailbox.folder_filter(folder_id), uid_clause(_I.uid, within), _compile(key, resolved))
                .order_by(_I.uid)
            )
        ).all()
    return [
        ThreadRow(
            int(r.uid),
            r.message_id,
            tuple(r.in_reply_to.split()),
            tuple(r.refs.split()),
            r.subject,
            int(r.sent_date if r.sent_date is not None else r.internal_date),
        )
        for r in rows
    ]
