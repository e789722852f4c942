"""The scope and primitives of a mailbox handle: tenancy filters, the change clock, counters.

Every statement a mailbox handle runs filters on ``org_id`` and ``mailbox_id`` (items
and folders carry both), so a folder or item id from another mailbox or tenant is
reported as not found. The clock primitives reserve consecutive change numbers and
UIDs inside the caller's transaction (see mailstore.py for the theory).

UID sets are passed as sequences of inclusive ``(first, last)`` ranges, the shape
of an IMAP sequence set, so that "1:*" on a 250,000-message folder is one range and
not a quarter of a million parameters.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.events import Change
from kastell.store.errors import (
    InvalidFolderName,
    NoSuchFolder,
    NoSuchMailbox,
    QuotaExceeded,
)
from kastell.store.flags import Flag, decode_keywords
from kastell.store.model import (
    Folder,
    Item,
    Quota,
    Tombstone,
)

if TYPE_CHECKING:
    from kastell.store.mailstore import MailStore

UidRanges = Sequence[tuple[int, int]]
FlagMode = Literal["set", "add", "remove"]

MAX_PATH = 1024
MAX_ITEM_SIZE = 256 * 1024 * 1024
PAGE = 1000
# Sources above this size are parsed off the event loop.
_PARSE_IN_THREAD = 256 * 1024

# The cached structure and the stored IMAP renderings are read only by the listings that need them.
_ITEM_COLUMNS = [
    c
    for c in s.items.c
    if c.name not in ("org_id", "mailbox_id", "structure", "imap_envelope", "imap_bodystructure", "imap_render")
]
_F = s.folders.c
_I = s.items.c


def validate_path(path: str) -> str:
    """A folder path: levels separated by "/", none empty, no control characters."""
    if not path or len(path) > MAX_PATH:
        raise InvalidFolderName(f"invalid folder name: {path[:80]!r}")
    levels = path.split("/")
    if any(not level for level in levels):
        raise InvalidFolderName(f"invalid folder name: {path!r}")
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in path):
        raise InvalidFolderName("folder names cannot contain control characters")
    if levels[0].upper() == "INBOX":
        levels[0] = "INBOX"
    return "/".join(levels)


def uid_clause(column: ColumnElement[Any], ranges: UidRanges | None) -> ColumnElement[bool]:
    if ranges is None:
        return true()
    if not ranges:
        return column == -1  # empty set: matches nothing
    parts = [column == lo if lo == hi else column.between(lo, hi) for lo, hi in ranges]
    return parts[0] if len(parts) == 1 else or_(*parts)


def _folder(row: Any) -> Folder:
    return Folder(
        id=row.id,
        mailbox_id=row.mailbox_id,
        parent_id=row.parent_id,
        path=row.path,
        folder_class=row.folder_class,
        role=row.role,
        uidvalidity=row.uidvalidity,
        uidnext=row.uidnext,
        subscribed=bool(row.subscribed),
        change_num=row.change_num,
        content_change=row.content_change,
        item_count=row.item_count,
        unseen_count=row.unseen_count,
        size=row.size,
    )


def _item(row: Any, structure: bytes | None = None) -> Item:
    return Item(
        id=row.id,
        folder_id=row.folder_id,
        uid=row.uid,
        change_num=row.change_num,
        created_change=row.created_change,
        kind=row.kind,
        name=row.name,
        flags=row.flags,
        keywords=decode_keywords(row.keywords),
        internal_date=row.internal_date,
        internal_tz=row.internal_tz,
        size=row.size,
        blob_id=row.blob_id,
        sent_date=row.sent_date,
        subject=row.subject,
        from_addr=row.from_addr,
        from_name=row.from_name,
        to_addrs=tuple(a for a in row.to_addrs.split(",") if a),
        cc_addrs=tuple(a for a in row.cc_addrs.split(",") if a),
        message_id=row.message_id,
        in_reply_to=tuple(row.in_reply_to.split()),
        references=tuple(row.refs.split()),
        has_attachments=bool(row.has_attachments),
        preview=row.preview,
        object_uid=row.object_uid,
        start_time=row.start_time,
        end_time=row.end_time,
        structure=structure,
    )


def _unseen(flags: int) -> int:
    return 0 if flags & Flag.SEEN else 1


def _tomb(row: Any) -> Tombstone:
    return Tombstone(row.change_num, row.kind, row.object_id, row.folder_id, row.uid, row.name)


class MailboxScope:
    def __init__(self, store: MailStore, org_id: int, account_id: int, mailbox_id: int) -> None:
        self._store = store
        self._db = store.db
        self.org_id = org_id
        self.account_id = account_id
        self.id = mailbox_id

    # ------------------------------------------------------------------ scoping

    def _folder_scope(self) -> ColumnElement[bool]:
        return and_(_F.org_id == self.org_id, _F.mailbox_id == self.id)

    def _item_scope(self) -> ColumnElement[bool]:
        return and_(_I.org_id == self.org_id, _I.mailbox_id == self.id)

    async def _take_changes(self, conn: AsyncConnection, count: int) -> int:
        """Reserve ``count`` change numbers; returns the first (they are consecutive)."""
        last = await conn.scalar(
            update(s.mailboxes)
            .where(s.mailboxes.c.id == self.id, s.mailboxes.c.org_id == self.org_id)
            .values(last_change=s.mailboxes.c.last_change + count)
            .returning(s.mailboxes.c.last_change)
        )
        if last is None:
            raise NoSuchMailbox("mailbox no longer exists")
        return int(last) - count + 1

    async def _take_uids(self, conn: AsyncConnection, folder_id: int, count: int) -> int:
        nxt = await conn.scalar(
            update(s.folders)
            .where(_F.id == folder_id, self._folder_scope())
            .values(uidnext=_F.uidnext + count)
            .returning(_F.uidnext)
        )
        if nxt is None:
            raise NoSuchFolder(f"no folder {folder_id}")
        return int(nxt) - count

    async def _folder_row(self, conn: AsyncConnection, folder_id: int) -> Any:
        row = (await conn.execute(select(s.folders).where(_F.id == folder_id, self._folder_scope()))).first()
        if row is None:
            raise NoSuchFolder(f"no folder {folder_id}")
        return row

    async def _adjust(
        self, conn: AsyncConnection, folder_id: int, change: int, *, count: int = 0, unseen: int = 0, size: int = 0
    ) -> None:
        await conn.execute(
            update(s.folders)
            .where(_F.id == folder_id, self._folder_scope())
            .values(
                item_count=_F.item_count + count,
                unseen_count=_F.unseen_count + unseen,
                size=_F.size + size,
                content_change=change,
            )
        )
        if count or size:
            await conn.execute(
                update(s.mailboxes)
                .where(s.mailboxes.c.id == self.id)
                .values(
                    item_count=s.mailboxes.c.item_count + count,
                    quota_used=s.mailboxes.c.quota_used + size,
                )
            )

    async def _check_quota(self, conn: AsyncConnection, adding: int) -> None:
        row = (
            await conn.execute(
                select(s.mailboxes.c.quota_used, s.accounts.c.quota_bytes)
                .join(s.accounts, s.accounts.c.id == s.mailboxes.c.account_id)
                .where(s.mailboxes.c.id == self.id)
            )
        ).first()
        if row is None:
            raise NoSuchMailbox("mailbox no longer exists")
        if row.quota_bytes and row.quota_used + adding > row.quota_bytes:
            raise QuotaExceeded(f"quota exceeded: {row.quota_used + adding} of {row.quota_bytes} bytes")

    def _publish(self, last_change: int, folder_ids: Iterable[int]) -> None:
        self._store.events.publish(Change(self.id, last_change, frozenset(folder_ids)))

    async def _last_change(self, conn: AsyncConnection) -> int:
        value = await conn.scalar(select(s.mailboxes.c.last_change).where(s.mailboxes.c.id == self.id))
        return int(value or 0)

    async def last_change(self) -> int:
        async with self._db.read() as conn:
            return await self._last_change(conn)

    async def quota(self) -> Quota:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(s.mailboxes.c.quota_used, s.mailboxes.c.item_count, s.accounts.c.quota_bytes)
                    .join(s.accounts, s.accounts.c.id == s.mailboxes.c.account_id)
                    .where(s.mailboxes.c.id == self.id, s.mailboxes.c.org_id == self.org_id)
                )
            ).first()
        if row is None:
            raise NoSuchMailbox("mailbox no longer exists")
        return Quota(used=row.quota_used, limit=row.quota_bytes, items=row.item_count)

    # ------------------------------------------------------------------ shared writes

    async def _remove_items(
        self, conn: AsyncConnection, folder_id: int, uids: UidRanges | None, change: int | None
    ) -> list[int]:
        rows = (
            await conn.execute(
                select(_I.id, _I.uid, _I.size, _I.flags, _I.name)
                .where(self._item_scope(), _I.folder_id == folder_id, uid_clause(_I.uid, uids))
                .order_by(_I.uid)
            )
        ).all()
        if not rows:
            return []
        first = change if change is not None else await self._take_changes(conn, len(rows))
        now = int(time.time())
        await conn.execute(
            insert(s.tombstones),
            [
                {
                    "org_id": self.org_id,
                    "mailbox_id": self.id,
                    "change_num": first if change is not None else first + n,
                    "kind": "item",
                    "object_id": row.id,
                    "folder_id": folder_id,
                    "uid": row.uid,
                    "name": row.name,
                    "created": now,
                }
                for n, row in enumerate(rows)
            ],
        )
        ids = [row.id for row in rows]
        for start in range(0, len(ids), 500):
            await conn.execute(delete(s.items).where(self._item_scope(), _I.id.in_(ids[start : start + 500])))
        last = first if change is not None else first + len(rows) - 1
        await self._adjust(
            conn,
            folder_id,
            last,
            count=-len(rows),
            unseen=-sum(_unseen(r.flags) for r in rows),
            size=-sum(r.size for r in rows),
        )
        return [row.uid for row in rows]
