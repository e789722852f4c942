"""APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315), TRYCREATE, APPENDLIMIT (RFC 7889),
the UTF8 data extension (RFC 6855 §4) and quota refusal (RFC 9208 OVERQUOTA).

Into a shared folder APPEND needs the ``i`` right, and the message keeps only the
flags the rights allow (RFC 4314 §4); it counts against the owner's quota."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from kastell.protocols.imap.args import list_arg, mailbox_arg, text_arg
from kastell.protocols.imap.errors import Bad, ImapError, No
from kastell.protocols.imap.parser import Atom, Command
from kastell.protocols.imap.responses import parse_date_time
from kastell.protocols.imap.shared import Located, filter_new_flags, locate
from kastell.store.errors import ItemTooLarge, QuotaExceeded
from kastell.store.flags import split_flags
from kastell.store.model import Appended, NewItem

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session


def _parse(session: Session, command: Command) -> tuple[str, NewItem]:
    """(store path, item) of one APPEND; Bad/No on invalid arguments."""
    args = list(command.args)
    if len(args) < 2:
        raise Bad("APPEND needs a mailbox and a message")
    path = mailbox_arg(args.pop(0), session.utf8)
    flags, keywords = 0, tuple[str, ...]()
    if isinstance(args[0], list):
        names = []
        for token in list_arg(args.pop(0)):
            if not isinstance(token, Atom):
                raise Bad("Flags must be atoms")
            names.append(str(token))
        try:
            flags, keywords = split_flags(names)
        except ValueError as exc:
            raise Bad(str(exc)) from None
    when: int | None = None
    zone = 0
    if len(args) >= 2 and isinstance(args[0], bytes):
        try:
            when, zone = parse_date_time(text_arg(args.pop(0)))
        except ValueError:
            raise Bad("Invalid date-time") from None
    if len(args) == 2 and isinstance(args[0], Atom) and args[0].upper() == "UTF8" and isinstance(args[1], list):
        args = list(args[1])  # RFC 6855: UTF8 (~{n}...) carries the message as a literal8
    if len(args) != 1 or not isinstance(args[0], bytes):
        raise Bad("APPEND needs exactly one message literal (MULTIAPPEND is not supported)")
    source = args[0]
    if len(source) > session.max_message:
        raise No("Message too large", "TOOBIG")
    return path, NewItem(source=source, flags=flags, keywords=tuple(keywords), internal_date=when, internal_tz=zone)


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


def _done(appended: Appended) -> str:
    return f"[APPENDUID {appended.uidvalidity} {appended.uid}] APPEND completed"


async def handle_append(session: Session, command: Command) -> str:
    path, item = _parse(session, command)
    located = await _target(session, path)
    return _done((await _store(session, located, [item]))[0])


async def handle_appends(session: Session, commands: list[Command]) -> list[tuple[str, ImapError | None]]:
    """Pipelined APPENDs (LITERAL+ clients, importers) stored in one transaction per folder.

    Each store write costs a commit and an fsync; a batch pays them once, which
    makes a pipelined import several times faster.  Results are in command
    order: the OK text, or the error for that command.  If a batch fails as a
    whole (quota), its commands are retried one by one so that each gets its
    own answer.
    """
    results: list[tuple[str, ImapError | None]] = [("", None)] * len(commands)
    groups: dict[int, tuple[Located, list[tuple[int, NewItem]]]] = {}
    for index, command in enumerate(commands):
        try:
            path, item = _parse(session, command)
            located = await _target(session, path)
        except ImapError as exc:
            results[index] = ("", exc)
            continue
        groups.setdefault(located.folder.id, (located, []))[1].append((index, item))
    for located, members in groups.values():
        try:
            stored = await _store(session, located, [item for _, item in members])
        except ImapError:
            for index, item in members:
                try:
                    results[index] = (_done((await _store(session, located, [item]))[0]), None)
                except ImapError as exc:
                    results[index] = ("", exc)
            continue
        for (index, _), appended in zip(members, stored, strict=True):
            results[index] = (_done(appended), None)
    return results
