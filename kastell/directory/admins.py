"""Administrators of the API and web UI (part of ``Directory``).

Admin names are case-insensitive (stored lower-cased). A ``system`` admin
manages everything; ``org`` and ``domain`` admins are bound to one
organisation. ``read_only`` admins may look but not change.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from kastell.db import schema as s
from kastell.directory.base import DirectoryBase, now, translate_integrity
from kastell.directory.errors import AdminExists, AuthFailed, InvalidValue, NoSuchAdmin, NoSuchOrganisation
from kastell.directory.passwords import check_password
from kastell.directory.records import ADMIN_ROLES, Admin, admin_from_row


def check_admin_name(name: str) -> str:
    """1-255 printable characters without spaces; returned lower-cased."""
    if not name or len(name) > 255 or any(not ch.isprintable() or ch.isspace() for ch in name):
        raise InvalidValue(f"invalid admin name {name[:80]!r}: 1-255 characters, no spaces")
    return name.lower()


class AdminOps(DirectoryBase):
    """Administrator methods of ``Directory``."""

    async def add_admin(
        self, name: str, password: str, role: str = "system", org: str | None = None, read_only: bool = False
    ) -> Admin:
        """Create an administrator. ``org`` is required for the org/domain roles, refused for system.

        Raises InvalidValue, NoSuchOrganisation, AdminExists.
        """
        name = check_admin_name(name)
        if role not in ADMIN_ROLES:
            raise InvalidValue(f"invalid role {role!r} (one of: {', '.join(ADMIN_ROLES)})")
        if (role == "system") != (org is None):
            raise InvalidValue("a system admin has no organisation; org and domain admins need one")
        check_password(password)
        password_hash = await self.passwords.hash(password)
        async with self.db.write() as conn:
            org_id = None
            if org is not None:
                org_id = (
                    await conn.execute(select(s.organisations.c.id).where(s.organisations.c.name == org))
                ).scalar()
                if org_id is None:
                    raise NoSuchOrganisation(f"no organisation {org}")
            taken = (await conn.execute(select(s.admins.c.id).where(s.admins.c.name == name))).first()
            if taken is not None:
                raise AdminExists(f"admin {name} exists already")
            with translate_integrity(AdminExists(f"admin {name} exists already")):
                await conn.execute(
                    insert(s.admins).values(
                        name=name,
                        password_hash=password_hash,
                        role=role,
                        read_only=read_only,
                        org_id=org_id,
                        created=now(),
                    )
                )
            row = (await conn.execute(select(s.admins).where(s.admins.c.name == name))).one()
        return admin_from_row(row)

    async def verify_admin(self, name: str, password: str) -> Admin:
        """The admin if ``password`` is right, else AuthFailed (the same for an unknown name).

        No throttling here: ``Authenticator.authenticate_admin`` adds it.
        """
        try:
            key = check_admin_name(name)
        except InvalidValue:
            key = None
        row = None
        if key is not None:
            async with self.db.read() as conn:
                row = (await conn.execute(select(s.admins).where(s.admins.c.name == key))).first()
        if row is None:
            await self.passwords.verify_dummy(password)  # same time as a wrong password
            raise AuthFailed("unknown-user")
        if not await self.passwords.verify(row.password_hash, password):
            raise AuthFailed("bad-password")
        if self.passwords.needs_rehash(row.password_hash):
            new_hash = await self.passwords.hash(password)
            async with self.db.write() as conn:
                await conn.execute(
                    s.admins.update()
                    .where(s.admins.c.id == row.id, s.admins.c.password_hash == row.password_hash)
                    .values(password_hash=new_hash)
                )
        return admin_from_row(row)

    async def list_admins(self) -> list[Admin]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(s.admins).order_by(s.admins.c.name))
            return [admin_from_row(row) for row in rows]

    async def del_admin(self, name: str) -> None:
        name = check_admin_name(name)
        async with self.db.write() as conn:
            result = await conn.execute(s.admins.delete().where(s.admins.c.name == name))
            if not result.rowcount:
                raise NoSuchAdmin(f"no admin {name}")
