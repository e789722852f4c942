"""A mailbox handle: folders (folders.py) and items of one mailbox, scoped to its organisation.

Each public write is one transaction; it takes change numbers from the mailbox
clock (see mailstore.py), and after it commits the change is published on the
change bus. Scoping and the clock primitives live in scope.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    not_,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.formats.mime import RENDER_VERSION
from kastell.store import fulltext
from kastell.store.errors import (
    FolderExists,
    ItemTooLarge,
    NoSuchItem,
)
from kastell.store.flags import Flag, decode_keywords, encode_keywords
from kastell.store.folders import FolderOps
from kastell.store.ingest import columns_for
from kastell.store.model import (
    Appended,
    Changes,
    FlagChange,
    Item,
    NewItem,
    Tombstone,
)
from kastell.store.scope import (
    _F,
    _I,
    _ITEM_COLUMNS,
    _PARSE_IN_THREAD,
    MAX_ITEM_SIZE,
    PAGE,
    FlagMode,
    UidRanges,
    _folder,
    _item,
    _tomb,
    _unseen,
    uid_clause,
)

#: The renderings ``Mailbox.iter_rows(rendered=...)`` can return as stored at ingest.
Rendered = Literal["envelope", "bodystructure"]


@dataclass(slots=True)
class ItemRow:
    """What a listing of messages needs of an item (IMAP FETCH, sync): lighter than ``Item``.

    No address lists, subject or preview: building those for every row is what
    made FETCH of flags over a 250,000-message folder slow. Not frozen, though
    nobody changes one: a frozen dataclass sets each field through
    ``object.__setattr__``, four times the cost of building it, once per message.
    """

    uid: int
    flags: int
    keywords: tuple[str, ...]
    change_num: int
    size: int
    internal_date: int
    internal_tz: int
    blob_id: str
    structure: bytes | None = field(default=None, repr=False)
    # IMAP ENVELOPE / BODYSTRUCTURE as rendered at ingest (``iter_rows(rendered=...)``);
    # None when the row has no current copy (then ``structure`` is loaded instead).
    envelope: bytes | None = field(default=None, repr=False)
    bodystructure: bytes | None = field(default=None, repr=False)
    # The size IMAP sends when the source has bare LFs (sent as CRLF); None: ``size``.
    imap_size: int | None = None


@dataclass(frozen=True, slots=True)
class FolderChanges:
    """What changed in one folder after a change number (:meth:`Mailbox.folder_changes`)."""

    since: int
    last_change: int
    items: list[ItemRow]  # ascending change number
    removed: list[Tombstone]  # ascending change number
    # False when tombstones after ``since`` may have been pruned: ``removed`` is then
    # not everything that left the folder (compare UIDs instead).
    complete: bool = True


_ROW_COLUMNS = (
    _I.uid, _I.flags, _I.keywords, _I.change_num, _I.size, _I.internal_date, _I.internal_tz, _I.blob_id,
    _I.imap_size,
)  # fmt: skip


def _row(r: Any, structure: bytes | None = None) -> ItemRow:
    kw = r[2]
    return ItemRow(r[0], r[1], tuple(kw.split()) if kw else (), r[3], r[4], r[5], r[6], r[7], structure, imap_size=r[8])


class Mailbox(FolderOps):
    # ------------------------------------------------------------------ for store.search

    def folder_filter(self, folder_id: int) -> ColumnElement[bool]:
        """The condition on ``items`` that every query of this folder carries (tenancy, folder).

        For the store's own query builders (store/search.py); protocols never see SQL.
        """
        return and_(self._item_scope(), _I.folder_id == folder_id)

    def reading(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A read snapshot of this mailbox's database (store/search.py)."""
        return self._db.read()

    # -------------------------------------------------------------------- items

    async def append(self, folder_id: int, item: NewItem) -> Appended:
        return (await self.append_many(folder_id, [item]))[0]

    async def append_many(
        self, folder_id: int, new_items: Sequence[NewItem], *, skip_duplicates: bool = False
    ) -> list[Appended]:
        """Store items in one transaction, after their sources are durable in the blob store.

        ``skip_duplicates``: an item whose exact source is in the folder already is not
        stored again (``Appended.duplicate`` is set, with the existing uid) — what makes
        imports idempotent.
        """
        if not new_items:
            return []
        for new in new_items:
            if len(new.source) > MAX_ITEM_SIZE:
                raise ItemTooLarge(f"item of {len(new.source)} bytes exceeds {MAX_ITEM_SIZE}")
        # Full-text: the index text comes from the same parse as the columns.
        ingested = [await _columns_and_text(new) for new in new_items]
        columns = [c for c, _ in ingested]
        refs = await self._store.blobs.put_many([new.source for new in new_items])
        now = int(time.time())
        results: list[Appended | None] = [None] * len(new_items)
        async with self._db.write() as conn:
            folder = await self._folder_row(conn, folder_id)
            todo = list(range(len(new_items)))
            if skip_duplicates:
                existing = {
                    row.blob_id: row.uid
                    for row in await conn.execute(
                        select(_I.blob_id, _I.uid).where(
                            self._item_scope(),
                            _I.folder_id == folder_id,
                            _I.blob_id.in_({ref.id for ref in refs}),
                        )
                    )
                }
                seen: set[str] = set()
                for i, ref in enumerate(refs):
                    if ref.id in existing:
                        results[i] = Appended(0, existing[ref.id], 0, folder.uidvalidity, duplicate=True)
                    elif ref.id in seen:
                        results[i] = Appended(0, 0, 0, folder.uidvalidity, duplicate=True)
                    else:
                        seen.add(ref.id)
                todo = [i for i in todo if results[i] is None]
            if todo:
                total = sum(refs[i].size for i in todo)
                await self._check_quota(conn, total)
                first_change = await self._take_changes(conn, len(todo))
                first_uid = await self._take_uids(conn, folder_id, len(todo))
                rows = []
                for n, i in enumerate(todo):
                    new = new_items[i]
                    rows.append(
                        {
                            "org_id": self.org_id,
                            "mailbox_id": self.id,
                            "folder_id": folder_id,
                            "uid": first_uid + n,
                            "created_change": first_change + n,
                            "change_num": first_change + n,
                            "kind": new.kind,
                            "name": new.name,
                            "flags": int(new.flags),
                            "keywords": encode_keywords(new.keywords),
                            "internal_date": new.internal_date if new.internal_date is not None else now,
                            "internal_tz": new.internal_tz,
                            "size": refs[i].size,
                            "blob_id": refs[i].id,
                            **columns[i],
                        }
                    )
                inserted = await conn.execute(
                    insert(s.items).returning(_I.id, _I.uid, sort_by_parameter_order=True), rows
                )
                ids = [row.id for row in inserted]
                # Full-text: indexed in this transaction, so a committed item is searchable.
                await fulltext.insert_texts(conn, self.id, [(ids[n], ingested[i][1]) for n, i in enumerate(todo)])
                props = [
                    {"item_id": ids[n], "name": key, "value": json.dumps(value)}
                    for n, i in enumerate(todo)
                    for key, value in (new_items[i].props or {}).items()
                ]
                if props:
                    await conn.execute(insert(s.item_props), props)
                last = first_change + len(todo) - 1
                unseen = sum(_unseen(int(new_items[i].flags)) for i in todo)
                await self._adjust(conn, folder_id, last, count=len(todo), unseen=unseen, size=total)
                for n, i in enumerate(todo):
                    results[i] = Appended(ids[n], first_uid + n, first_change + n, folder.uidvalidity)
        if todo:
            self._publish(last, [folder_id])
        return [r for r in results if r is not None]

    async def iter_items(
        self, folder_id: int, uids: UidRanges | None = None, *, with_structure: bool = False, page: int = PAGE
    ) -> AsyncIterator[Item]:
        """Items of a folder in UID order, read in pages (never the whole folder at once)."""
        cols = [*_ITEM_COLUMNS, _I.structure] if with_structure else _ITEM_COLUMNS
        after = 0
        while True:
            async with self._db.read() as conn:
                rows = (
                    await conn.execute(
                        select(*cols)
                        .where(self._item_scope(), _I.folder_id == folder_id, _I.uid > after, uid_clause(_I.uid, uids))
                        .order_by(_I.uid)
                        .limit(page)
                    )
                ).all()
            for row in rows:
                yield _item(row, row.structure if with_structure else None)
            if len(rows) < page:
                return
            after = rows[-1].uid

    async def iter_rows(
        self,
        folder_id: int,
        uids: UidRanges | None = None,
        *,
        with_structure: bool = False,
        rendered: Collection[Rendered] = (),
        changed_since: int | None = None,
        page: int = 2000,
    ) -> AsyncIterator[ItemRow]:
        """Lean rows of a folder's items in UID order, a page per query (never the whole folder).

        ``changed_since``: only items whose change number is above it (CONDSTORE).
        ``with_structure``: rows carry the cached MIME structure (``formats.mime.loads``).
        ``rendered``: rows carry IMAP ``"envelope"`` and/or ``"bodystructure"`` as
        rendered at ingest when the stored copies are current
        (``formats.mime.RENDER_VERSION``); rows without them (stored before
        migration 0012, or by an older renderer) carry the structure instead, even
        without ``with_structure``.
        """
        cols: list[ColumnElement[Any]] = list(_ROW_COLUMNS)
        if rendered:
            current = _I.imap_render == RENDER_VERSION
            cols += [
                _I.structure if with_structure else case((current, null()), else_=_I.structure),
                case((current, _I.imap_envelope), else_=null()) if "envelope" in rendered else null(),
                case((current, _I.imap_bodystructure), else_=null()) if "bodystructure" in rendered else null(),
            ]
        elif with_structure:
            cols.append(_I.structure)
        where = [self._item_scope(), _I.folder_id == folder_id, uid_clause(_I.uid, uids)]
        if changed_since is not None:
            where.append(_I.change_num > changed_since)
        after = 0
        while True:
            async with self._db.read() as conn:
                rows = (
                    await conn.execute(select(*cols).where(*where, _I.uid > after).order_by(_I.uid).limit(page))
                ).all()
            if rendered:
                for r in rows:
                    kw = r[2]
                    yield ItemRow(
                        r[0], r[1], tuple(kw.split()) if kw else (), r[3], r[4], r[5], r[6], r[7],
                        r[9], r[10], r[11], r[8],
                    )  # fmt: skip
            elif with_structure:
                for r in rows:
                    yield _row(r, r[9])
            else:
                for r in rows:
                    yield _row(r)
            if len(rows) < page:
                return
            after = rows[-1][0]

    async def item(self, item_id: int, *, with_structure: bool = True) -> Item:
        cols = [*_ITEM_COLUMNS, _I.structure] if with_structure else _ITEM_COLUMNS
        async with self._db.read() as conn:
            row = (await conn.execute(select(*cols).where(self._item_scope(), _I.id == item_id))).first()
        if row is None:
            raise NoSuchItem(f"no item {item_id}")
        return _item(row, row.structure if with_structure else None)

    async def item_by_uid(self, folder_id: int, uid: int, *, with_structure: bool = True) -> Item:
        cols = [*_ITEM_COLUMNS, _I.structure] if with_structure else _ITEM_COLUMNS
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(*cols).where(self._item_scope(), _I.folder_id == folder_id, _I.uid == uid))
            ).first()
        if row is None:
            raise NoSuchItem(f"no item with uid {uid}")
        return _item(row, row.structure if with_structure else None)

    async def item_by_name(self, folder_id: int, name: str, *, with_structure: bool = False) -> Item:
        """The item with this resource name (a DAV ``abc.ics``) in the folder."""
        cols = [*_ITEM_COLUMNS, _I.structure] if with_structure else _ITEM_COLUMNS
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(*cols).where(self._item_scope(), _I.folder_id == folder_id, _I.name == name))
            ).first()
        if row is None:
            raise NoSuchItem(f"no item named {name!r}")
        return _item(row, row.structure if with_structure else None)

    async def replace(self, item_id: int, new: NewItem) -> Item:
        """Give a groupware object (event, task, note, contact) new content.

        The item keeps its id, uid, name and flags and takes a new change number;
        quota moves by the size difference. Messages are immutable (IMAP clients
        cache them by uid): replacing one is refused with ``ValueError``.
        """
        if len(new.source) > MAX_ITEM_SIZE:
            raise ItemTooLarge(f"item of {len(new.source)} bytes exceeds {MAX_ITEM_SIZE}")
        columns, _ = await _columns_and_text(new)
        ref = await self._store.blobs.put(new.source)
        async with self._db.write() as conn:
            row = (
                await conn.execute(
                    select(_I.id, _I.folder_id, _I.size, _I.kind).where(self._item_scope(), _I.id == item_id)
                )
            ).first()
            if row is None:
                raise NoSuchItem(f"no item {item_id}")
            if row.kind == "message" or new.kind == "message":
                raise ValueError("messages cannot be replaced")
            delta = ref.size - row.size
            if delta > 0:
                await self._check_quota(conn, delta)
            change = await self._take_changes(conn, 1)
            await conn.execute(
                update(s.items)
                .where(_I.id == item_id)
                .values(blob_id=ref.id, size=ref.size, change_num=change, kind=new.kind, **columns)
            )
            await self._adjust(conn, row.folder_id, change, size=delta)
            if new.props:
                for key, value in new.props.items():
                    await conn.execute(
                        delete(s.item_props).where(s.item_props.c.item_id == item_id, s.item_props.c.name == key)
                    )
                    await conn.execute(insert(s.item_props).values(item_id=item_id, name=key, value=json.dumps(value)))
            updated = (await conn.execute(select(*_ITEM_COLUMNS, _I.structure).where(_I.id == item_id))).one()
        self._publish(change, [row.folder_id])
        return _item(updated, updated.structure)

    async def remove(self, item_id: int) -> int:
        """Delete one item by id (leaving a tombstone); the change number it took."""
        async with self._db.write() as conn:
            row = (await conn.execute(select(_I.folder_id, _I.uid).where(self._item_scope(), _I.id == item_id))).first()
            if row is None:
                raise NoSuchItem(f"no item {item_id}")
            await self._remove_items(conn, row.folder_id, [(row.uid, row.uid)], None)
            change = await self._last_change(conn)
        self._publish(change, [row.folder_id])
        return change

    async def source(self, item: Item | ItemRow) -> bytes:
        """The byte-exact source of an item or row obtained from this mailbox."""
        return await self._store.blobs.get(item.blob_id)

    async def props(self, item_id: int) -> dict[str, Any]:
        async with self._db.read() as conn:
            await self._require_item(conn, item_id)
            rows = await conn.execute(select(s.item_props).where(s.item_props.c.item_id == item_id))
            return {row.name: json.loads(row.value) for row in rows}

    async def set_props(self, item_id: int, values: dict[str, Any]) -> int:
        """Set (None deletes) protocol properties of an item; bumps its change number."""
        async with self._db.write() as conn:
            row = await self._require_item(conn, item_id)
            for key, value in values.items():
                await conn.execute(
                    delete(s.item_props).where(s.item_props.c.item_id == item_id, s.item_props.c.name == key)
                )
                if value is not None:
                    await conn.execute(insert(s.item_props).values(item_id=item_id, name=key, value=json.dumps(value)))
            change = await self._take_changes(conn, 1)
            await conn.execute(update(s.items).where(_I.id == item_id).values(change_num=change))
            await self._adjust(conn, row.folder_id, change)
        self._publish(change, [row.folder_id])
        return change

    async def _require_item(self, conn: AsyncConnection, item_id: int) -> Any:
        row = (await conn.execute(select(_I.id, _I.folder_id).where(self._item_scope(), _I.id == item_id))).first()
        if row is None:
            raise NoSuchItem(f"no item {item_id}")
        return row

    async def store_flags(
        self,
        folder_id: int,
        uids: UidRanges | None,
        mode: FlagMode,
        flags: int = 0,
        keywords: Sequence[str] = (),
        *,
        unchanged_since: int | None = None,
    ) -> tuple[list[FlagChange], list[int]]:
        """Change flags (IMAP STORE semantics). Returns (changes made, uids refused), ascending by uid.

        Items whose flags would not change take no change number; the others take
        consecutive ones in uid order. With ``unchanged_since`` (RFC 7162
        CONDSTORE), items changed after it are refused and reported in the second list.
        """
        encoded_kw = encode_keywords(keywords)  # validates; the column form for "set"
        async with self._db.write() as conn:
            await self._folder_row(conn, folder_id)
            # Lock the clock before reading what will change (PostgreSQL: the row lock
            # serialises writers of this mailbox; SQLite's writer is single anyway).
            await self._take_changes(conn, 0)
            where = [self._item_scope(), _I.folder_id == folder_id, uid_clause(_I.uid, uids)]
            refused: list[int] = []
            if unchanged_since is not None:
                stale = _I.change_num > unchanged_since
                refused = list((await conn.scalars(select(_I.uid).where(*where, stale).order_by(_I.uid))).all())
                where.append(not_(stale))
            if keywords and mode != "set":
                changed = await self._store_keywords(conn, folder_id, where, mode, flags, keywords)
            else:
                changed = await self._store_bits(conn, folder_id, where, mode, flags, encoded_kw)
        if changed:
            self._publish(changed[-1].change_num, [folder_id])
        return changed, refused

    async def _store_bits(
        self,
        conn: AsyncConnection,
        folder_id: int,
        where: list[ColumnElement[bool]],
        mode: FlagMode,
        flags: int,
        encoded_kw: str,
    ) -> list[FlagChange]:
        """STORE of system flags (or FLAGS with keywords): one set-based UPDATE.

        ``STORE 1:* +FLAGS`` on a large folder must not build a Python object and a
        parameter set per message; the database computes the new bits and hands
        out the change numbers (``row_number()`` in uid order).
        """
        new_flags: ColumnElement[int]
        if mode == "add":
            new_flags, differs = _I.flags.op("|")(flags), _I.flags.op("&")(flags) != flags
            new_kw: Any = _I.keywords
        elif mode == "remove":
            new_flags, differs = _I.flags.op("&")(~flags), _I.flags.op("&")(flags) != 0
            new_kw = _I.keywords
        else:
            new_flags, differs = literal(flags), or_(_I.flags != flags, _I.keywords != encoded_kw)
            new_kw = encoded_kw
        seen = int(Flag.SEEN)
        count, seen_delta = (
            await conn.execute(
                select(
                    func.count(), func.coalesce(func.sum(new_flags.op("&")(seen) - _I.flags.op("&")(seen)), 0)
                ).where(*where, differs)
            )
        ).one()
        if not count:
            return []
        first = await self._take_changes(conn, count)
        ranked = (
            select(_I.id.label("rid"), func.row_number().over(order_by=_I.uid).label("n"))
            .where(*where, differs)
            .cte("ranked")
        )
        rows = list(
            await conn.execute(
                update(s.items)
                .where(_I.id == ranked.c.rid)
                .values(flags=new_flags, keywords=new_kw, change_num=ranked.c.n + (first - 1))
                .returning(_I.uid, _I.id, _I.flags, _I.keywords, _I.change_num)
            )
        )
        # Every counted row is updated: the transaction holds the write lock.
        assert len(rows) == count, (len(rows), count)
        await self._adjust(conn, folder_id, first + count - 1, unseen=-int(seen_delta))
        rows.sort(key=lambda r: r[0])
        return [FlagChange(r[0], r[1], r[2], tuple(r[3].split()), r[4]) for r in rows]

    async def _store_keywords(
        self,
        conn: AsyncConnection,
        folder_id: int,
        where: list[ColumnElement[bool]],
        mode: FlagMode,
        flags: int,
        keywords: Sequence[str],
    ) -> list[FlagChange]:
        """+FLAGS / -FLAGS with keywords: each item's keyword set is merged in Python."""
        wanted_kw = {k.lower(): k for k in keywords}
        rows = (await conn.execute(select(_I.id, _I.uid, _I.flags, _I.keywords).where(*where).order_by(_I.uid))).all()
        updates: list[tuple[Any, int, str]] = []
        for row in rows:
            current = {k.lower(): k for k in decode_keywords(row.keywords)}
            if mode == "add":
                new_flags, new_kw = row.flags | flags, {**current, **wanted_kw}
            else:
                new_flags = row.flags & ~flags
                new_kw = {k: v for k, v in current.items() if k not in wanted_kw}
            encoded = encode_keywords(new_kw.values())
            if new_flags != row.flags or encoded != row.keywords:
                updates.append((row, int(new_flags), encoded))
        if not updates:
            return []
        first = await self._take_changes(conn, len(updates))
        await conn.execute(
            update(s.items)
            .where(_I.id == bindparam("b_id"))
            .values(flags=bindparam("b_flags"), keywords=bindparam("b_kw"), change_num=bindparam("b_change")),
            [
                {"b_id": row.id, "b_flags": new_flags, "b_kw": encoded, "b_change": first + n}
                for n, (row, new_flags, encoded) in enumerate(updates)
            ],
        )
        unseen_delta = sum(_unseen(new_flags) - _unseen(row.flags) for row, new_flags, _ in updates)
        await self._adjust(conn, folder_id, first + len(updates) - 1, unseen=unseen_delta)
        return [
            FlagChange(row.uid, row.id, new_flags, decode_keywords(encoded), first + n)
            for n, (row, new_flags, encoded) in enumerate(updates)
        ]

    async def expunge(self, folder_id: int, uids: UidRanges | None) -> list[int]:
        """Delete items for good (each leaves a tombstone); the uids removed, ascending."""
        async with self._db.write() as conn:
            await self._folder_row(conn, folder_id)
            removed = await self._remove_items(conn, folder_id, uids, None)
            last = await self._last_change(conn) if removed else 0
        if removed:
            self._publish(last, [folder_id])
        return removed

    async def move(self, source_id: int, uids: UidRanges | None, target_id: int) -> list[tuple[int, int]]:
        """Move items (same item ids, new uids in the target); ``[(old_uid, new_uid)]``."""
        async with self._db.write() as conn:
            await self._folder_row(conn, source_id)
            await self._folder_row(conn, target_id)
            rows = (
                await conn.execute(
                    select(_I.id, _I.uid, _I.size, _I.flags, _I.name)
                    .where(self._item_scope(), _I.folder_id == source_id, uid_clause(_I.uid, uids))
                    .order_by(_I.uid)
                )
            ).all()
            if not rows:
                return []
            first = await self._take_changes(conn, len(rows))
            first_uid = await self._take_uids(conn, target_id, len(rows))
            now = int(time.time())
            # A moved item must not clash with a same-named item in the target.
            names = [r.name for r in rows if r.name is not None]
            if names:
                clash = await conn.scalar(
                    select(func.count()).where(self._item_scope(), _I.folder_id == target_id, _I.name.in_(names))
                )
                if clash:
                    raise FolderExists("an item with the same name exists in the target folder")
            await conn.execute(
                insert(s.tombstones),
                [
                    {
                        "org_id": self.org_id,
                        "mailbox_id": self.id,
                        "change_num": first + n,
                        "kind": "item",
                        "object_id": row.id,
                        "folder_id": source_id,
                        "uid": row.uid,
                        "name": row.name,
                        "created": now,
                    }
                    for n, row in enumerate(rows)
                ],
            )
            await conn.execute(
                update(s.items)
                .where(_I.id == bindparam("b_id"))
                .values(folder_id=target_id, uid=bindparam("b_uid"), change_num=bindparam("b_change")),
                [{"b_id": row.id, "b_uid": first_uid + n, "b_change": first + n} for n, row in enumerate(rows)],
            )
            size = sum(r.size for r in rows)
            unseen = sum(_unseen(r.flags) for r in rows)
            last = first + len(rows) - 1
            await self._adjust(conn, source_id, last, count=-len(rows), unseen=-unseen, size=-size)
            await self._adjust(conn, target_id, last, count=len(rows), unseen=unseen, size=size)
        self._publish(last, [source_id, target_id])
        return [(row.uid, first_uid + n) for n, row in enumerate(rows)]

    async def copy(self, source_id: int, uids: UidRanges | None, target_id: int) -> list[tuple[int, int]]:
        """Copy items (new item ids, shared blobs, quota charged); ``[(old_uid, new_uid)]``."""
        async with self._db.write() as conn:
            await self._folder_row(conn, source_id)
            await self._folder_row(conn, target_id)
            rows = (
                await conn.execute(
                    select(s.items)
                    .where(self._item_scope(), _I.folder_id == source_id, uid_clause(_I.uid, uids))
                    .order_by(_I.uid)
                )
            ).all()
            if not rows:
                return []
            size = sum(r.size for r in rows)
            await self._check_quota(conn, size)
            first = await self._take_changes(conn, len(rows))
            first_uid = await self._take_uids(conn, target_id, len(rows))
            copies = []
            for n, row in enumerate(rows):
                values = row._asdict()
                del values["id"]
                values.update(
                    folder_id=target_id, uid=first_uid + n, change_num=first + n, created_change=first + n, name=None
                )
                copies.append(values)
            inserted = await conn.execute(insert(s.items).returning(_I.id, sort_by_parameter_order=True), copies)
            new_ids = [r.id for r in inserted]
            old_to_new = {row.id: new_ids[n] for n, row in enumerate(rows)}
            props = (await conn.execute(select(s.item_props).where(s.item_props.c.item_id.in_(list(old_to_new))))).all()
            if props:
                await conn.execute(
                    insert(s.item_props),
                    [{"item_id": old_to_new[p.item_id], "name": p.name, "value": p.value} for p in props],
                )
            # Full-text: a copy is a new item id and needs its own index row.
            await fulltext.copy_texts(conn, old_to_new)
            last = first + len(rows) - 1
            unseen = sum(_unseen(r.flags) for r in rows)
            await self._adjust(conn, target_id, last, count=len(rows), unseen=unseen, size=size)
        self._publish(last, [target_id])
        return [(row.uid, first_uid + n) for n, row in enumerate(rows)]

    # ------------------------------------------------------------------ changes

    async def folder_changes(self, since: int, folder_id: int, *, limit: int = 10000) -> FolderChanges:
        """What changed in one folder after ``since``, as lean rows (IMAP's untagged updates).

        The folder view of :meth:`changes_since` (items moved out are in ``removed``),
        without building full ``Item`` values: a session that just stored flags
        on 5,000 messages reads them all back here. ``limit`` bounds each list as there.
        """
        T = s.tombstones.c
        async with self._db.read() as conn:
            last, pruned = await self._clock(conn)
            items = (
                await conn.execute(
                    select(*_ROW_COLUMNS)
                    .where(self._item_scope(), _I.folder_id == folder_id, _I.change_num > since)
                    .order_by(_I.change_num)
                    .limit(limit)
                )
            ).all()
            tombs = (
                await conn.execute(
                    select(s.tombstones)
                    .where(
                        T.org_id == self.org_id,
                        T.mailbox_id == self.id,
                        T.folder_id == folder_id,
                        T.change_num > since,
                        T.kind == "item",
                    )
                    .order_by(T.change_num)
                    .limit(limit)
                )
            ).all()
        return FolderChanges(since, last, [_row(r) for r in items], [_tomb(t) for t in tombs], since >= pruned)

    async def changes_since(self, since: int, folder_id: int | None = None, *, limit: int = 10000) -> Changes:
        """What changed after change number ``since`` (in one folder, or the whole mailbox).

        Items moved out of ``folder_id`` appear in ``removed`` for that folder; in the
        mailbox-wide view a moved item is just a changed item (its id survives).
        ``limit`` bounds each list; a caller that gets a full list asks again from the
        highest change number it received.
        """
        T = s.tombstones.c
        async with self._db.read() as conn:
            last, pruned = await self._clock(conn)
            item_where = [self._item_scope(), _I.change_num > since]
            tomb_where = [T.org_id == self.org_id, T.mailbox_id == self.id, T.change_num > since, T.kind == "item"]
            if folder_id is not None:
                item_where.append(_I.folder_id == folder_id)
                tomb_where.append(T.folder_id == folder_id)
            items = (
                await conn.execute(select(*_ITEM_COLUMNS).where(*item_where).order_by(_I.change_num).limit(limit))
            ).all()
            tombs = (
                await conn.execute(select(s.tombstones).where(*tomb_where).order_by(T.change_num).limit(limit))
            ).all()
            live_ids = {row.id for row in items}
            if folder_id is None and tombs:
                # A tombstone of a moved item is not a deletion mailbox-wide.
                still = {
                    r.id
                    for r in await conn.execute(
                        select(_I.id).where(self._item_scope(), _I.id.in_([t.object_id for t in tombs]))
                    )
                }
                tombs = [t for t in tombs if t.object_id not in still and t.object_id not in live_ids]
            folder_rows = (
                await conn.execute(select(s.folders).where(self._folder_scope(), _F.change_num > since))
            ).all()
            folder_tombs = (
                await conn.execute(
                    select(s.tombstones).where(
                        T.org_id == self.org_id, T.mailbox_id == self.id, T.change_num > since, T.kind == "folder"
                    )
                )
            ).all()
        return Changes(
            since=since,
            last_change=last,
            items=tuple(_item(row) for row in items),
            removed=tuple(_tomb(t) for t in tombs),
            folders=tuple(_folder(f) for f in folder_rows),
            removed_folders=tuple(_tomb(t) for t in folder_tombs),
            complete=since >= pruned,
        )

    async def _clock(self, conn: AsyncConnection) -> tuple[int, int]:
        """The mailbox's last change number and the one up to which tombstones may be pruned."""
        row = (
            await conn.execute(
                select(s.mailboxes.c.last_change, s.mailboxes.c.tombstones_below).where(s.mailboxes.c.id == self.id)
            )
        ).first()
        return (int(row.last_change), int(row.tombstones_below)) if row is not None else (0, 0)

    async def audit(self) -> list[str]:
        """Recount every cached counter from the items; the discrepancies found (none is good)."""
        problems = []
        async with self._db.read() as conn:
            totals = (
                await conn.execute(select(func.count(), func.coalesce(func.sum(_I.size), 0)).where(self._item_scope()))
            ).one()
            mailbox = (await conn.execute(select(s.mailboxes).where(s.mailboxes.c.id == self.id))).one()
            if (mailbox.item_count, mailbox.quota_used) != (totals[0], totals[1]):
                problems.append(
                    f"mailbox counters {mailbox.item_count}/{mailbox.quota_used} != {totals[0]}/{totals[1]}"
                )
            for folder in await conn.execute(select(s.folders).where(self._folder_scope())):
                count, size, unseen, max_uid = (
                    await conn.execute(
                        select(
                            func.count(),
                            func.coalesce(func.sum(_I.size), 0),
                            func.coalesce(func.sum(1 - _I.flags.op("&")(int(Flag.SEEN))), 0),  # SEEN is bit 1
                            func.coalesce(func.max(_I.uid), 0),
                        ).where(self._item_scope(), _I.folder_id == folder.id)
                    )
                ).one()
                if (folder.item_count, folder.size, folder.unseen_count) != (count, size, unseen):
                    problems.append(
                        f"folder {folder.path}: counters {folder.item_count}/{folder.size}/{folder.unseen_count}"
                        f" != {count}/{size}/{unseen}"
                    )
                if max_uid >= folder.uidnext:
                    problems.append(f"folder {folder.path}: uid {max_uid} >= uidnext {folder.uidnext}")
        return problems


async def _columns_and_text(new: NewItem) -> tuple[dict[str, Any], str]:
    """The cached columns and index text of a new item (large sources parsed off the loop)."""
    if len(new.source) > _PARSE_IN_THREAD:
        return await asyncio.to_thread(columns_for, new.kind, new.source)
    return columns_for(new.kind, new.source)
