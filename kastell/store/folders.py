"""Folder operations of a mailbox handle: the tree, its classes and roles."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.store.errors import (
    FolderExists,
    FolderNotEmpty,
    InvalidFolderName,
    NoSuchFolder,
    SpecialFolder,
)
from kastell.store.model import Folder
from kastell.store.scope import _F, MailboxScope, _folder, validate_path


class FolderOps(MailboxScope):
    # ------------------------------------------------------------------ folders

    async def folders(self) -> list[Folder]:
        async with self._db.read() as conn:
            rows = await conn.execute(select(s.folders).where(self._folder_scope()).order_by(_F.path))
            return [_folder(row) for row in rows]

    async def folder(self, folder_id: int) -> Folder:
        async with self._db.read() as conn:
            return _folder(await self._folder_row(conn, folder_id))

    async def folder_by_path(self, path: str) -> Folder:
        path = validate_path(path)
        async with self._db.read() as conn:
            row = (await conn.execute(select(s.folders).where(_F.path == path, self._folder_scope()))).first()
        if row is None:
            raise NoSuchFolder(f"no folder {path!r}")
        return _folder(row)

    async def folder_by_role(self, role: str) -> Folder:
        async with self._db.read() as conn:
            row = (await conn.execute(select(s.folders).where(_F.role == role, self._folder_scope()))).first()
        if row is None:
            raise NoSuchFolder(f"no {role} folder")
        return _folder(row)

    async def create_folder(
        self, path: str, folder_class: str = "IPF.Note", *, role: str | None = None, subscribed: bool = True
    ) -> Folder:
        """Create ``path`` and any missing parents (parents get the same class)."""
        path = validate_path(path)
        levels = path.split("/")
        async with self._db.write() as conn:
            existing = {
                row.path: row.id
                for row in await conn.execute(
                    select(_F.path, _F.id).where(
                        self._folder_scope(),
                        _F.path.in_(["/".join(levels[: i + 1]) for i in range(len(levels))]),
                    )
                )
            }
            if path in existing:
                raise FolderExists(f"folder {path!r} exists already")
            missing = [i for i in range(len(levels)) if "/".join(levels[: i + 1]) not in existing]
            first = await self._take_changes(conn, len(missing))
            parent_id: int | None = None
            created_id = 0
            for i in range(len(levels)):
                sub = "/".join(levels[: i + 1])
                if sub in existing:
                    parent_id = existing[sub]
                    continue
                change = first + missing.index(i)
                result = await conn.execute(
                    insert(s.folders).values(
                        org_id=self.org_id,
                        mailbox_id=self.id,
                        parent_id=parent_id,
                        path=sub,
                        folder_class=folder_class,
                        role=role if sub == path else None,
                        uidvalidity=change,
                        uidnext=1,
                        subscribed=subscribed,
                        created_change=change,
                        change_num=change,
                        content_change=change,
                    )
                )
                parent_id = created_id = _new_id(result)
            folder = _folder(await self._folder_row(conn, created_id))
        self._publish(first + len(missing) - 1, [folder.id])
        return folder

    async def rename_folder(self, folder_id: int, new_path: str) -> Folder:
        """Rename a folder and its subtree; parents of the new path are created."""
        new_path = validate_path(new_path)
        async with self._db.write() as conn:
            row = await self._folder_row(conn, folder_id)
            if row.role == "inbox":
                raise SpecialFolder("INBOX cannot be renamed")
            if new_path == row.path or new_path.startswith(row.path + "/"):
                raise InvalidFolderName("a folder cannot be moved into itself")
            clash = await conn.scalar(select(_F.id).where(self._folder_scope(), _F.path == new_path))
            if clash is not None:
                raise FolderExists(f"folder {new_path!r} exists already")
            prefix = row.path + "/"
            subtree = (
                await conn.execute(
                    select(_F.id, _F.path).where(self._folder_scope(), func.substr(_F.path, 1, len(prefix)) == prefix)
                )
            ).all()
            parent_path, _, _ = new_path.rpartition("/")
            parent_id = await self._ensure_parents(conn, parent_path) if parent_path else None
            change = await self._take_changes(conn, 1)
            await conn.execute(
                update(s.folders)
                .where(_F.id == folder_id)
                .values(path=new_path, parent_id=parent_id, change_num=change)
            )
            for sub in subtree:
                await conn.execute(
                    update(s.folders)
                    .where(_F.id == sub.id)
                    .values(path=new_path + sub.path[len(row.path) :], change_num=change)
                )
            folder = _folder(await self._folder_row(conn, folder_id))
        self._publish(change, [folder_id, *(sub.id for sub in subtree)])
        return folder

    async def _ensure_parents(self, conn: AsyncConnection, path: str) -> int:
        levels = path.split("/")
        parent_id: int | None = None
        for i in range(len(levels)):
            sub = "/".join(levels[: i + 1])
            found = await conn.scalar(select(_F.id).where(self._folder_scope(), _F.path == sub))
            if found is None:
                change = await self._take_changes(conn, 1)
                result = await conn.execute(
                    insert(s.folders).values(
                        org_id=self.org_id,
                        mailbox_id=self.id,
                        parent_id=parent_id,
                        path=sub,
                        folder_class="IPF.Note",
                        role=None,
                        uidvalidity=change,
                        uidnext=1,
                        subscribed=True,
                        created_change=change,
                        change_num=change,
                        content_change=change,
                    )
                )
                found = _new_id(result)
            parent_id = found
        assert parent_id is not None
        return parent_id

    async def delete_folder(self, folder_id: int, *, recursive: bool = False) -> None:
        """Delete a folder with its items (tombstoned); children need ``recursive``."""
        async with self._db.write() as conn:
            row = await self._folder_row(conn, folder_id)
            if row.role == "inbox":
                raise SpecialFolder("INBOX cannot be deleted")
            prefix = row.path + "/"
            children = (
                await conn.execute(
                    select(_F.id, _F.path).where(self._folder_scope(), func.substr(_F.path, 1, len(prefix)) == prefix)
                )
            ).all()
            if children and not recursive:
                raise FolderNotEmpty(f"folder {row.path!r} has subfolders")
            # Deepest first, so that parent_id references never dangle.
            doomed = sorted([(c.path, c.id) for c in children], reverse=True) + [(row.path, folder_id)]
            change = await self._take_changes(conn, 1)
            for path, fid in doomed:
                await self._remove_items(conn, fid, None, change)
                await conn.execute(
                    insert(s.tombstones).values(
                        org_id=self.org_id,
                        mailbox_id=self.id,
                        change_num=change,
                        kind="folder",
                        object_id=fid,
                        folder_id=fid,
                        uid=None,
                        name=path,
                        created=int(time.time()),
                    )
                )
                await conn.execute(delete(s.folders).where(_F.id == fid, self._folder_scope()))
        self._publish(change, [fid for _, fid in doomed])

    async def set_subscribed(self, folder_id: int, subscribed: bool) -> None:
        async with self._db.write() as conn:
            await self._folder_row(conn, folder_id)
            change = await self._take_changes(conn, 1)
            await conn.execute(
                update(s.folders).where(_F.id == folder_id).values(subscribed=subscribed, change_num=change)
            )
        self._publish(change, [folder_id])


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])
