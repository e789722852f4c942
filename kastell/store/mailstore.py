"""The mailbox store: provisioning, opening a tenant-scoped mailbox, blob collection.

Theory of operation
-------------------
Every account with a mailbox (users, shared mailboxes, rooms, equipment) has
one ``mailboxes`` row holding its change clock (``last_change``). Every write
that changes a folder or an item first takes the next change numbers with
``UPDATE mailboxes SET last_change = last_change + n … RETURNING`` — on SQLite
the single writer serialises this, on PostgreSQL the row lock does — and stamps
them on the rows it writes; deletes leave a tombstone with their number. So
"what changed since N" is one indexed range scan, and every protocol's sync
state (IMAP MODSEQ, DAV sync-token, ActiveSync SyncKey, EWS SyncState, JMAP
state) is a view of that one number.

All access goes through :class:`~kastell.store.mailbox.Mailbox`, a handle bound
to one organisation and one mailbox: every query it runs filters on both, so an
id from another tenant is simply not found.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.blobs.filesystem import FilesystemBlobStore
from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.events import ChangeBus
from kastell.store.errors import NoSuchMailbox
from kastell.store.mailbox import Mailbox


@dataclass(frozen=True, slots=True)
class DefaultFolder:
    path: str
    folder_class: str
    role: str


MAIL_FOLDERS = (
    DefaultFolder("INBOX", "IPF.Note", "inbox"),
    DefaultFolder("Drafts", "IPF.Note", "drafts"),
    DefaultFolder("Sent", "IPF.Note", "sent"),
    DefaultFolder("Trash", "IPF.Note", "trash"),
    DefaultFolder("Junk", "IPF.Note", "junk"),
    DefaultFolder("Archive", "IPF.Note", "archive"),
    DefaultFolder("Outbox", "IPF.Note", "outbox"),
)
GROUPWARE_FOLDERS = (
    DefaultFolder("Calendar", "IPF.Appointment", "calendar"),
    DefaultFolder("Contacts", "IPF.Contact", "contacts"),
    DefaultFolder("Tasks", "IPF.Task", "tasks"),
    DefaultFolder("Notes", "IPF.StickyNote", "notes"),
)
# Rooms and equipment receive invitations and keep a calendar; nothing else.
RESOURCE_FOLDERS = (MAIL_FOLDERS[0], GROUPWARE_FOLDERS[0])


def default_folders(kind: str) -> tuple[DefaultFolder, ...]:
    if kind in ("room", "equipment"):
        return RESOURCE_FOLDERS
    return MAIL_FOLDERS + GROUPWARE_FOLDERS


class MailStore:
    def __init__(self, db: Database, blobs: FilesystemBlobStore, events: ChangeBus) -> None:
        self.db = db
        self.blobs = blobs
        self.events = events

    async def provision(self, conn: AsyncConnection, org_id: int, account_id: int, kind: str) -> None:
        """Create the mailbox and its default folders, inside the caller's transaction.

        Called by the directory right after it inserts the account row, so the
        account and its mailbox commit together or not at all.
        """
        folders = default_folders(kind)
        now = int(time.time())
        result = await conn.execute(
            insert(s.mailboxes).values(org_id=org_id, account_id=account_id, created=now, last_change=len(folders))
        )
        assert result.inserted_primary_key is not None
        mailbox_id = result.inserted_primary_key[0]
        await conn.execute(
            insert(s.folders),
            [
                {
                    "org_id": org_id,
                    "mailbox_id": mailbox_id,
                    "parent_id": None,
                    "path": folder.path,
                    "folder_class": folder.folder_class,
                    "role": folder.role,
                    "uidvalidity": change,
                    "uidnext": 1,
                    "subscribed": True,
                    "created_change": change,
                    "change_num": change,
                    "content_change": change,
                }
                for change, folder in enumerate(folders, start=1)
            ],
        )

    async def open(self, org_id: int, account_id: int) -> Mailbox:
        """The mailbox of this account in this organisation; raises NoSuchMailbox."""
        async with self.db.read() as conn:
            mailbox_id = await conn.scalar(
                select(s.mailboxes.c.id).where(s.mailboxes.c.org_id == org_id, s.mailboxes.c.account_id == account_id)
            )
        if mailbox_id is None:
            raise NoSuchMailbox(f"no mailbox for account {account_id}")
        return Mailbox(self, org_id, account_id, mailbox_id)

    async def referenced_blobs(self) -> set[str]:
        """Every blob id some item or queued message refers to (the mark phase of the collector)."""
        referenced: set[str] = set()
        async with self.db.read() as conn:
            result = await conn.stream(select(s.items.c.blob_id).union(select(s.queue_messages.c.blob_id)))
            async for partition in result.partitions(5000):
                referenced.update(row[0] for row in partition)
        return referenced

    async def prune_tombstones(self, older_than_seconds: float) -> int:
        """Delete tombstones older than ``older_than_seconds``; the number deleted.

        Per mailbox, everything up to the newest expired tombstone's change number
        goes, and ``mailboxes.tombstones_below`` records that number: changes asked
        for since an older one are then reported as incomplete (``complete=False``),
        and each protocol answers as it does for an expired state. One transaction
        per mailbox, so deliveries wait for at most one mailbox's sweep.
        """
        T = s.tombstones.c
        cutoff = int(time.time() - older_than_seconds)
        async with self.db.read() as conn:
            expired = (
                await conn.execute(
                    select(T.mailbox_id, func.max(T.change_num)).where(T.created < cutoff).group_by(T.mailbox_id)
                )
            ).all()
        deleted = 0
        for mailbox_id, newest in expired:
            async with self.db.write() as conn:
                await conn.execute(
                    update(s.mailboxes)
                    .where(s.mailboxes.c.id == mailbox_id, s.mailboxes.c.tombstones_below < newest)
                    .values(tombstones_below=newest)
                )
                result = await conn.execute(
                    delete(s.tombstones).where(T.mailbox_id == mailbox_id, T.change_num <= newest)
                )
                deleted += result.rowcount or 0
        return deleted

    async def collect_garbage(self, grace_seconds: float) -> int:
        """Delete blobs no item refers to and nobody touched for ``grace_seconds``; the count."""
        cutoff = time.time() - grace_seconds
        candidates = [blob async for blob in self.blobs.iter_unreferenced_candidates(cutoff)]
        if not candidates:
            return 0
        # Mark after listing: a blob re-used after the listing has a fresh mtime
        # and survives the re-check under the collector's lock.
        referenced = await self.referenced_blobs()
        garbage = [blob for blob in candidates if blob not in referenced]
        return await self.blobs.delete_if_older(garbage, cutoff)
