"""Time-range candidates of a calendar folder (RFC 4791 §9.9), from the cached span columns.

``items.start_time``/``end_time`` are written at ingest by ``formats.ical.item_columns``:
``end_time`` is None for an object that recurs without bound (or irregularly, RDATE),
and ``start_time`` None for an object without DTSTART (a VTODO without dates). Such
objects are always candidates. The caller refines candidates in Python (recurrence
expansion); this module only narrows the scan with the ``(folder_id, start_time)`` index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from kastell.db import schema as s
from kastell.store.errors import InvalidFolderName
from kastell.store.mailbox import Mailbox
from kastell.store.model import Folder, Item
from kastell.store.scope import _F, _I, _ITEM_COLUMNS, _folder, _item, validate_path

_P = s.folder_props.c


async def items_in_range(mailbox: Mailbox, folder_id: int, start: int | None, end: int | None) -> list[Item]:
    """Items of the folder whose cached span may overlap ``[start, end)`` (epoch seconds).

    ``None`` bounds are open. An item overlaps when it starts before ``end`` and ends
    after ``start``; a zero-length item at ``start`` counts (RFC 4791 §9.9 table).
    """
    where = [mailbox._item_scope(), _I.folder_id == folder_id]
    if end is not None:
        where.append(or_(_I.start_time.is_(None), _I.start_time < end))
    if start is not None:
        where.append(or_(_I.end_time.is_(None), _I.end_time > start, _I.start_time >= start))
    async with mailbox._db.read() as conn:
        rows = (await conn.execute(select(*_ITEM_COLUMNS).where(*where).order_by(_I.uid))).all()
    return [_item(row) for row in rows]


async def items_by_names(mailbox: Mailbox, folder_id: int, names: list[str]) -> list[Item]:
    """The items of the folder with these resource names (a multiget), in one query per 500."""
    found: list[Item] = []
    async with mailbox._db.read() as conn:
        for first in range(0, len(names), 500):
            chunk = names[first : first + 500]
            rows = await conn.execute(
                select(*_ITEM_COLUMNS).where(mailbox._item_scope(), _I.folder_id == folder_id, _I.name.in_(chunk))
            )
            found.extend(_item(row) for row in rows)
    return found


async def uid_in_use(mailbox: Mailbox, folder_id: int, object_uid: str) -> list[Item]:
    """Items of the folder carrying this iCalendar/vCard UID (RFC 4791 §5.3.2.1 no-uid-conflict)."""
    async with mailbox._db.read() as conn:
        rows = await conn.execute(
            select(*_ITEM_COLUMNS).where(mailbox._item_scope(), _I.folder_id == folder_id, _I.object_uid == object_uid)
        )
        return [_item(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Located:
    """What one DAV request needs to know about a URL, read in one snapshot."""

    folder: Folder | None
    props: dict[str, Any]
    item: Item | None
    same_uid: tuple[Item, ...]  # items of the folder carrying the given object UID


async def locate(mailbox: Mailbox, path: str, name: str | None = None, object_uid: str | None = None) -> Located:
    """The folder at ``path`` with its property bag, the item ``name`` in it, and the items
    holding ``object_uid`` — one read transaction instead of four (a PUT's whole lookup).

    A path that is not a valid folder path is simply not found.
    """
    try:
        path = validate_path(path)
    except InvalidFolderName:
        return Located(None, {}, None, ())
    async with mailbox._db.read() as conn:
        row = (await conn.execute(select(s.folders).where(_F.path == path, mailbox._folder_scope()))).first()
        if row is None:
            return Located(None, {}, None, ())
        folder = _folder(row)
        props = {
            p.name: json.loads(p.value)
            for p in await conn.execute(select(_P.name, _P.value).where(_P.folder_id == folder.id))
        }
        item = None
        if name is not None:
            found = (
                await conn.execute(
                    select(*_ITEM_COLUMNS).where(mailbox._item_scope(), _I.folder_id == folder.id, _I.name == name)
                )
            ).first()
            item = _item(found) if found is not None else None
        same: tuple[Item, ...] = ()
        if object_uid is not None:
            rows = await conn.execute(
                select(*_ITEM_COLUMNS).where(
                    mailbox._item_scope(), _I.folder_id == folder.id, _I.object_uid == object_uid
                )
            )
            same = tuple(_item(r) for r in rows)
    return Located(folder, props, item, same)


_LEAN = (
    _I.id, _I.folder_id, _I.uid, _I.change_num, _I.created_change, _I.kind, _I.name, _I.flags,
    _I.internal_date, _I.internal_tz, _I.size, _I.blob_id, _I.subject, _I.object_uid, _I.start_time, _I.end_time,
)  # fmt: skip


async def listing(mailbox: Mailbox, folder_id: int, *, page: int = 5000) -> list[Item]:
    """The members of a groupware folder for a DAV listing (PROPFIND Depth 1, initial sync).

    Reads only what a listing shows (name, change number, size, dates, UID, span);
    the mail-only fields of the returned Items (addresses, threading, preview) are
    empty. Paged by UID so a huge folder is not one query.
    """
    out: list[Item] = []
    after = 0
    while True:
        async with mailbox._db.read() as conn:
            rows = (
                await conn.execute(
                    select(*_LEAN)
                    .where(mailbox._item_scope(), _I.folder_id == folder_id, _I.uid > after)
                    .order_by(_I.uid)
                    .limit(page)
                )
            ).all()
        out.extend(
            Item(
                id=r[0],
                folder_id=r[1],
                uid=r[2],
                change_num=r[3],
                created_change=r[4],
                kind=r[5],
                name=r[6],
                flags=r[7],
                keywords=(),
                internal_date=r[8],
                internal_tz=r[9],
                size=r[10],
                blob_id=r[11],
                sent_date=None,
                subject=r[12],
                from_addr="",
                from_name="",
                to_addrs=(),
                cc_addrs=(),
                message_id=None,
                in_reply_to=(),
                references=(),
                has_attachments=False,
                preview="",
                object_uid=r[13],
                start_time=r[14],
                end_time=r[15],
            )  # fmt: skip
            for r in rows
        )
        if len(rows) < page:
            return out
        after = rows[-1][2]
