"""The values the store hands out: frozen, never database rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Folder:
    id: int
    mailbox_id: int
    parent_id: int | None
    path: str
    folder_class: str
    role: str | None
    uidvalidity: int
    uidnext: int
    subscribed: bool
    change_num: int
    content_change: int
    item_count: int
    unseen_count: int
    size: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Item:
    """An item's metadata and cached parsed fields; the source stays in the blob store."""

    id: int
    folder_id: int
    uid: int
    change_num: int
    created_change: int
    kind: str
    name: str | None
    flags: int
    keywords: tuple[str, ...]
    internal_date: int
    internal_tz: int
    size: int
    blob_id: str
    sent_date: int | None
    subject: str
    from_addr: str
    from_name: str
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    has_attachments: bool
    preview: str
    object_uid: str | None = None  # iCalendar/vCard UID of a groupware object
    start_time: int | None = None  # span of an event (epoch seconds); None: unbounded/none
    end_time: int | None = None
    structure: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class NewItem:
    """What a caller hands to ``append``: the source bytes and what the client said about them."""

    source: bytes
    flags: int = 0
    keywords: tuple[str, ...] = ()
    internal_date: int | None = None  # epoch seconds; None means now
    internal_tz: int = 0  # minutes east of UTC
    kind: str = "message"
    name: str | None = None
    props: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Appended:
    item_id: int
    uid: int
    change_num: int
    uidvalidity: int
    duplicate: bool = False  # an identical source was in the folder already (import skips it)


@dataclass(frozen=True, slots=True)
class FlagChange:
    uid: int
    item_id: int
    flags: int
    keywords: tuple[str, ...]
    change_num: int


@dataclass(frozen=True, slots=True)
class Tombstone:
    change_num: int
    kind: str  # item | folder
    object_id: int
    folder_id: int | None
    uid: int | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed after ``since``: live objects that changed, and what went away."""

    since: int
    last_change: int
    items: tuple[Item, ...]
    removed: tuple[Tombstone, ...]
    folders: tuple[Folder, ...]
    removed_folders: tuple[Tombstone, ...]
    # False when tombstones after ``since`` may have been pruned (store.tombstone_days):
    # ``removed`` and ``removed_folders`` are then not all that went away.
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Quota:
    used: int
    limit: int  # 0 = unlimited
    items: int
