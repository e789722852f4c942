"""APPEND (RFC 9051 §6.3.12) with APPENDUID (RFC 4315), TRYCREATE, APPENDLIMIT (RFC 7889),
the UTF8 data extension (RFC 6855 §4) and quota refusal (RFC 9208 OVERQUOTA)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kastell.protocols.imap.args import list_arg, mailbox_arg, text_arg
from kastell.protocols.imap.commands.mailboxes import find_folder
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command
from kastell.protocols.imap.responses import parse_date_time
from kastell.store.errors import ItemTooLarge, QuotaExceeded
from kastell.store.flags import split_flags
from kastell.store.model import NewItem

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session


async def handle_append(session: Session, command: Command) -> str:
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
    folder = await find_folder(session, path, code="TRYCREATE")
    try:
        appended = await session.require_mailbox().append(
            folder.id, NewItem(source=source, flags=flags, keywords=tuple(keywords), internal_date=when, internal_tz=zone)
        )
    except QuotaExceeded:
        raise No("Quota exceeded", "OVERQUOTA") from None
    except ItemTooLarge:
        raise No("Message too large", "TOOBIG") from None
    return f"[APPENDUID {appended.uidvalidity} {appended.uid}] APPEND completed"
