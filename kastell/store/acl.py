"""Folder rights (RFC 4314 letters) and the folders another account shares with a user.

Theory of operation
-------------------
A folder's owner (the account whose mailbox holds it) has every right, always;
nothing about the owner is stored. Everyone else has the rights granted to
them in ``folder_acl``: to their account (``account:<id>``) and to ``anyone``
of the organisation, united. Tenancy is absolute: a grant names only an
account of the folder's own organisation, every query filters on the
organisation, and "anyone" means anyone *of that organisation*.

Rights are kept as a string of the letters ``lrswipkxtea`` in that order.
The RFC 2086 letters ``c`` and ``d`` are accepted on input as ``kx`` and
``te`` (RFC 4314 §2.1.1, the "c = k ∪ x" reading); the protocol layer adds
them back to what it reports.

Grants are read and written through a mailbox handle of the owner (its
organisation and mailbox scope every statement, as in scope.py); the
"shared with me" listing works across the mailboxes of one organisation and
needs only the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, insert, or_, select

from kastell.db import schema as s
from kastell.store.errors import StoreError
from kastell.store.model import Folder
from kastell.store.scope import _F, _folder

if TYPE_CHECKING:
    from kastell.store.mailbox import Mailbox
    from kastell.store.mailstore import MailStore

ALL_RIGHTS = "lrswipkxtea"
ANYONE = "anyone"
_A = s.folder_acl.c
_SUB = s.shared_subscriptions.c
_VIRTUAL = {"c": "kx", "d": "te"}


class InvalidRights(StoreError):
    """A rights string with a letter that is not a right (RFC 4314 §3.1: refuse, never ignore)."""


class InvalidGrantee(StoreError):
    """The grantee is not an account of the folder's organisation, or is its owner."""


def normalise_rights(text: str) -> str:
    """Letters → the canonical rights string (``c``/``d`` expanded); InvalidRights otherwise."""
    letters: set[str] = set()
    for ch in text:
        if ch in _VIRTUAL:
            letters.update(_VIRTUAL[ch])
        elif ch in ALL_RIGHTS:
            letters.add(ch)
        else:
            raise InvalidRights(f"unknown right {ch!r}")
    return "".join(ch for ch in ALL_RIGHTS if ch in letters)


def union(*rights: str) -> str:
    letters = set("".join(rights))
    return "".join(ch for ch in ALL_RIGHTS if ch in letters)


def account_grantee(account_id: int) -> str:
    return f"account:{account_id}"


@dataclass(frozen=True, slots=True)
class Grant:
    grantee: str  # "anyone" or "account:<id>"
    account_id: int | None  # None for "anyone"
    rights: str


@dataclass(frozen=True, slots=True)
class SharedFolder:
    """A folder of another mailbox of the organisation and what this account may do with it."""

    owner_id: int  # the account whose mailbox holds the folder
    owner_address: str
    folder: Folder
    rights: str
    subscribed: bool


# ---------------------------------------------------------------------------- the owner's side


async def grants(mailbox: Mailbox, folder_id: int) -> list[Grant]:
    """Every grant on a folder of ``mailbox`` ("anyone" first, then by account id)."""
    async with mailbox._db.read() as conn:
        rows = (
            await conn.execute(
                select(_A.grantee, _A.account_id, _A.rights)
                .join(s.folders, _F.id == _A.folder_id)
                .where(mailbox._folder_scope(), _A.org_id == mailbox.org_id, _A.folder_id == folder_id)
            )
        ).all()
    out = [Grant(row.grantee, row.account_id, row.rights) for row in rows]
    return sorted(out, key=lambda g: (g.account_id is not None, g.account_id or 0))


async def set_rights(mailbox: Mailbox, folder_id: int, account_id: int | None, rights: str) -> str:
    """Grant ``rights`` (replacing the grantee's) on a folder of ``mailbox``; ``""`` removes the grant.

    ``account_id`` None means "anyone" of the organisation. Returns the canonical
    rights stored. Raises NoSuchFolder, InvalidRights, or InvalidGrantee for the
    owner or an account of another organisation.
    """
    rights = normalise_rights(rights)
    grantee = ANYONE if account_id is None else account_grantee(account_id)
    async with mailbox._db.write() as conn:
        await mailbox._folder_row(conn, folder_id)
        if account_id is not None:
            if account_id == mailbox.account_id:
                raise InvalidGrantee("the owner has every right on their own folders")
            org = await conn.scalar(select(s.accounts.c.org_id).where(s.accounts.c.id == account_id))
            if org != mailbox.org_id:
                raise InvalidGrantee("no such account in this organisation")
        await conn.execute(delete(s.folder_acl).where(_A.folder_id == folder_id, _A.grantee == grantee))
        if rights:
            await conn.execute(
                insert(s.folder_acl).values(
                    folder_id=folder_id, grantee=grantee, org_id=mailbox.org_id, account_id=account_id, rights=rights
                )
            )
    return rights


