"""Time-range candidates of a calendar folder (RFC 4791 §9.9), from the cached span columns.

``items.start_time``/``end_time`` are written at ingest by ``formats.ical.item_columns``:
``end_time`` is None for an object that recurs without bound (or irregularly, RDATE),
and ``start_time`` None for an object without DTSTART (a VTODO without dates). Such
objects are always candidates. The caller refines candidates in Python (recurrence
expansion); this module only narrows the scan with the ``(folder_id, start_time)`` index.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from kastell.store.mailbox import Mailbox
from kastell.store.model import Item
from kastell.store.scope import _I, _ITEM_COLUMNS, _item


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
