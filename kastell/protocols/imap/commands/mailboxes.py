"""Mailbox commands: LIST/LSUB (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, SPECIAL-USE RFC 6154,
LIST-STATUS RFC 5819), CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS (STATUS=SIZE RFC 8438).

Only folders of class IPF.Note are mail folders; calendars, contacts and the
like exist in the same store but are not shown over IMAP (ARCHITECTURE.md).
Folders other accounts share with the user are listed under ``Other Users/``
(shared.py) when the user holds the ``l`` right, and every command here checks
the RFC 4314 §4 rights on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kastell.imports import utf7
from kastell.protocols.imap.args import astring_arg, atom_arg, list_arg, mailbox_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command, Token
from kastell.protocols.imap.responses import mailbox_name, untagged
from kastell.protocols.imap.selected import unclaimed_from
from kastell.protocols.imap.shared import (
    OTHER_USERS,
    PREFIX,
    Located,
    locate,
    own_mailbox,
    owner_mailbox,
    shared_folders,
    shared_name,
    split_shared,
)
from kastell.store import acl
from kastell.store import search as store_search
from kastell.store.errors import FolderExists, FolderNotEmpty, InvalidFolderName, SpecialFolder, StoreError
from kastell.store.flags import Flag
from kastell.store.mailbox import Mailbox
from kastell.store.model import Folder

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

MAIL_CLASS = "IPF.Note"
SPECIAL_USE = {
    "drafts": "\\Drafts",
    "sent": "\\Sent",
    "trash": "\\Trash",
    "junk": "\\Junk",
    "archive": "\\Archive",
}
STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ", "RECENT")


async def find_folder(session: Session, path: str, *, code: str = "NONEXISTENT") -> Folder:
    """The mail folder a mailbox name stands for (own or shared, see shared.py);
    No([NONEXISTENT] or [TRYCREATE]) otherwise."""
    return (await locate(session, path, code=code)).folder


async def mail_folders(session: Session) -> list[Folder]:
    return [f for f in await own_mailbox(session).folders() if f.folder_class == MAIL_CLASS]


@dataclass(slots=True)
class _Entry:
    """One name LIST may show: a folder (own or shared) or a ``\\Noselect`` level of Other Users."""

    name: str
    folder: Folder | None
    subscribed: bool
    owner_id: int = 0  # for a shared folder: the owner's account (its mailbox is opened for STATUS)
    rights: str = acl.ALL_RIGHTS


async def _entries(session: Session) -> list[_Entry]:
    entries = [_Entry(f.path, f, f.subscribed) for f in await mail_folders(session)]
    owners: set[str] = set()
    for shared in await shared_folders(session):
        if "l" not in shared.rights:
            continue  # RFC 4314 §4: LIST shows only what the user may look up
        name = shared_name(shared.owner_address, shared.folder.path)
        entries.append(_Entry(name, shared.folder, shared.subscribed, shared.owner_id, shared.rights))
        owners.add(shared.owner_address)
    if owners:
        entries.append(_Entry(OTHER_USERS, None, False))
        entries += [_Entry(PREFIX + owner, None, False) for owner in sorted(owners)]
    return entries


class _Pattern:
    """A LIST pattern (RFC 9051 §6.3.9): ``*`` matches anything, ``%`` anything but "/".

    Matched as a bit-parallel automaton (one big-integer step per character of the
    name: bit i set = the first i tokens of the pattern match what was read), so
    every pattern costs time linear in the name. A regex translation backtracked
    exponentially on patterns such as ``*a*a*a*a*b`` against long names, and held
    the server's one event loop for as long.
    """

    __slots__ = ("literal", "wild", "any", "accept")

    def __init__(self, reference: str, pattern: str) -> None:
        full = reference + pattern
        if full[:5].upper() == "INBOX":
            full = "INBOX" + full[5:]  # the store spells INBOX in capitals; clients may not
        tokens: list[str] = []
        for c in full:
            if c in "*%" and tokens and tokens[-1] in "*%":
                tokens[-1] = "*" if "*" in (tokens[-1], c) else "%"  # a run of wildcards is one
            else:
                tokens.append(c)
        self.literal: dict[str, int] = {}
        self.wild = self.any = 0
        for i, c in enumerate(tokens):
            if c in "*%":
                self.wild |= 1 << i
                if c == "*":
                    self.any |= 1 << i
            else:
                self.literal[c] = self.literal.get(c, 0) | 1 << i
        self.accept = 1 << len(tokens)

    def match(self, name: str) -> bool:
        wild, any_, literal = self.wild, self.any, self.literal
        state = 1 | (1 & wild) << 1  # nothing read; a leading wildcard may match nothing
        for c in name:
            state = (state & literal.get(c, 0)) << 1 | state & (any_ if c == "/" else wild)
            if not state:
                return False
            state |= (state & wild) << 1  # a wildcard may end here
        return bool(state & self.accept)


async def handle_list(session: Session, command: Command) -> str:
    args = list(command.args)
    lsub = command.name == "LSUB"
    selection: set[str] = set()
    if args and isinstance(args[0], list):
        selection = {atom_arg(t) for t in list_arg(args.pop(0))}
    if len(args) < 2:
        raise Bad(f"{command.name} needs a reference and a mailbox pattern")
    reference = astring_arg(args[0])
    if not session.utf8:
        reference = utf7.decode(reference)
    raw_patterns: list[Token] = list_arg(args[1]) if isinstance(args[1], list) else [args[1]]
    returns: set[str] = set()
    status_items: list[str] = []
    rest = args[2:]
    if rest:
        if len(rest) != 2 or not isinstance(rest[0], Atom) or rest[0].upper() != "RETURN":
            raise Bad("Invalid LIST return options")
        options = list_arg(rest[1])
        i = 0
        while i < len(options):
            name = atom_arg(options[i])
            if name == "STATUS" and i + 1 < len(options):
                status_items = [atom_arg(t) for t in list_arg(options[i + 1])]
                i += 1
            returns.add(name)
            i += 1
    if lsub:
        selection.add("SUBSCRIBED")
    patterns = []
    for raw in raw_patterns:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if not session.utf8:
            text = utf7.decode(text)
        patterns.append(text)
    if patterns == [""] and not lsub:
        # RFC 9051 §6.3.9: the empty pattern asks for the delimiter and root.
        session.send(untagged(b'LIST (\\Noselect) "/" ""'))
        return "LIST completed"
    entries = await _entries(session)
    names = {e.name for e in entries}
    matchers = [_Pattern(reference, p) for p in patterns]
    verb = "LSUB" if lsub else "LIST"
    mailboxes: dict[int, Mailbox | None] = {}
    for entry in entries:
        if not any(m.match(entry.name) for m in matchers):
            continue
        folder = entry.folder
        if "SUBSCRIBED" in selection and not entry.subscribed:
            continue
        # Special use only for the user's own folders: another's Sent is not the user's Sent.
        use = SPECIAL_USE.get(folder.role or "") if folder is not None and not entry.owner_id else None
        if "SPECIAL-USE" in selection and use is None:
            continue
        prefix = entry.name + "/"
        has_children = any(p.startswith(prefix) for p in names)
        attrs = ["\\HasChildren" if has_children else "\\HasNoChildren"]
        if folder is None:
            attrs.insert(0, "\\Noselect")
        if ("SUBSCRIBED" in selection or "SUBSCRIBED" in returns) and entry.subscribed and not lsub:
            attrs.append("\\Subscribed")
        if use is not None:
            attrs.append(use)
        encoded = mailbox_name(entry.name, session.utf8)
        session.send(untagged(f'{verb} ({" ".join(attrs)}) "/" '.encode() + encoded))
        if status_items and folder is not None and "r" in entry.rights:
            if not entry.owner_id:
                mailbox: Mailbox | None = own_mailbox(session)
            elif entry.owner_id in mailboxes:
                mailbox = mailboxes[entry.owner_id]
            else:
                mailbox = mailboxes[entry.owner_id] = await _open_owner(session, entry.owner_id)
            if mailbox is not None:
                session.send(await _status_line(session, mailbox, folder, status_items, entry.name))
    return f"{verb} completed"


async def _open_owner(session: Session, owner_id: int) -> Mailbox | None:
    assert session.account is not None
    try:
        return await session.app.store.open(session.account.org_id, owner_id)
    except StoreError:
        return None


async def _status_line(session: Session, mailbox: Mailbox, folder: Folder, items: list[str], name: str) -> bytes:
    values: list[str] = []
    for item in items:
        if item == "MESSAGES":
            value = folder.item_count
        elif item == "UIDNEXT":
            value = folder.uidnext
        elif item == "UIDVALIDITY":
            value = folder.uidvalidity
        elif item == "UNSEEN":
            value = folder.unseen_count
        elif item == "SIZE":
            value = folder.size
        elif item == "HIGHESTMODSEQ":
            value = folder.content_change
        elif item == "RECENT":
            floor = unclaimed_from(session.recent_floors, folder.id, folder.uidnext)
            value = folder.uidnext - floor if floor < folder.uidnext else 0
            if value:
                found = await store_search.search(mailbox, folder.id, store_search.UidKey(((floor, 0xFFFFFFFF),)))
                value = len(found)
        elif item == "DELETED":
            found = await store_search.search(mailbox, folder.id, store_search.FlagKey(int(Flag.DELETED), True))
            value = len(found)
        elif item == "APPENDLIMIT":
            value = session.max_message
        else:
            raise Bad(f"Unknown STATUS item {item[:30]}")
        values.append(f"{item} {value}")
    return untagged(b"STATUS " + mailbox_name(name, session.utf8) + f" ({' '.join(values)})".encode())


async def handle_status(session: Session, command: Command) -> str:
    if len(command.args) != 2:
        raise Bad("STATUS needs a mailbox and a list of items")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    located.require("r", "STATUS")
    items = [atom_arg(t) for t in list_arg(command.args[1])]
    if not items:
        raise Bad("STATUS needs items")
    session.send(await _status_line(session, located.mailbox, located.folder, items, located.name))
    return "STATUS completed"


async def _parent(session: Session, name: str) -> tuple[Mailbox, str, Located | None]:
    """Where ``name`` would be created: (mailbox, path in it, nearest existing parent or None).

    No [CANNOT] for names inside ``Other Users`` that name no mailbox of the organisation.
    """
    shared = split_shared(name)
    if shared is None:
        if name == OTHER_USERS or name.startswith(PREFIX):
            raise No("That name is the Other Users namespace", "CANNOT")
        mailbox, path = own_mailbox(session), name
    else:
        owner, path = shared
        found = await owner_mailbox(session, owner) if path else None
        if found is None:
            raise No("Cannot create a mailbox there", "CANNOT")
        mailbox = found
    levels = path.split("/")
    for depth in range(len(levels) - 1, 0, -1):
        parent = "/".join(levels[:depth])
        try:
            return mailbox, path, await locate(session, name[: len(name) - len(path)] + parent)
        except No:
            continue
    return mailbox, path, None


async def handle_create(session: Session, command: Command) -> str:
    if not command.args:
        raise Bad("CREATE needs a mailbox name")
    name = mailbox_arg(command.args[0], session.utf8)
    mailbox, path, parent = await _parent(session, name)
    if mailbox.id != own_mailbox(session).id:
        # RFC 4314 §4: "k" on the nearest existing parent; at the top of another's mailbox, on its INBOX.
        if parent is None:
            parent = await locate(session, name[: len(name) - len(path)] + "INBOX")
        parent.require("k", "CREATE")
    try:
        created = await mailbox.create_folder(path)
    except FolderExists:
        raise No("Mailbox exists already", "ALREADYEXISTS") from None
    except InvalidFolderName as exc:
        raise No(str(exc), "CANNOT") from None
    if parent is not None:
        await acl.copy_grants(mailbox, parent.folder.id, created.id)  # RFC 4314 §4: inherit the ACL
    return "CREATE completed"


async def handle_delete(session: Session, command: Command) -> str:
    if not command.args:
        raise Bad("DELETE needs a mailbox name")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    located.require("x", "DELETE")
    try:
        await located.mailbox.delete_folder(located.folder.id)
    except FolderNotEmpty:
        raise No("Mailbox has children; delete them first", "INUSE") from None
    except SpecialFolder as exc:
        raise No(str(exc), "CANNOT") from None
    if session.selected is not None and session.selected.folder.id == located.folder.id:
        await session.set_selected(None)
        from kastell.protocols.imap.session import AUTHENTICATED

        session.state = AUTHENTICATED
    return "DELETE completed"


async def handle_rename(session: Session, command: Command) -> str:
    if len(command.args) != 2:
        raise Bad("RENAME needs two mailbox names")
    source = await locate(session, mailbox_arg(command.args[0], session.utf8))
    source.require("x", "RENAME")
    mailbox = source.mailbox
    target_mailbox, target, parent = await _parent(session, mailbox_arg(command.args[1], session.utf8))
    if target_mailbox.id != mailbox.id:
        raise No("A mailbox cannot move to another account", "CANNOT")
    if not source.own:
        if parent is None:
            raise No("Permission denied: RENAME needs the right 'k' on the new parent", "NOPERM")
        parent.require("k", "RENAME")
    try:
        if source.folder.role == "inbox" and source.own:
            # RFC 9051 §6.3.6: renaming INBOX moves its messages to the new
            # mailbox and leaves INBOX empty.
            created = await mailbox.create_folder(target)
            await mailbox.move(source.folder.id, None, created.id)
        else:
            await mailbox.rename_folder(source.folder.id, target)
    except FolderExists:
        raise No("Target mailbox exists already", "ALREADYEXISTS") from None
    except (InvalidFolderName, SpecialFolder) as exc:
        raise No(str(exc), "CANNOT") from None
    return "RENAME completed"


async def handle_subscribe(session: Session, command: Command) -> str:
    if not command.args:
        raise Bad(f"{command.name} needs a mailbox name")
    assert session.account is not None
    path = mailbox_arg(command.args[0], session.utf8)
    try:
        located = await locate(session, path)
    except No:
        if command.name == "UNSUBSCRIBE":
            return "UNSUBSCRIBE completed"  # RFC 9051 §6.3.8: unsubscribing a gone name is fine
        raise
    subscribe = command.name == "SUBSCRIBE"
    if located.own:
        await located.mailbox.set_subscribed(located.folder.id, subscribe)
    else:
        if subscribe:
            located.require("l", "SUBSCRIBE")
        await acl.set_shared_subscription(
            session.app.store, session.account.org_id, session.account.id, located.folder.id, subscribe
        )
    return f"{command.name} completed"
