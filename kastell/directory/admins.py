"""Administrators of the API and web UI (part of ``Directory``).

Admin names are case-insensitive (stored lower-cased). A ``system`` admin
manages everything; ``org`` and ``domain`` admins are bound to one
organisation, and a ``domain`` admin further to one or more (non-alias) domains
of it (table ``admin_domains``); it also sees the alias domains of those.
``read_only`` admins may look but not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.directory.base import DirectoryBase, domain_argument, now, translate_integrity
from kastell.directory.errors import (
    AdminExists,
    AuthFailed,
    InvalidValue,
    NoSuchAdmin,
    NoSuchDomain,
    NoSuchOrganisation,
)
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
        self,
        name: str,
        password: str,
        role: str = "system",
        org: str | None = None,
        read_only: bool = False,
        domains: Sequence[str] = (),
    ) -> Admin:
        """Create an administrator.

        ``org`` is required for an org admin and refused for a system admin. A
        domain admin needs ``domains`` (non-alias domains of one organisation);
        its ``org`` may be left out (it is the domains' one) or must match.

        Raises InvalidValue, NoSuchOrganisation, NoSuchDomain, AdminExists.
        """
        name = check_admin_name(name)
        if role not in ADMIN_ROLES:
            raise InvalidValue(f"invalid role {role!r} (one of: {', '.join(ADMIN_ROLES)})")
        if domains and role != "domain":
            raise InvalidValue("only a domain admin is bound to domains")
        if role == "domain" and not domains:
            raise InvalidValue("a domain admin needs at least one domain")
        if role == "system" and org is not None:
            raise InvalidValue("a system admin has no organisation")
        if role == "org" and org is None:
            raise InvalidValue("an org admin needs an organisation")
        names = sorted({domain_argument(d) for d in domains})
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
            domain_ids: list[int] = []
            if names:
                org_id, domain_ids = await self._admin_domain_ids(conn, names, org_id)
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
            await self._bind_domains(conn, row.id, domain_ids)
        return admin_from_row(row)

    async def _admin_domain_ids(
        self, conn: AsyncConnection, names: Iterable[str], org_id: int | None
    ) -> tuple[int, list[int]]:
        """(organisation id, domain ids) of ``names``: real domains, all of one organisation (``org_id`` if set)."""
        ids: list[int] = []
        for domain_name in names:
            row = (await conn.execute(select(s.domains).where(s.domains.c.name == domain_name))).first()
            if row is None:
                raise NoSuchDomain(f"{domain_name} is not a local domain")
            if row.alias_of is not None:
                raise InvalidValue(f"{domain_name} is an alias domain; bind the admin to its target domain")
            if org_id is None:
                org_id = row.org_id
            elif row.org_id != org_id:
                raise InvalidValue(f"the domain {domain_name} belongs to another organisation than the admin")
            ids.append(row.id)
        assert org_id is not None  # names is never empty here
        return org_id, ids

    @staticmethod
    async def _bind_domains(conn: AsyncConnection, admin_id: int, domain_ids: Sequence[int]) -> None:
        await conn.execute(delete(s.admin_domains).where(s.admin_domains.c.admin_id == admin_id))
        if domain_ids:
            await conn.execute(insert(s.admin_domains), [{"admin_id": admin_id, "domain_id": d} for d in domain_ids])

    async def set_admin_domains(self, name: str, domains: Sequence[str]) -> list[str]:
        """Replace the domains of the domain admin ``name``; returns their names, sorted.

        Raises NoSuchAdmin, InvalidValue (not a domain admin, no domains, another
        organisation, an alias domain), NoSuchDomain.
        """
        key = check_admin_name(name)
        if not domains:
            raise InvalidValue("a domain admin needs at least one domain")
        names = sorted({domain_argument(d) for d in domains})
        async with self.db.write() as conn:
            row = (await conn.execute(select(s.admins).where(s.admins.c.name == key))).first()
            if row is None:
                raise NoSuchAdmin(f"no admin {key}")
            if row.role != "domain":
                raise InvalidValue(f"{key} is a {row.role} admin, not a domain admin")
            _org_id, ids = await self._admin_domain_ids(conn, names, row.org_id)
            await self._bind_domains(conn, row.id, ids)
        return names

    async def admin_domains(self, admin_ids: Iterable[int] | None = None) -> dict[int, list[str]]:
        """Admin id → the names of the domains it holds (sorted); only domain admins appear.

        ``admin_ids`` None: every admin's.
        """
        query = (
            select(s.admin_domains.c.admin_id, s.domains.c.name)
            .select_from(s.admin_domains.join(s.domains, s.domains.c.id == s.admin_domains.c.domain_id))
            .order_by(s.admin_domains.c.admin_id, s.domains.c.name)
        )
        if admin_ids is not None:
            query = query.where(s.admin_domains.c.admin_id.in_(sorted(set(admin_ids))))
        found: dict[int, list[str]] = {}
        async with self.db.read() as conn:
            for admin_id, domain_name in await conn.execute(query):
                found.setdefault(admin_id, []).append(domain_name)
        return found

    async def admin_scope_domains(self, admin_id: int) -> frozenset[int]:
        """The ids of every domain a domain admin may manage: the ones it holds and their alias domains."""
        held = select(s.admin_domains.c.domain_id).where(s.admin_domains.c.admin_id == admin_id)
        query = select(s.domains.c.id).where(s.domains.c.id.in_(held) | s.domains.c.alias_of.in_(held))
        async with self.db.read() as conn:
            return frozenset(int(r[0]) for r in await conn.execute(query))

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
