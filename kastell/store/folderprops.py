"""The property bag of a folder: DAV displayname, colour, order, description, dead properties.

Like ``item_props`` for items: one row per (folder, name), the value JSON. A change
bumps the folder's ``change_num`` (not its content clock: a renamed calendar does
not invalidate the sync-token of its contents) so that hierarchy sync sees it.
Every statement is scoped by the handle's organisation and mailbox (see scope.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from kastell.db import schema as s
from kastell.store.mailbox import Mailbox
from kastell.store.model import Folder
from kastell.store.scope import _F, _folder

if TYPE_CHECKING:
    from kastell.store.mailstore import MailStore

_P = s.folder_props.c


async def folder_props(mailbox: Mailbox, folder_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The properties of these folders of the mailbox, ``{folder_id: {name: value}}``."""
    if not folder_ids:
        return {}
    result: dict[int, dict[str, Any]] = {fid: {} for fid in folder_ids}
    async with mailbox._db.read() as conn:
        rows = await conn.execute(
            select(_P.folder_id, _P.name, _P.value)
            .join(s.folders, _F.id == _P.folder_id)
            .where(mailbox._folder_scope(), _P.folder_id.in_(folder_ids))
        )
        for row in rows:
            result[row.folder_id][row.name] = json.loads(row.value)
    return result


async def set_folder_props(mailbox: Mailbox, folder_id: int, values: dict[str, Any]) -> int:
    """Set (None deletes) properties of a folder in one transaction; the change number taken.

    Raises NoSuchFolder for a folder outside the mailbox.
    """
    async with mailbox._db.write() as conn:
        await mailbox._folder_row(conn, folder_id)
        for name, value in values.items():
            await conn.execute(delete(s.folder_props).where(_P.folder_id == folder_id, _P.name == name))
            if value is not None:
                await conn.execute(
                    insert(s.folder_props).values(folder_id=folder_id, name=name, value=json.dumps(value))
                )
        change = await mailbox._take_changes(conn, 1)
        await conn.execute(
            update(s.folders).where(_F.id == folder_id, mailbox._folder_scope()).values(change_num=change)
        )
    mailbox._publish(change, [folder_id])
    return change


SHARES = "{http://kastell.org/ns/}shares"  # {address: "read" | "read-write"}


async def folders_shared_with(store: MailStore, org_id: int, address: str) -> list[tuple[int, Folder, dict[str, Any]]]:
    """Folders of other mailboxes of the organisation shared with ``address``:
    ``(owner account id, folder, its property bag)``.

    The share list is a JSON object in the bag; the LIKE narrows by the quoted
    address and the exact membership is checked after decoding.
    """
    needle = json.dumps(address)
    async with store.db.read() as conn:
        rows = (
            await conn.execute(
                select(s.folders, s.mailboxes.c.account_id, _P.value.label("shares"))
                .join(s.folder_props, _P.folder_id == _F.id)
                .join(s.mailboxes, s.mailboxes.c.id == _F.mailbox_id)
                .where(_F.org_id == org_id, _P.name == SHARES, _P.value.contains(needle, autoescape=True))
            )
        ).all()
        shared = [(row.account_id, _folder(row)) for row in rows if address in json.loads(row.shares)]
        bags: dict[int, dict[str, Any]] = {folder.id: {} for _, folder in shared}
        if bags:
            for p in await conn.execute(select(_P.folder_id, _P.name, _P.value).where(_P.folder_id.in_(list(bags)))):
                bags[p.folder_id][p.name] = json.loads(p.value)
    return [(account_id, folder, bags[folder.id]) for account_id, folder in shared]