async def delete_rights(mailbox: Mailbox, folder_id: int, account_id: int | None) -> bool:
    """Remove a grantee's grant on a folder of ``mailbox``; whether there was one."""
    grantee = ANYONE if account_id is None else account_grantee(account_id)
    async with mailbox._db.write() as conn:
        await mailbox._folder_row(conn, folder_id)
        result = await conn.execute(
            delete(s.folder_acl).where(_A.folder_id == folder_id, _A.grantee == grantee, _A.org_id == mailbox.org_id)
        )
    return bool(result.rowcount)


async def copy_grants(mailbox: Mailbox, from_folder_id: int, to_folder_id: int) -> None:
    """Give a new folder the grants of its parent (RFC 4314 §4: CREATE SHOULD inherit the ACL)."""
    source = await grants(mailbox, from_folder_id)
    if not source:
        return
    async with mailbox._db.write() as conn:
        await mailbox._folder_row(conn, to_folder_id)
        await conn.execute(delete(s.folder_acl).where(_A.folder_id == to_folder_id))
        await conn.execute(
            insert(s.folder_acl),
            [
                {
                    "folder_id": to_folder_id,
                    "grantee": g.grantee,
                    "org_id": mailbox.org_id,
                    "account_id": g.account_id,
                    "rights": g.rights,
                }
                for g in source
            ],
        )


# ---------------------------------------------------------------------------- the grantee's side


async def rights_of(mailbox: Mailbox, folder_id: int, account_id: int) -> str:
    """What ``account_id`` may do with a folder of ``mailbox`` (all for the owner, "" for none).

    ``mailbox`` must be the owner's handle; a folder outside it gives "".
    """
    if account_id == mailbox.account_id:
        return ALL_RIGHTS
    async with mailbox._db.read() as conn:
        rows = (
            await conn.execute(
                select(_A.rights)
                .join(s.folders, _F.id == _A.folder_id)
                .join(s.accounts, s.accounts.c.id == account_id)
                .where(
                    mailbox._folder_scope(),
                    _A.org_id == mailbox.org_id,
                    s.accounts.c.org_id == mailbox.org_id,
                    _A.folder_id == folder_id,
                    or_(_A.grantee == ANYONE, _A.grantee == account_grantee(account_id)),
                )
            )
        ).all()
    return union(*(row.rights for row in rows))


async def shared_with(store: MailStore, org_id: int, account_id: int) -> list[SharedFolder]:
    """The folders of other mailboxes of ``org_id`` on which ``account_id`` holds any right.

    Ordered by owner address, then folder path. An account of another
    organisation gets nothing, whatever it asks for.
    """
    async with store.db.read() as conn:
        member = await conn.scalar(
            select(s.accounts.c.id).where(s.accounts.c.id == account_id, s.accounts.c.org_id == org_id)
        )
        if member is None:
            return []
        rows = (
            await conn.execute(
                select(s.folders, s.mailboxes.c.account_id.label("owner_id"), s.accounts.c.address, _A.rights)
                .select_from(s.folder_acl)
                .join(s.folders, _F.id == _A.folder_id)
                .join(s.mailboxes, and_(s.mailboxes.c.id == _F.mailbox_id, s.mailboxes.c.org_id == org_id))
                .join(s.accounts, s.accounts.c.id == s.mailboxes.c.account_id)
                .where(
                    _A.org_id == org_id,
                    _F.org_id == org_id,
                    s.accounts.c.org_id == org_id,
                    s.mailboxes.c.account_id != account_id,
                    or_(_A.grantee == ANYONE, _A.grantee == account_grantee(account_id)),
                )
            )
        ).all()
        subscribed = set(
            (
                await conn.execute(select(_SUB.folder_id).where(_SUB.account_id == account_id, _SUB.org_id == org_id))
            ).scalars()
        )
    merged: dict[int, tuple[int, str, Folder, str]] = {}
    for row in rows:
        folder = _folder(row)
        known = merged.get(folder.id)
        rights = union(known[3], row.rights) if known else row.rights
        merged[folder.id] = (row.owner_id, row.address, folder, rights)
    out = [
        SharedFolder(owner, address, folder, rights, folder.id in subscribed)
        for owner, address, folder, rights in merged.values()
    ]
    return sorted(out, key=lambda f: (f.owner_address, f.folder.path))


async def set_shared_subscription(
    store: MailStore, org_id: int, account_id: int, folder_id: int, subscribed: bool
) -> None:
    """Subscribe an account to a folder of another mailbox of its organisation (or not)."""
    async with store.db.write() as conn:
        await conn.execute(
            delete(s.shared_subscriptions).where(
                _SUB.account_id == account_id, _SUB.folder_id == folder_id, _SUB.org_id == org_id
            )
        )
        if subscribed:
            owner_org = await conn.scalar(select(_F.org_id).where(_F.id == folder_id))
            if owner_org != org_id:
                return  # another organisation's folder: nothing to subscribe to
            await conn.execute(
                insert(s.shared_subscriptions).values(account_id=account_id, folder_id=folder_id, org_id=org_id)
            )


__all__ = [
    "ALL_RIGHTS",
    "ANYONE",
    "Grant",
    "InvalidGrantee",
    "InvalidRights",
    "SharedFolder",
    "copy_grants",
    "delete_rights",
    "grants",
    "normalise_rights",
    "rights_of",
    "set_rights",
    "set_shared_subscription",
    "shared_with",
    "union",
]
