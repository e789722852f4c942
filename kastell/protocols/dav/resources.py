"""URL space → resources (the one place that knows the layout).

::

    /dav/                                    root
    /dav/principals/<address>/               a user's principal (RFC 3744 §2)
    /dav/calendars/<address>/                calendar home (RFC 4791 §6.2.1)
    /dav/calendars/<address>/<folder>/       a calendar: IPF.Appointment, IPF.Task, IPF.StickyNote
    /dav/calendars/<address>/<folder>/<name> a calendar object resource = one item
    /dav/addressbooks/<address>/             address-book home (RFC 6352 §7.1.1)
    /dav/addressbooks/<address>/<folder>/    an address book: IPF.Contact
    /dav/addressbooks/<address>/gal/         the organisation's global address list (read-only)
    /dav/files/<address>/<a>/<b>/<name>      plain WebDAV collections (IPF.Files) and files

A collection segment is the folder path, URL-quoted as one segment (a nested folder
``Calendar/Work`` is ``Calendar%2FWork``); plain WebDAV folders nest with real slashes.
Resource names are ``Item.name``; an item that came from another protocol without a
name is addressed as ``kastell-<id>.<ext>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from kastell.protocols.dav.context import BASE, Context
from kastell.protocols.dav.errors import DavError
from kastell.store import calendar, folderprops
from kastell.store.errors import NoSuchFolder, NoSuchItem
from kastell.store.model import Folder, Item

CALENDAR_CLASSES = {"IPF.Appointment": "VEVENT", "IPF.Task": "VTODO", "IPF.StickyNote": "VJOURNAL"}
CONTACT_CLASS = "IPF.Contact"
FILES_CLASS = "IPF.Files"
SPACE_CLASSES = {
    "calendars": set(CALENDAR_CLASSES),
    "addressbooks": {CONTACT_CLASS},
    "files": {FILES_CLASS},
}
GAL = "gal"
_NAMELESS = re.compile(r"kastell-(\d+)\.(ics|vcf|bin)")
_SAFE = "@:+,;=~!$&'()*"

INBOX, OUTBOX = "schedule-inbox", "schedule-outbox"  # RFC 6638 §2.2, §2.1
ROOT, PRINCIPALS, PRINCIPAL, SPACE, HOME, COLLECTION, OBJECT = (
    "root",
    "principals",
    "principal",
    "space",
    "home",
    "collection",
    "object",
)


@dataclass
class Resource:
    kind: str
    path: str  # the href, quoted, collections with a trailing slash
    space: str | None = None  # calendars | addressbooks | files
    owner: str | None = None
    folder: Folder | None = None
    item: Item | None = None
    name: str | None = None  # object name (item may be None: not yet created)
    gal: bool = False
    props: dict[str, Any] = field(default_factory=dict)  # folder bag (collection) or item bag (file)
    folder_props: dict[str, Any] = field(default_factory=dict)  # the bag of the folder (objects too)
    extra: Any = None  # a GAL entry
    same_uid: tuple[Item, ...] | None = None  # members with the UID asked for at resolve time

    @property
    def exists(self) -> bool:
        return self.kind != OBJECT or self.item is not None or self.extra is not None

    @property
    def is_collection(self) -> bool:
        return self.kind != OBJECT

    @property
    def ctype(self) -> str | None:
        """calendar | addressbook | files | gal for a collection or its members."""
        if self.gal:
            return "gal"
        if self.folder is None:
            return None
        cls = self.folder.folder_class
        if cls in CALENDAR_CLASSES:
            return "calendar"
        if cls == CONTACT_CLASS:
            return "addressbook"
        return "files"


def seg(text: str) -> str:
    return quote(text, safe=_SAFE)


def seg_path(path: str) -> str:
    """A decoded ``/a/b c`` path as quoted href segments."""
    return "/".join(seg(p) for p in path.split("/"))


def folder_href(space: str, owner: str, folder: Folder) -> str:
    if space == "files":
        return f"{BASE}/files/{seg(owner)}/" + "/".join(seg(p) for p in folder.path.split("/")) + "/"
    return f"{BASE}/{space}/{seg(owner)}/{seg(folder.path)}/"


def item_name(item: Item) -> str:
    if item.name:
        return item.name
    ext = {"contact": "vcf", "event": "ics", "task": "ics", "note": "ics"}.get(item.kind, "bin")
    return f"kastell-{item.id}.{ext}"


def member(parent: Resource, item: Item) -> Resource:
    name = item_name(item)
    return Resource(
        OBJECT,
        parent.path + seg(name),
        parent.space,
        parent.owner,
        parent.folder,
        item,
        name,
        folder_props=parent.props,
    )


def split(raw_path: str) -> list[str]:
    from urllib.parse import unquote

    return [unquote(p) for p in raw_path.split("/") if p]


async def load_props(ctx: Context, folders: list[Folder]) -> dict[int, dict[str, Any]]:
    return await folderprops.folder_props(ctx.mailbox, [f.id for f in folders])


async def find_item(ctx: Context, folder: Folder, name: str) -> Item | None:
    try:
        return await ctx.mailbox.item_by_name(folder.id, name)
    except NoSuchItem:
        return await _nameless(ctx, folder, name)


async def _nameless(ctx: Context, folder: Folder, name: str) -> Item | None:
    """An item without a resource name, addressed as ``kastell-<id>.<ext>``."""
    m = _NAMELESS.fullmatch(name)
    if m:
        try:
            item = await ctx.mailbox.item(int(m.group(1)), with_structure=False)
        except NoSuchItem:
            return None
        if item.folder_id == folder.id and item.name is None:
            return item
    return None


async def folder_in_space(ctx: Context, space: str, path: str) -> Folder | None:
    try:
        folder = await ctx.mailbox.folder_by_path(path)
    except (NoSuchFolder, ValueError, Exception):  # an invalid path is just "not there"
        return None
    return folder if folder.folder_class in SPACE_CLASSES[space] else None


_WRITES = {"PUT", "DELETE", "PROPPATCH", "MKCOL", "MKCALENDAR", "MOVE", "COPY", "LOCK", "UNLOCK", "POST"}


async def _enter_shared(ctx: Context, space: str, owner: str, rest: list[str]) -> None:
    """Switch the request to the owner's mailbox when ``rest[0]`` is shared with the caller.

    Everything else of another user is 403: their homes, unshared collections, files.
    """
    denied = DavError(403, "{DAV:}need-privileges", "not your collection")
    if space not in ("calendars", "addressbooks") or not rest or rest[0] in ("inbox", "outbox", GAL):
        raise denied
    from kastell.protocols.dav.caldav.scheduling import peer

    other = await peer(ctx, owner)
    if other is None:
        raise denied
    found = await calendar.locate(other.box, rest[0])
    level = (found.props.get(folderprops.SHARES) or {}).get(ctx.account.address.lower())
    if found.folder is None or found.folder.folder_class not in SPACE_CLASSES[space] or level is None:
        raise denied
    if level == "read" and ctx.request.method in _WRITES:
        raise DavError(403, "{DAV:}need-privileges", "shared with you read-only")
    ctx.mailbox = other.box
    ctx.access = str(level)


async def _located(ctx: Context, space: str, path: str, name: str | None, uid: str | None) -> calendar.Located:
    found = await calendar.locate(ctx.mailbox, path, name, uid)
    if found.folder is not None and found.folder.folder_class not in SPACE_CLASSES[space]:
        return calendar.Located(None, {}, None, ())
    return found


async def resolve(ctx: Context, segments: list[str], uid: str | None = None) -> Resource:
    """The resource at these (decoded) path segments below /dav.

    Raises 404 for what cannot exist, 403 for another user's home. A missing object
    in an existing collection resolves (``exists`` False) so PUT/MKCOL can create it.
    ``uid``: also find the members carrying this object UID (``same_uid``), in the
    same read (PUT's no-uid-conflict check).
    """
    n = len(segments)
    if n == 0:
        return Resource(ROOT, BASE + "/")
    head = segments[0]
    if head == "principals":
        if n == 1:
            return Resource(PRINCIPALS, f"{BASE}/principals/")
        if n == 2:
            address = segments[1].lower()
            if address != ctx.account.address.lower():
                # Other principals exist for users of the same organisation only.
                from kastell.protocols.dav.caldav.scheduling import peer

                if await peer(ctx, address) is None:
                    raise DavError(404)
            return Resource(PRINCIPAL, f"{BASE}/principals/{seg(address)}/", owner=address)
        raise DavError(404)
    if head not in SPACE_CLASSES:
        raise DavError(404)
    if n == 1:
        return Resource(SPACE, f"{BASE}/{head}/", head)
    owner = segments[1].lower()
    if owner != ctx.account.address.lower():
        await _enter_shared(ctx, head, owner, segments[2:])
    home = Resource(HOME, f"{BASE}/{head}/{seg(owner)}/", head, owner)
    if n == 2:
        return home
    rest = segments[2:]
    if head == "calendars" and len(rest) == 1 and rest[0] in ("inbox", "outbox"):
        return Resource(INBOX if rest[0] == "inbox" else OUTBOX, home.path + rest[0] + "/", head, owner)
    if head == "addressbooks" and rest[0] == GAL:
        gal = Resource(COLLECTION, home.path + GAL + "/", head, owner, gal=True)
        if len(rest) == 1:
            return gal
        if len(rest) == 2:
            return Resource(OBJECT, gal.path + seg(rest[1]), head, owner, name=rest[1], gal=True)
        raise DavError(404)
    if head == "files":
        whole = await _located(ctx, head, "/".join(rest), None, None)
        if whole.folder is not None:
            return Resource(
                COLLECTION,
                folder_href(head, owner, whole.folder),
                head,
                owner,
                whole.folder,
                props=whole.props,
                folder_props=whole.props,
            )
        if len(rest) == 1:
            return Resource(OBJECT, home.path + seg(rest[0]), head, owner, name=rest[0])  # a missing top collection
    elif len(rest) == 1:
        found = await _located(ctx, head, rest[0], None, None)
        if found.folder is None:
            return Resource(OBJECT, home.path + seg(rest[0]), head, owner, name=rest[0])
        return Resource(
            COLLECTION,
            folder_href(head, owner, found.folder),
            head,
            owner,
            found.folder,
            props=found.props,
            folder_props=found.props,
        )
    elif len(rest) != 2:
        raise DavError(404)
    parent_path, name = "/".join(rest[:-1]), rest[-1]
    found = await _located(ctx, head, parent_path, name, uid)
    if found.folder is None:
        raise DavError(409 if head == "files" else 404, None, "no such collection")
    folder = found.folder
    item = found.item if found.item is not None else await _nameless(ctx, folder, name)
    res = Resource(
        OBJECT,
        folder_href(head, owner, folder) + seg(name),
        head,
        owner,
        folder,
        item,
        name,
        folder_props=found.props,
        same_uid=found.same_uid if uid is not None else None,
    )
    if item is not None and head == "files":
        res.props = await ctx.mailbox.props(item.id)
    return res


async def _shared_with_me(ctx: Context, space: str) -> list[Resource]:
    """Collections other users shared with the caller, listed at their owners' URLs."""
    out = []
    shared = await folderprops.folders_shared_with(ctx.kastell.store, ctx.account.org_id, ctx.account.address.lower())
    for account_id, folder, bag in shared:
        if folder.folder_class not in SPACE_CLASSES[space]:
            continue
        try:
            owner = (await ctx.kastell.directory.get_account_by_id(ctx.account.org_id, account_id)).address
        except Exception:  # the owner was deleted a moment ago
            continue
        out.append(Resource(COLLECTION, folder_href(space, owner, folder), space, owner, folder, props=bag))
    return out


async def children(ctx: Context, res: Resource) -> list[Resource]:
    """The members of a collection resource (Depth: 1)."""
    if res.kind == ROOT:
        return [
            Resource(PRINCIPALS, f"{BASE}/principals/"),
            *(Resource(SPACE, f"{BASE}/{space}/", space) for space in SPACE_CLASSES),
        ]
    if res.kind == PRINCIPALS:
        address = ctx.account.address
        return [Resource(PRINCIPAL, f"{BASE}/principals/{seg(address)}/", owner=address)]
    if res.kind == SPACE:
        assert res.space is not None
        address = ctx.account.address
        return [Resource(HOME, f"{BASE}/{res.space}/{seg(address)}/", res.space, address)]
    if res.kind == HOME:
        assert res.space is not None and res.owner is not None
        folders = [f for f in await ctx.mailbox.folders() if f.folder_class in SPACE_CLASSES[res.space]]
        if res.space == "files":
            folders = [f for f in folders if "/" not in f.path]
        props = await load_props(ctx, folders)
        out = [
            Resource(COLLECTION, folder_href(res.space, res.owner, f), res.space, res.owner, f, props=props[f.id])
            for f in folders
        ]
        if res.space == "addressbooks":
            out.append(Resource(COLLECTION, res.path + GAL + "/", res.space, res.owner, gal=True))
        if res.space != "files" and res.owner == ctx.account.address.lower():
            out += await _shared_with_me(ctx, res.space)
        return out
    if res.kind == COLLECTION and res.gal:
        from kastell.protocols.dav.carddav import gal

        return await gal.members(ctx, res)
    if res.kind == COLLECTION and res.folder is not None:
        out = [member(res, item) for item in await calendar.listing(ctx.mailbox, res.folder.id)]
        if res.space == "files":
            prefix = res.folder.path + "/"
            subs = [
                f for f in await ctx.mailbox.folders() if f.path.startswith(prefix) and "/" not in f.path[len(prefix) :]
            ]
            props = await load_props(ctx, subs)
            assert res.owner is not None
            out += [
                Resource(COLLECTION, folder_href("files", res.owner, f), "files", res.owner, f, props=props[f.id])
                for f in subs
            ]
        return out
    return []
