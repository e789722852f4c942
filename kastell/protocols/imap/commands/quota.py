"""QUOTA (RFC 9208): one quota root, "", holding the mailbox's STORAGE in KiB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kastell.protocols.imap.args import astring_arg, mailbox_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Command
from kastell.protocols.imap.responses import mailbox_name, untagged
from kastell.protocols.imap.shared import locate, own_mailbox

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session


async def _quota_line(session: Session) -> bytes:
    quota = await own_mailbox(session).quota()
    if not quota.limit:
        return untagged('QUOTA "" ()')
    used_kib = (quota.used + 1023) // 1024
    return untagged(f'QUOTA "" (STORAGE {used_kib} {quota.limit // 1024})')


async def handle_getquota(session: Session, command: Command) -> str:
    if len(command.args) != 1:
        raise Bad("GETQUOTA needs a quota root")
    if astring_arg(command.args[0]) != "":
        raise No("No such quota root", "NONEXISTENT")
    session.send(await _quota_line(session))
    return "GETQUOTA completed"


async def handle_getquotaroot(session: Session, command: Command) -> str:
    if len(command.args) != 1:
        raise Bad("GETQUOTAROOT needs a mailbox")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    if not located.own:
        # Another account's folder counts against its owner's quota, which is not ours to show.
        session.send(untagged(b"QUOTAROOT " + mailbox_name(located.name, session.utf8)))
        return "GETQUOTAROOT completed"
    session.send(untagged(b"QUOTAROOT " + mailbox_name(located.name, session.utf8) + b' ""'))
    session.send(await _quota_line(session))
    return "GETQUOTAROOT completed"


async def handle_setquota(session: Session, command: Command) -> str:
    raise No("Quotas are set by the administrator", "NOPERM")
