"""Mailbox commands: LIST/LSUB (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, SPECIAL-USE RFC 6154,
LIST-STATUS RFC 5819), CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS (STATUS=SIZE RFC 8438).

Only folders of class IPF.Note are mail folders; calendars, contacts and the
like exist in the same store but are not shown over IMAP (ARCHITECTURE.md).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kastell.imports import utf7
from kastell.protocols.imap.args import astring_arg, atom_arg, list_arg, mailbox_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command, Token
from kastell.protocols.imap.responses import mailbox_name, untagged
from kastell.protocols.imap.selected import unclaimed_from
from kastell.store import search as store_search
from kastell.store.errors import FolderExists, FolderNotEmpty, InvalidFolderName, NoSuchFolder, SpecialFolder
from kastell.store.flags import Flag
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
    """The mail folder at ``path``; No([NONEXISTENT] or [TRYCREATE]) otherwise."""
    try:
        folder = await session.require_mailbox().folder_by_path(path)
    except (NoSuchFolder, InvalidFolderName):
        raise No("Mailbox does not exist", code) from None
    if folder.folder_class != MAIL_CLASS:
        raise No("Mailbox does not exist", code)
    return folder


async def mail_folders(session: Session) -> list[Folder]:
    return [f for f in await session.require_mailbox().folders() if f.folder_class == MAIL_CLASS]


def _pattern(reference: str, pattern: str) -> re.Pattern[str]:
    full = reference + pattern
    if full[:5].upper() == "INBOX":
        full = "INBOX" + full[5:]  # the store spells INBOX in capitals; clients may not
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in full)
    return re.compile(regex + r"\Z", re.S)


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
    folders = await mail_folders(session)
    paths = {f.path for f in folders}
    matchers = [_pattern(reference, p) for p in patterns]
    verb = "LSUB" if lsub else "LIST"
    for folder in folders:
        if not any(m.match(folder.path) for m in matchers):
            continue
        if "SUBSCRIBED" in selection and not folder.subscribed:
            continue
        use = SPECIAL_USE.get(folder.role or "")
        if "SPECIAL-USE" in selection and use is None:
            continue
        prefix = folder.path + "/"
        has_children = any(p.startswith(prefix) for p in paths)
        attrs = ["\\HasChildren" if has_children else "\\HasNoChildren"]
        if ("SUBSCRIBED" in selection or "SUBSCRIBED" in returns) and folder.subscribed and not lsub:
            attrs.append("\\Subscribed")
        if use is not None:
            attrs.append(use)
        encoded = mailbox_name(folder.path, session.utf8)
        session.send(untagged(f'{verb} ({" ".join(attrs)}) "/" '.encode() + encoded))
        if status_items:
            session.send(await _status_line(session, folder, status_items))
    return f"{verb} completed"


async def _status_line(session: Session, folder: Folder, items: list[str]) -> bytes:
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
                found = await store_search.search(
                    session.require_mailbox(), folder.id, store_search.UidKey(((floor, 0xFFFFFFFF),))
                )
                value = len(found)
        elif item == "DELETED":
            found = await store_search.search(
                session.require_mailbox(), folder.id, store_search.FlagKey(int(Flag.DELETED), True)
            )
            value = len(found)
        elif item == "APPENDLIMIT":
            value = session.max_message
        else:
            raise Bad(f"Unknown STATUS item {item[:30]}")
        values.append(f"{item} {value}")
    return untagged(b"STATUS " + mailbox_name(folder.path, session.utf8) + f" ({' '.join(values)})".encode())


async def handle_status(session: Session, command: Command) -> str:
    if len(command.args) != 2:
        raise Bad("STATUS needs a mailbox and a list of items")
    folder = await find_folder(session, mailbox_arg(command.args[0], session.utf8))
    items = [atom_arg(t) for t in list_arg(command.args[1])]
    if not items:
        raise Bad("STATUS needs items")
    session.send(await _status_line(session, folder, items))
    return "STATUS completed"


async def handle_create(session: Session, command: Command) -> str:
    if not command.args:
        raise Bad("CREATE needs a mailbox name")
    path = mailbox_arg(command.args[0], session.utf8)
    try:
        await session.require_mailbox().create_folder(path)
    except FolderExists:
        raise No("Mailbox exists already", "ALREADYEXISTS") from None
    except InvalidFolderName as exc:
        raise No(str(exc), "CANNOT") from None
    return "CREATE completed"


async def handle_delete(session: Session, command: Command) -> str:
    if not command.args:
        raise Bad("DELETE needs a mailbox name")
    folder = await find_folder(session, mailbox_arg(command.args[0], session.utf8))
    try:
        await session.require_mailbox().delete_folder(folder.id)
    except FolderNotEmpty:
        raise No("Mailbox has children; delete them first", "INUSE") from None
    except SpecialFolder as exc:
        raise No(str(exc), "CANNOT") from None
    if session.selected is not None and session.selected.folder.id == folder.id:
        session.selected = None
        from kastell.protocols.imap.session import AUTHENTICATED

        session.state = AUTHENTICATED
    return "DELETE completed"


async def handle_rename(session: Session, command: Command) -> str:
    if len(command.args) != 2:
        raise Bad("RENAME needs two mailbox names")
    mailbox = session.require_mailbox()
    source = await find_folder(session, mailbox_arg(command.args[0], session.utf8))
    target = mailbox_arg(command.args[1], session.utf8)
    try:
        if source.role == "inbox":
            # RFC 9051 §6.3.6: renaming INBOX moves its messages to the new
            # mailbox and leaves INBOX empty.
            created = await mailbox.create_folder(target)
            await mailbox.move(source.id, None, created.id)
        else:
            await mailbox.rename_folder(source.id, target)
    except FolderExists:
        raise No("Target mailbox exists already", "ALREADYEXISTS") from None
    except (InvalidFolderName, SpecialFolder) as exc:
        raise No(str(exc), "CANNOT") from None
    return "RENAME completed"


async def handle_subscribe(session: Session, command: Command) -> str:
    if not command.args:
        raise Bad(f"{command.name} needs a mailbox name")
    path = mailbox_arg(command.args[0], session.utf8)
    try:
        folder = await find_folder(session, path)
    except No:
        if command.name == "UNSUBSCRIBE":
            return "UNSUBSCRIBE completed"  # RFC 9051 §6.3.8: unsubscribing a gone name is fine
        raise
    await session.require_mailbox().set_subscribed(folder.id, command.name == "SUBSCRIBE")
    return f"{command.name} completed"
