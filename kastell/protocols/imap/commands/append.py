"""APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315), TRYCREATE, APPENDLIMIT (RFC 7889),
MULTIAPPEND (RFC 3502: several messages, all stored or none), the UTF8 data
extension (RFC 6855 §4) and quota refusal (RFC 9208 OVERQUOTA). The messages of one
command share the literal limit (APPENDLIMIT) between them (see parser.py).

Into a shared folder APPEND needs the ``i`` right, and the message keeps only the
flags the rights allow (RFC 4314 §4); it counts against the owner's quota."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from kastell.protocols.imap.args import list_arg, mailbox_arg, text_arg
from kastell.protocols.imap.errors import Bad, ImapError, No
from kastell.protocols.imap.parser import Atom, Command, Literal, Token
from kastell.protocols.imap.responses import compress_set, parse_date_time
from kastell.protocols.imap.shared import Located, filter_new_flags, locate
from kastell.store.errors import ItemTooLarge, QuotaExceeded
from kastell.store.flags import encode_keywords, split_flags
from kastell.store.model import Appended, NewItem

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session


def _parse(session: Session, command: Command) -> tuple[str, list[NewItem]]:
    """(store path, items) of one APPEND — several with MULTIAPPEND (RFC 3502); Bad/No on invalid arguments."""
    args = list(command.args)
    if len(args) < 2:
        raise Bad("APPEND needs a mailbox and a message")
    path = mailbox_arg(args.pop(0), session.utf8)
    items: list[NewItem] = []
    while args:
        item, args = _message(session, args)
        items.append(item)
    return path, items


def _message(session: Session, args: list[Token]) -> tuple[NewItem, list[Token]]:
    """One ``[flag-list] [date-time] literal`` group from the front of ``args``; the rest."""
    flags, keywords = 0, tuple[str, ...]()
    if args and isinstance(args[0], list):
        names = []
        for token in list_arg(args.pop(0)):
            if not isinstance(token, Atom):
                raise Bad("Flags must be atoms")
            names.append(str(token))
        try:
            flags, keywords = split_flags(names)
            encode_keywords(keywords)  # valid, and not too many
        except ValueError as exc:
            raise Bad(str(exc)) from None
    when: int | None = None
    zone = 0
    if args and isinstance(args[0], bytes) and not isinstance(args[0], Literal):
        try:
            when, zone = parse_date_time(text_arg(args.pop(0)))
        except ValueError:
            raise Bad("Invalid date-time") from None
    if len(args) >= 2 and isinstance(args[0], Atom) and args[0].upper() == "UTF8" and isinstance(args[1], list):
        # RFC 6855: UTF8 (~{n}...) carries the message as a literal8
        inner = list(args[1])
        if len(inner) != 1 or not isinstance(inner[0], bytes):
            raise Bad("UTF8 needs one message literal")
        source = inner[0]
        args = args[2:]
    elif args and isinstance(args[0], Literal):
        source = args.pop(0)
    else:
        raise Bad("APPEND needs a message literal")
    if len(source) > session.max_message:
        raise No("Message too large", "TOOBIG")
    item = NewItem(source=source, flags=flags, keywords=tuple(keywords), internal_date=when, internal_tz=zone)
    return item, args


async def _target(session: Session, path: str) -> Located:
    located = await locate(session, path, code="TRYCREATE")
    located.require("i", "APPEND")
    return located


def _allowed(located: Located, item: NewItem) -> NewItem:
    if located.own:
        return item
    flags, keywords = filter_new_flags(located.rights, item.flags, item.keywords)
    return dataclasses.replace(item, flags=flags, keywords=keywords)


async def _store(session: Session, located: Located, items: list[NewItem]) -> list[Appended]:
    if session.selected is not None and session.selected.folder.id == located.folder.id:
        # RFC 9051 §6.3.12: appending to the selected mailbox is followed by EXISTS;
        # do not wait for the change-bus notice to arrive first.
        session.selected.dirty = True
    try:
        return await located.mailbox.append_many(located.folder.id, [_allowed(located, i) for i in items])
    except QuotaExceeded:
        raise No("Quota exceeded", "OVERQUOTA") from None
    except ItemTooLarge:
        raise No("Message too large", "TOOBIG") from None


def _done(appended: list[Appended]) -> str:
    """The OK text: APPENDUID with the new UIDs (a set for MULTIAPPEND, RFC 4315 §3)."""
    uids = compress_set([a.uid for a in appended])
    return f"[APPENDUID {appended[0].uidvalidity} {uids}] APPEND completed"


async def handle_append(session: Session, command: Command) -> str:
    path, items = _parse(session, command)
    located = await _target(session, path)
    return _done(await _store(session, located, items))


async def handle_appends(session: Session, commands: list[Command]) -> list[tuple[str, ImapError | None]]:
    """Pipelined APPENDs (LITERAL+ clients, importers) stored in one transaction per folder.

    Each store write costs a commit and an fsync; a batch pays them once, which
    makes a pipelined import several times faster.  Results are in command
    order: the OK text, or the error for that command.  If a batch fails as a
    whole (quota), its commands are retried one by one so that each gets its
    own answer (a MULTIAPPEND command's messages stay all-or-nothing).
    """
    results: list[tuple[str, ImapError | None]] = [("", None)] * len(commands)
    groups: dict[int, tuple[Located, list[tuple[int, list[NewItem]]]]] = {}
    for index, command in enumerate(commands):
        try:
            path, items = _parse(session, command)
            located = await _target(session, path)
        except ImapError as exc:
            results[index] = ("", exc)
            continue
        groups.setdefault(located.folder.id, (located, []))[1].append((index, items))
    for located, members in groups.values():
        try:
            stored = await _store(session, located, [item for _, items in members for item in items])
        except ImapError:
            for index, items in members:
                try:
                    results[index] = (_done(await _store(session, located, items)), None)
                except ImapError as exc:
                    results[index] = ("", exc)
            continue
        start = 0
        for index, items in members:
            results[index] = (_done(stored[start : start + len(items)]), None)
            start += len(items)
    return results
