"""ACL (RFC 4314): SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS, and the rights checks
that wrap FETCH, STORE and COPY/MOVE on shared folders.

Identifiers are account addresses of the user's organisation and ``anyone``
(everyone of the organisation). The owner of a folder always has every right
and is listed first by GETACL; negative rights (``-fred``) are not supported.

FETCH, STORE and COPY/MOVE belong to other modules; the ``guard_*`` wrappers
in the command table (session.py) apply the rights of a shared folder around
them (RFC 4314 §4) so that those handlers stay as they are:

- FETCH without ``s`` runs as on a read-only mailbox: no implicit ``\\Seen``.
- STORE changes only the flags the rights allow (``s`` \\Seen, ``t``
  \\Deleted, ``w`` the rest), and is refused with ``NO [NOPERM]`` when none of
  the flags it names is allowed; ``STORE FLAGS`` (replace) rewrites every flag
  and so needs ``s``, ``t`` and ``w``.
- COPY/MOVE need ``i`` on the target (and ``t``, ``e`` on the source for
  MOVE); between two mailboxes the messages are appended to the target with the
  flags the target's rights allow, and for MOVE expunged from the source.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from kastell.directory.errors import DirectoryError
from kastell.protocols.imap.args import astring_arg, mailbox_arg, text_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command, Token
from kastell.protocols.imap.responses import compress_set, mailbox_name, quoted, untagged
from kastell.protocols.imap.selected import Selected
from kastell.protocols.imap.shared import (
    Located,
    filter_new_flags,
    locate,
    own_mailbox,
    report_rights,
)
from kastell.store import acl
from kastell.store.errors import QuotaExceeded
from kastell.store.flags import Flag, flag_from_name
from kastell.store.model import NewItem

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Handler, Session

_ALL_LISTED = " ".join(acl.ALL_RIGHTS) + " c d"
_ATOM = re.compile(r"[A-Za-z0-9!#$&'+,\-.:;<=>?@^_`|~]+\Z")


def _astring(text: str) -> bytes:
    """An identifier or rights string: an atom when it can be one (as Dovecot sends them)."""
    if _ATOM.match(text) and text.upper() != "NIL":
        return text.encode()
    return quoted(text)


# ---------------------------------------------------------------------------- identifiers


async def _grantee(session: Session, located: Located, identifier: str) -> int | None:
    """The account id an identifier names (None for ``anyone``); No for anything else."""
    assert session.account is not None
    if not identifier:
        raise Bad("Empty identifier")
    if identifier.lower() == acl.ANYONE:
        return None
    if identifier.startswith("-"):
        raise No("Negative rights are not supported", "CANNOT")
    try:
        account = await session.app.directory.get_account(identifier)
    except (DirectoryError, ValueError):
        raise No(f"No such user {identifier[:80]}", "NONEXISTENT") from None
    if account.org_id != session.account.org_id:
        raise No(f"No such user {identifier[:80]}", "NONEXISTENT")
    if account.id == located.mailbox.account_id:
        raise No("The owner always has every right", "CANNOT")
    return account.id


def _rights_arg(text: str) -> tuple[str, str]:
    """``[+-]letters`` → (mode, canonical rights); Bad for an unknown right (RFC 4314 §3.1)."""
    mode = text[:1] if text[:1] in ("+", "-") else ""
    letters = text[len(mode) :]
    try:
        return mode, acl.normalise_rights(letters)
    except acl.InvalidRights as exc:
        raise Bad(f"Invalid rights: {exc}") from None


async def _owner_address(session: Session, located: Located) -> str:
    assert session.account is not None
    if located.own:
        return session.account.address
    owner = await session.app.directory.get_account_by_id(located.mailbox.org_id, located.mailbox.account_id)
    return owner.address


# ---------------------------------------------------------------------------- commands


async def handle_setacl(session: Session, command: Command) -> str:
    if len(command.args) != 3:
        raise Bad("SETACL needs a mailbox, an identifier and rights")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    located.require("a", "SETACL")
    account_id = await _grantee(session, located, astring_arg(command.args[1]))
    mode, rights = _rights_arg(astring_arg(command.args[2]))
    if mode:
        current = next(
            (g.rights for g in await acl.grants(located.mailbox, located.folder.id) if g.account_id == account_id),
            "",
        )
        rights = acl.union(current, rights) if mode == "+" else "".join(r for r in current if r not in rights)
    await acl.set_rights(located.mailbox, located.folder.id, account_id, rights)
    return "SETACL completed"


async def handle_deleteacl(session: Session, command: Command) -> str:
    if len(command.args) != 2:
        raise Bad("DELETEACL needs a mailbox and an identifier")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    located.require("a", "DELETEACL")
    account_id = await _grantee(session, located, astring_arg(command.args[1]))
    await acl.delete_rights(located.mailbox, located.folder.id, account_id)
    return "DELETEACL completed"


async def handle_getacl(session: Session, command: Command) -> str:
    if len(command.args) != 1:
        raise Bad("GETACL needs a mailbox")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    located.require("a", "GETACL")
    parts = [
        b"ACL " + mailbox_name(located.name, session.utf8),
        _astring(await _owner_address(session, located)),
        _astring(report_rights(acl.ALL_RIGHTS)),
    ]
    for grant in await acl.grants(located.mailbox, located.folder.id):
        if grant.account_id is None:
            who = acl.ANYONE
        else:
            try:
                who = (await session.app.directory.get_account_by_id(located.mailbox.org_id, grant.account_id)).address
            except DirectoryError:
                continue
        parts += [_astring(who), _astring(report_rights(grant.rights))]
    session.send(untagged(b" ".join(parts)))
    return "GETACL completed"


async def handle_listrights(session: Session, command: Command) -> str:
    if len(command.args) != 2:
        raise Bad("LISTRIGHTS needs a mailbox and an identifier")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    located.require("a", "LISTRIGHTS")
    identifier = astring_arg(command.args[1])
    head = b"LISTRIGHTS " + mailbox_name(located.name, session.utf8) + b" " + _astring(identifier)
    # The response names the identifier as the client wrote it (RFC 4314 §3.4).
    try:
        await _grantee(session, located, identifier)
    except No as exc:
        if exc.code != "CANNOT" or identifier.startswith("-"):
            raise
        # The owner: every right, always, none optional.
        session.send(untagged(head + b" " + _astring(report_rights(acl.ALL_RIGHTS))))
        return "LISTRIGHTS completed"
    session.send(untagged(head + b' "" ' + _ALL_LISTED.encode()))
    return "LISTRIGHTS completed"


async def handle_myrights(session: Session, command: Command) -> str:
    if len(command.args) != 1:
        raise Bad("MYRIGHTS needs a mailbox")
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    line = b"MYRIGHTS " + mailbox_name(located.name, session.utf8) + b" " + _astring(report_rights(located.rights))
    session.send(untagged(line))
    return "MYRIGHTS completed"


# ---------------------------------------------------------------------------- guards


def guard_fetch(inner: Handler) -> Handler:
    """FETCH without the ``s`` right must not set \\Seen (RFC 4314 §4): run it read-only."""

    async def handle(session: Session, command: Command) -> str:
        selected = session.require_selected()
        if "s" in selected.rights or selected.read_only:
            return await inner(session, command)
        selected.read_only = True
        try:
            return await inner(session, command)
        finally:
            selected.read_only = False

    return handle


def _flag_right(name: str) -> str:
    bit = flag_from_name(name)
    if bit == Flag.SEEN:
        return "s"
    if bit == Flag.DELETED:
        return "t"
    return "w"


def _store_allowed(command: Command, rights: str) -> Command:
    """The STORE command limited to the flags ``rights`` allow; No [NOPERM] when none is."""
    args = list(command.args)
    at = 2 if len(args) > 2 and isinstance(args[1], list) else 1
    token = args[at] if len(args) > at else None
    if not isinstance(token, Atom):
        return command  # malformed: the handler says BAD
    item = token.upper().removesuffix(".SILENT")
    last = args[-1]
    flags: list[Token] = list(last) if len(args) == at + 2 and isinstance(last, list) else args[at + 1 :]
    if not item.startswith(("+", "-")):
        missing = [r for r in "stw" if r not in rights]
        if missing:
            raise No(f"Permission denied: STORE FLAGS needs the rights {''.join(missing)!r}", "NOPERM")
        return command
    kept = [t for t in flags if not isinstance(t, Atom) or _flag_right(t) in rights]
    if flags and not kept:
        raise No("Permission denied: no right to change these flags", "NOPERM")
    if len(kept) == len(flags):
        return command
    return dataclasses.replace(command, args=(*args[: at + 1], kept))


def guard_store(inner: Handler) -> Handler:
    """STORE on a shared folder: only the flags the rights allow (see the module docstring)."""

    async def handle(session: Session, command: Command) -> str:
        selected = session.require_selected()
        if all(r in selected.rights for r in "stw"):
            return await inner(session, command)
        return await inner(session, _store_allowed(command, selected.rights))

    return handle


def guard_copy(inner: Handler) -> Handler:
    """COPY/MOVE: rights on both ends; between two mailboxes done here (see the module docstring)."""

    async def handle(session: Session, command: Command) -> str:
        selected = session.require_selected()
        if len(command.args) != 2:
            return await inner(session, command)
        target = await locate(session, mailbox_arg(command.args[1], session.utf8), code="TRYCREATE")
        source = session.require_mailbox()
        own = own_mailbox(session)
        if source.id == own.id and target.own:
            return await inner(session, command)
        move = command.name.endswith("MOVE")
        target.require("i", command.name)
        if move and selected.read_only:
            raise No("Mailbox is read-only", "READ-ONLY")
        if move and not all(r in selected.rights for r in "te"):
            raise No(f"Permission denied: {command.name} needs the rights 't' and 'e' here", "NOPERM")
        if target.mailbox.id == source.id and all(r in target.rights for r in "stw"):
            return await inner(session, command)  # one mailbox, every flag kept: the store's own copy
        return await _copy_across(session, command, selected, target, move)

    return handle


async def _copy_across(session: Session, command: Command, selected: Selected, target: Located, move: bool) -> str:
    """Copy (or move) messages into a folder of another mailbox, one transaction there."""
    source = session.require_mailbox()
    uid_mode = command.name.startswith("UID ")
    ranges = selected.ranges(text_arg(command.args[0]), uid_mode)
    olds: list[int] = []
    items: list[NewItem] = []
    async for item in source.iter_items(selected.folder.id, ranges):
        if not selected.seq_of(item.uid):
            continue
        flags, keywords = filter_new_flags(target.rights, item.flags, item.keywords)
        olds.append(item.uid)
        items.append(
            NewItem(
                source=await source.source(item),
                flags=flags,
                keywords=keywords,
                internal_date=item.internal_date,
                internal_tz=item.internal_tz,
            )
        )
    if not items:
        return f"{command.name} completed"
    if target.mailbox.id == source.id and target.folder.id == selected.folder.id:
        selected.dirty = True
    try:
        appended = await target.mailbox.append_many(target.folder.id, items)
    except QuotaExceeded:
        raise No("Quota exceeded", "OVERQUOTA") from None
    news = [a.uid for a in appended]
    code = f"COPYUID {target.folder.uidvalidity} {compress_set(olds)} {compress_set(news)}"
    if not move:
        return f"[{code}] {command.name} completed"
    runs: list[tuple[int, int]] = []
    for uid in olds:
        if runs and uid == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], uid)
        else:
            runs.append((uid, uid))
    for start in range(0, len(runs), 500):  # at most 500 ranges per statement, as EXPUNGE does
        await source.expunge(selected.folder.id, runs[start : start + 500])
    session.send(untagged(f"OK [{code}] Moved"))
    selected.pending.update(olds)
    await session.updates(allow_expunge=True)
    return f"{command.name} completed"


__all__ = [
    "guard_copy",
    "guard_fetch",
    "guard_store",
    "handle_deleteacl",
    "handle_getacl",
    "handle_listrights",
    "handle_myrights",
    "handle_setacl",
]
