"""Annotations of folders and of the server (the store side of IMAP METADATA, RFC 5464).

Theory of operation
-------------------
An entry is named like ``/shared/comment`` or ``/private/vendor/acme/colour``
(always lower case here: RFC 5464 §3.2 makes names case-insensitive) and
holds octets. ``/shared`` entries are seen by everyone who may read the
folder; ``/private`` ones belong to one account.

- Folder entries are rows of the folder's property bag (``folder_props``,
  folderprops.py) under a name prefix: ``imap-metadata:/shared/...`` and
  ``imap-metadata:<account id>:/private/...``. Values are JSON strings (the
  octets read as UTF-8, undecodable bytes kept by ``surrogateescape``).
  Writing goes through the owner's mailbox handle, so tenancy is the
  handle's, and bumps the folder's change number like any property.
- Server entries are rows of ``server_metadata``, per organisation: owner
  ``shared`` for ``/shared``, ``account:<id>`` for ``/private``.

Limits are the caller's (the protocol knows its response codes); this module
enforces the entry count it is given and raises :class:`TooManyEntries`.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, func, insert, select

from kastell.db import schema as s
from kastell.store.errors import StoreError
from kastell.store.folderprops import folder_props, set_folder_props
from kastell.store.mailbox import Mailbox
from kastell.store.mailstore import MailStore

PROP_PREFIX = "imap-metadata:"
_M = s.server_metadata.c


class TooManyEntries(StoreError):
    """The write would leave more entries than allowed for this folder/server and owner."""


def _prop_name(entry: str, account_id: int) -> str:
    if entry.startswith("/private/"):
        return f"{PROP_PREFIX}{account_id}:{entry}"
    return PROP_PREFIX + entry


def _entry_of(name: str, account_id: int) -> str | None:
    """The entry a property name holds for ``account_id`` (None: not an entry, or another's)."""
    if not name.startswith(PROP_PREFIX):
        return None
    rest = name[len(PROP_PREFIX) :]
    if rest.startswith("/shared/"):
        return rest
    owner, _, entry = rest.partition(":")
    return entry if owner == str(account_id) and entry.startswith("/private/") else None


def _encode(value: bytes) -> str:
    return value.decode("utf-8", "surrogateescape")


def _decode(value: object) -> bytes:
    return str(value).encode("utf-8", "surrogateescape")


async def folder_entries(mailbox: Mailbox, folder_id: int, account_id: int) -> dict[str, bytes]:
    """The folder's ``/shared`` entries and ``account_id``'s ``/private`` ones."""
    props = (await folder_props(mailbox, [folder_id])).get(folder_id, {})
    out: dict[str, bytes] = {}
    for name, value in props.items():
        entry = _entry_of(name, account_id)
        if entry is not None:
            out[entry] = _decode(value)
    return out


async def set_folder_entries(
    mailbox: Mailbox, folder_id: int, account_id: int, values: Mapping[str, bytes | None], *, max_entries: int
) -> None:
    """Set (None removes) entries of a folder of ``mailbox`` in one transaction.

    Raises TooManyEntries when the folder would hold more than ``max_entries``
    shared entries, or ``account_id`` more than that many private ones, and
    NoSuchFolder for a folder outside the mailbox.
    """
    current = await folder_entries(mailbox, folder_id, account_id)
    after = {**current, **values}
    for scope in ("/shared/", "/private/"):
        if sum(1 for k, v in after.items() if k.startswith(scope) and v is not None) > max_entries:
            raise TooManyEntries(f"at most {max_entries} {scope[1:-1]} entries per mailbox")
    changes = {
        _prop_name(entry, account_id): (None if value is None else _encode(value)) for entry, value in values.items()
    }
    await set_folder_props(mailbox, folder_id, changes)


def _owner(entry: str, account_id: int) -> tuple[str, int | None]:
    if entry.startswith("/private/"):
        return f"account:{account_id}", account_id
    return "shared", None


async def server_entries(store: MailStore, org_id: int, account_id: int) -> dict[str, bytes]:
    """The organisation's ``/shared`` server entries and ``account_id``'s ``/private`` ones."""
    async with store.db.read() as conn:
        rows = (
            await conn.execute(
                select(_M.name, _M.value).where(_M.org_id == org_id, _M.owner.in_(("shared", f"account:{account_id}")))
            )
        ).all()
    return {row.name: bytes(row.value) for row in rows}


async def set_server_entries(
    store: MailStore, org_id: int, account_id: int, values: Mapping[str, bytes | None], *, max_entries: int
) -> None:
    """Set (None removes) server entries of the organisation in one transaction; TooManyEntries."""
    async with store.db.write() as conn:
        member = await conn.scalar(
            select(s.accounts.c.id).where(s.accounts.c.id == account_id, s.accounts.c.org_id == org_id)
        )
        if member is None:
            raise StoreError("no such account in this organisation")
        touched: set[str] = set()
        for entry, value in values.items():
            owner, owner_account = _owner(entry, account_id)
            touched.add(owner)
            await conn.execute(
                delete(s.server_metadata).where(_M.org_id == org_id, _M.owner == owner, _M.name == entry)
            )
            if value is not None:
                await conn.execute(
                    insert(s.server_metadata).values(
                        org_id=org_id, owner=owner, name=entry, account_id=owner_account, value=value
                    )
                )
        for owner in touched:
            count = await conn.scalar(
                select(func.count()).select_from(s.server_metadata).where(_M.org_id == org_id, _M.owner == owner)
            )
            if (count or 0) > max_entries:
                # Raising rolls the whole transaction back: nothing of this write stays.
                raise TooManyEntries(f"at most {max_entries} entries per owner on the server")


__all__ = [
    "PROP_PREFIX",
    "TooManyEntries",
    "folder_entries",
    "server_entries",
    "set_folder_entries",
    "set_server_entries",
]
