"""Mailbox names across mailboxes: the user's own folders and the "Other Users" namespace.

Theory of operation
-------------------
The personal namespace has the prefix ``""``: a name is a path of the user's
own mailbox.  Folders that other accounts of the same organisation share with
the user (kastell.store.acl) live in the other-users namespace (RFC 2342)
``Other Users/``, named ``Other Users/<owner address>/<owner's path>`` — for
example ``Other Users/team@example.org/INBOX`` — like Dovecot's
``shared/%u/`` with a name clients show well.  ``Other Users`` and
``Other Users/<owner>`` themselves are ``\\Noselect`` levels of the listing.

:func:`locate` turns any name into a :class:`Located`: the mailbox handle
that holds the folder (the user's own, or the owner's), the folder and the
user's rights on it (RFC 4314 letters; all of them on the user's own
folders).  A folder the user may not even know about (none of ``l r i k x
a``) is reported as nonexistent, exactly like one that does not exist, so
that names cannot be probed (RFC 4314 §6); a known folder without the right
a command needs is refused with ``NO [NOPERM]``.

A user of another organisation never reaches a folder here: the owner is
looked up in the directory and must be of the session's organisation, and
the store scopes every grant by organisation as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kastell.directory.errors import DirectoryError
from kastell.protocols.imap.errors import No
from kastell.store import acl
from kastell.store.errors import InvalidFolderName, NoSuchFolder, NoSuchMailbox
from kastell.store.flags import Flag
from kastell.store.mailbox import Mailbox
from kastell.store.model import Folder

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

OTHER_USERS = "Other Users"
PREFIX = OTHER_USERS + "/"
MAIL_CLASS = "IPF.Note"
# Knowing any of these lets a user learn that the folder exists (RFC 4314 §4 MYRIGHTS, §6).
VISIBLE = set("lrikxa")
# SELECT is read-write only with one of these (RFC 4314 §5.2: insert, expunge, the flag rights).
WRITE_RIGHTS = set("iestw")


@dataclass(frozen=True, slots=True)
class Located:
    mailbox: Mailbox  # the handle of the mailbox that holds the folder
    folder: Folder
    rights: str
    name: str  # the name as the client sees it (a store path of the own mailbox, or Other Users/...)
    own: bool

    def require(self, rights: str, what: str) -> None:
        """No [NOPERM] unless the user holds every one of ``rights``."""
        missing = [r for r in rights if r not in self.rights]
        if missing:
            raise No(f"Permission denied: {what} needs the right {''.join(missing)!r}", "NOPERM")


def shared_name(owner_address: str, path: str) -> str:
    return f"{PREFIX}{owner_address}/{path}"


def split_shared(name: str) -> tuple[str, str] | None:
    """``Other Users/<owner>/<path>`` → (owner, path); None for a personal name.

    ``Other Users/<owner>`` alone gives ``(owner, "")``.
    """
    if not name.startswith(PREFIX):
        return None
    owner, _, path = name[len(PREFIX) :].partition("/")
    return owner, path


def own_mailbox(session: Session) -> Mailbox:
    """The logged-in user's own mailbox, whatever is selected."""
    assert session.mailbox is not None
    return session.mailbox


async def owner_mailbox(session: Session, address: str) -> Mailbox | None:
    """The mailbox of ``address`` if it is an account of the session's organisation, else None."""
    assert session.account is not None
    if address.lower() == session.account.address.lower():
        return own_mailbox(session)
    try:
        owner = await session.app.directory.get_account(address)
    except (DirectoryError, ValueError):
        return None
    if owner.org_id != session.account.org_id:
        return None  # tenancy is absolute: never another organisation's mailbox
    try:
        return await session.app.store.open(owner.org_id, owner.id)
    except NoSuchMailbox:
        return None


async def locate(session: Session, name: str, *, code: str = "NONEXISTENT") -> Located:
    """The folder a mailbox name stands for; No([NONEXISTENT] or ``code``) when there is none
    the user may know of (see the module docstring)."""
    assert session.account is not None
    missing = No("Mailbox does not exist", code)
    shared = split_shared(name)
    if shared is None:
        mailbox = own_mailbox(session)
        path = name
    else:
        owner, path = shared
        if not path:
            raise missing
        found = await owner_mailbox(session, owner)
        if found is None:
            raise missing
        mailbox = found
    try:
        folder = await mailbox.folder_by_path(path)
    except (NoSuchFolder, InvalidFolderName):
        raise missing from None
    if folder.folder_class != MAIL_CLASS:
        raise missing
    if mailbox.account_id == session.account.id:
        return Located(mailbox, folder, acl.ALL_RIGHTS, folder.path, True)
    rights = await acl.rights_of(mailbox, folder.id, session.account.id)
    if not VISIBLE & set(rights):
        raise missing
    return Located(mailbox, folder, rights, shared_name(_owner_address(name), folder.path), False)


def _owner_address(name: str) -> str:
    split = split_shared(name)
    assert split is not None
    return split[0].lower()


async def shared_folders(session: Session) -> list[acl.SharedFolder]:
    """The mail folders others share with the user (any right)."""
    assert session.account is not None
    found = await acl.shared_with(session.app.store, session.account.org_id, session.account.id)
    return [f for f in found if f.folder.folder_class == MAIL_CLASS]


def report_rights(rights: str) -> str:
    """Rights as MYRIGHTS/ACL report them: with the RFC 2086 ``c`` (k or x) and ``d`` (t or e)."""
    out = rights
    if "k" in rights or "x" in rights:
        out += "c"
    if "t" in rights or "e" in rights:
        out += "d"
    return out


def read_write(rights: str) -> bool:
    return bool(WRITE_RIGHTS & set(rights))


def flag_bits_allowed(rights: str) -> int:
    """System flag bits the rights let a user change (RFC 4314 §4: s \\Seen, t \\Deleted, w the rest)."""
    bits = 0
    if "s" in rights:
        bits |= int(Flag.SEEN)
    if "t" in rights:
        bits |= int(Flag.DELETED)
    if "w" in rights:
        bits |= int(Flag.ANSWERED | Flag.FLAGGED | Flag.DRAFT)
    return bits


def filter_new_flags(rights: str, flags: int, keywords: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
    """The flags a new message (APPEND, COPY) keeps: only those the user may set (RFC 4314 §4)."""
    return flags & flag_bits_allowed(rights), keywords if "w" in rights else ()
