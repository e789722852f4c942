"""The directory service: organisations, domains, accounts, aliases, groups, admins.

``Directory`` is the one object the rest of Kastell uses (``app.directory``).
Every method is a coroutine and one transaction; every result is a frozen
dataclass from ``records.py``; every failure a ``DirectoryError`` whose message
is one line for an operator. Queries are SQLAlchemy Core on ``kastell.db.schema``
and run unchanged on SQLite and PostgreSQL.

Tenancy: an organisation owns domains; accounts, groups and addresses carry
the organisation of their domain. An alias or catch-all may only point inside
its organisation; group members are addresses and may be anywhere (that is
ordinary mail delivery, which reveals nothing of the other organisation).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.directory.accounts import AccountOps
from kastell.directory.addresses import normalise_address, normalise_domain
from kastell.directory.admins import AdminOps
from kastell.directory.base import domain_argument, new_id, now, translate_integrity
from kastell.directory.errors import (
    DomainExists,
    DomainInUse,
    InvalidValue,
    NoSuchAccount,
    NoSuchDomain,
    NoSuchOrganisation,
    OrganisationExists,
)
from kastell.directory.lists import ListOps
from kastell.directory.records import Domain, Organisation
from kastell.directory.resolve import Resolution

_alias_target = s.domains.alias("alias_target")
_DOMAIN_QUERY = select(
    s.domains.c.id,
    s.domains.c.org_id,
    s.organisations.c.name.label("org"),
    s.domains.c.name,
    _alias_target.c.name.label("alias_of"),
    s.domains.c.catchall,
    s.domains.c.created,
).select_from(
    s.domains.join(s.organisations, s.organisations.c.id == s.domains.c.org_id).outerjoin(
        _alias_target, _alias_target.c.id == s.domains.c.alias_of
    )
)


def check_org_name(name: str) -> str:
    if not name or len(name) > 255 or any(not ch.isprintable() for ch in name) or name != name.strip():
        raise InvalidValue(f"invalid organisation name {name[:80]!r}: 1-255 printable characters")
    return name


class Directory(AccountOps, ListOps, AdminOps):
    """The directory of one Kastell installation.

    ``Directory(db, *, on_account_created=None, default_quota=0,
    subaddress_separator="+", passwords=None)``: ``on_account_created(conn,
    org_id, account_id, kind)`` runs inside the transaction that inserts an
    account (the mailbox store provisions the mailbox there);
    ``default_quota`` in bytes (0 = unlimited); ``subaddress_separator`` is
    one character or "" to turn sub-addressing off; ``passwords`` sets the
    argon2 parameters (tests make them cheap).
    """

    # ------------------------------------------------------------------ resolution

    async def resolve(self, address: str) -> Resolution:
        """Where mail for ``address`` goes; see ``resolve.py``. Never raises for bad input."""
        async with self.db.read() as conn:
            return await self.resolver.resolve(conn, address)

    # ------------------------------------------------------------------ organisations

    async def create_org(self, name: str) -> Organisation:
        """A new organisation; OrganisationExists if the name is taken."""
        name = check_org_name(name)
        async with self.db.write() as conn:
            if await self._org_id(conn, name) is not None:
                raise OrganisationExists(f"organisation {name} exists already")
            return await self._insert_org(conn, name)

    async def get_org(self, name: str) -> Organisation:
        async with self.db.read() as conn:
            row = (await conn.execute(select(s.organisations).where(s.organisations.c.name == name))).first()
        if row is None:
            raise NoSuchOrganisation(f"no organisation {name}")
        return Organisation(row.id, row.name, row.created)

    async def list_orgs(self) -> list[Organisation]:
        async with self.db.read() as conn:
            rows = await conn.execute(select(s.organisations).order_by(s.organisations.c.name))
            return [Organisation(row.id, row.name, row.created) for row in rows]

    # ------------------------------------------------------------------ domains

    async def add_domain(self, name: str, org: str | None = None, alias_of: str | None = None) -> Domain:
        """Make ``name`` a local domain.

        The organisation ``org`` (default: the domain name) is created when it
        does not exist. An alias domain (``alias_of``) belongs to its target's
        organisation; the target must be a local, non-alias domain. Raises
        InvalidAddress, DomainExists, NoSuchDomain, InvalidValue.
        """
        name = normalise_domain(name)
        if org is not None:
            org = check_org_name(org)
        target_name = None if alias_of is None else normalise_domain(alias_of)
        async with self.db.write() as conn:
            if await self._find_domain(conn, name) is not None:
                raise DomainExists(f"domain {name} exists already")
            target_id = None
            if target_name is not None:
                target = await self._get_domain(conn, target_name)
                if target.alias_of is not None:
                    raise InvalidValue(f"{target_name} is an alias domain itself (of {target.alias_of})")
                if target_name == name:
                    raise InvalidValue(f"domain {name} cannot be an alias of itself")
                if org is not None and org != target.org:
                    raise InvalidValue(f"an alias domain belongs to its target's organisation ({target.org})")
                org_id, target_id = target.org_id, target.id
            else:
                org = org or name
                org_id = await self._org_id(conn, org) or (await self._insert_org(conn, org)).id
            with translate_integrity(DomainExists(f"domain {name} exists already")):
                await conn.execute(
                    insert(s.domains).values(org_id=org_id, name=name, alias_of=target_id, created=now())
                )
            return await self._get_domain(conn, name)

    async def get_domain(self, name: str) -> Domain:
        async with self.db.read() as conn:
            return await self._get_domain(conn, domain_argument(name))

    async def list_domains(self) -> list[Domain]:
        """Every local domain, ordered by name."""
        async with self.db.read() as conn:
            return [Domain(*row) for row in await conn.execute(_DOMAIN_QUERY.order_by(s.domains.c.name))]

    async def del_domain(self, name: str) -> None:
        """Delete a domain that nothing uses any more; DomainInUse names what still does."""
        name = domain_argument(name)
        async with self.db.write() as conn:
            domain = await self._get_domain(conn, name)
            counts = (
                ("account", "accounts", await self._count(conn, s.accounts, s.accounts.c.domain_id == domain.id)),
                ("group", "groups", await self._count(conn, s.groups, s.groups.c.domain_id == domain.id)),
                (
                    "alias",
                    "aliases",
                    await self._count(
                        conn,
                        s.addresses,
                        s.addresses.c.domain_id == domain.id,
                        s.addresses.c.is_primary == False,  # noqa: E712
                    ),
                ),
                (
                    "alias domain",
                    "alias domains",
                    await self._count(conn, s.domains, s.domains.c.alias_of == domain.id),
                ),
            )
            used = [f"{n} {one if n == 1 else many}" for one, many, n in counts if n]
            if used:
                raise DomainInUse(f"domain {name} is in use: {', '.join(used)}; delete them first")
            with translate_integrity(DomainInUse(f"domain {name} is in use")):
                await conn.execute(s.domains.delete().where(s.domains.c.id == domain.id))

    async def set_catchall(self, domain: str, address: str | None) -> Domain:
        """Send mail for unknown local parts of ``domain`` to ``address`` (None: refuse it).

        The catch-all must be an existing user, alias or group of the domain's
        organisation (NoSuchAccount, InvalidValue otherwise).
        """
        name = domain_argument(domain)
        target = None if address is None else normalise_address(address)
        async with self.db.write() as conn:
            row = await self._get_domain(conn, name)
            if target is not None:
                found = await self.resolver.lookup(conn, target)
                if found is None:
                    raise NoSuchAccount(f"no user, alias or group {target}")
                if found.org_id != row.org_id:
                    raise InvalidValue(f"{target} belongs to another organisation than {name}")
            await conn.execute(s.domains.update().where(s.domains.c.id == row.id).values(catchall=target))
            return await self._get_domain(conn, name)

    # ------------------------------------------------------------------ helpers

    async def _org_id(self, conn: AsyncConnection, name: str) -> int | None:
        found = (await conn.execute(select(s.organisations.c.id).where(s.organisations.c.name == name))).scalar()
        return None if found is None else int(found)

    async def _insert_org(self, conn: AsyncConnection, name: str) -> Organisation:
        stamp = now()
        with translate_integrity(OrganisationExists(f"organisation {name} exists already")):
            result = await conn.execute(insert(s.organisations).values(name=name, created=stamp))
        return Organisation(new_id(result), name, stamp)

    async def _find_domain(self, conn: AsyncConnection, name: str) -> Domain | None:
        row = (await conn.execute(_DOMAIN_QUERY.where(s.domains.c.name == name))).first()
        return None if row is None else Domain(*row)

    async def _get_domain(self, conn: AsyncConnection, name: str) -> Domain:
        found = await self._find_domain(conn, name)
        if found is None:
            raise NoSuchDomain(f"{name} is not a local domain")
        return found

    @staticmethod
    async def _count(conn: AsyncConnection, table: Table, *where: ColumnElement[bool]) -> int:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())
