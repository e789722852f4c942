"""Aliases and groups (distribution lists) (part of ``Directory``).

An alias is an ``addresses`` row with ``is_primary`` false pointing at an
account of the same organisation. A group has its own ``addresses`` row (with
``group_id``) and members that are addresses: local accounts or aliases, other
groups (nesting) or outside addresses. ``resolve.py`` expands them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.directory.accounts import check_name
from kastell.directory.addresses import normalise_address
from kastell.directory.base import DirectoryBase, domain_argument, new_id, now, translate_integrity
from kastell.directory.errors import (
    AddressTaken,
    AlreadyExists,
    InvalidValue,
    NoSuchAccount,
    NoSuchAlias,
    NoSuchGroup,
    NoSuchMember,
)
from kastell.directory.records import Alias, Group


class ListOps(DirectoryBase):
    """Alias and group methods of ``Directory``."""

    # ------------------------------------------------------------------ aliases

    async def add_alias(self, alias: str, target: str) -> Alias:
        """Make ``alias`` deliver to the account at ``target`` (its primary address or an alias).

        The alias's domain must be local (an alias domain is fine); the target
        must be an account of the same organisation (InvalidValue otherwise).
        Raises InvalidAddress, NoSuchDomain, NoSuchAccount, AddressTaken.
        """
        alias, target = normalise_address(alias), normalise_address(target)
        async with self.db.write() as conn:
            domain = await self._domain_row(conn, alias.rpartition("@")[2])
            await self._ensure_free(conn, alias)
            found = await self.resolver.lookup(conn, target)
            if found is not None and found.group_id is not None:
                raise InvalidValue(f"{target} is a group; an alias points at an account (add a member instead)")
            if found is None or found.account is None:
                raise NoSuchAccount(f"no account {target}")
            account = found.account
            if account.org_id != domain.org_id:
                raise InvalidValue(f"{alias} and {target} belong to different organisations")
            with translate_integrity(AddressTaken(f"{alias} exists already")):
                await conn.execute(
                    insert(s.addresses).values(
                        org_id=domain.org_id,
                        domain_id=domain.id,
                        address=alias,
                        account_id=account.account_id,
                        is_primary=False,
                    )
                )
        return Alias(address=alias, target=account.address, org_id=account.org_id, account_id=account.account_id)

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        """Aliases ordered by address, optionally only those in ``domain``."""
        query = (
            select(s.addresses.c.address, s.accounts.c.address.label("target"), s.accounts.c.org_id, s.accounts.c.id)
            .select_from(s.addresses.join(s.accounts, s.accounts.c.id == s.addresses.c.account_id))
            .where(s.addresses.c.is_primary == False)  # noqa: E712 (SQL expression)
            .order_by(s.addresses.c.address)
        )
        async with self.db.read() as conn:
            if domain is not None:
                row = await self._domain_row(conn, domain_argument(domain))
                query = query.where(s.addresses.c.domain_id == row.id)
            return [Alias(*row) for row in await conn.execute(query)]

    async def del_alias(self, alias: str) -> None:
        """Remove an alias (not a primary address or a group: NoSuchAlias)."""
        alias = normalise_address(alias)
        async with self.db.write() as conn:
            row = (await conn.execute(select(s.addresses).where(s.addresses.c.address == alias))).first()
            if row is None:
                raise NoSuchAlias(f"{alias} is not an alias")
            if row.group_id is not None or row.is_primary:
                what = "a group" if row.group_id is not None else "an account's primary address"
                raise NoSuchAlias(f"{alias} is {what}, not an alias")
            await self._forget_address(conn, [alias])
            await conn.execute(s.addresses.delete().where(s.addresses.c.id == row.id))

    # ------------------------------------------------------------------ groups

    async def add_group(self, address: str, name: str = "") -> Group:
        """Create an empty group at ``address`` (a local, non-alias domain)."""
        address = normalise_address(address)
        check_name(name)
        async with self.db.write() as conn:
            domain = await self._home_domain(conn, address)
            await self._ensure_free(conn, address)
            stamp = now()
            with translate_integrity(AddressTaken(f"{address} exists already")):
                result = await conn.execute(
                    insert(s.groups).values(
                        org_id=domain.org_id, domain_id=domain.id, address=address, display_name=name, created=stamp
                    )
                )
                group_id = new_id(result)
                await conn.execute(
                    insert(s.addresses).values(
                        org_id=domain.org_id, domain_id=domain.id, address=address, group_id=group_id, is_primary=True
                    )
                )
        return Group(group_id, domain.org_id, domain.id, address, name, stamp)

    async def get_group(self, group: str) -> Group:
        """The group with its members; NoSuchGroup."""
        address = normalise_address(group)
        async with self.db.read() as conn:
            row = await self._group_row(conn, address)
            members = await self._members(conn, row.id)
        return _group(row, members)

    async def add_member(self, group: str, member: str) -> None:
        """Add ``member`` to ``group``.

        A member in a local domain must exist (a user, alias or group, also
        through an alias domain or sub-address) so that typos are caught now,
        not at delivery; any address in another domain is an outside member.
        Raises NoSuchGroup, NoSuchAccount, InvalidValue (the group itself),
        AlreadyExists (a member already).
        """
        group, member = normalise_address(group), normalise_address(member)
        async with self.db.write() as conn:
            row = await self._group_row(conn, group)
            if member == group:
                raise InvalidValue(f"group {group} cannot be a member of itself")
            local, target = await self.resolver.find(conn, member)
            if local and target is None:
                raise NoSuchAccount(f"no user, alias or group {member}")
            exists = (
                await conn.execute(
                    select(s.group_members.c.address).where(
                        s.group_members.c.group_id == row.id, s.group_members.c.address == member
                    )
                )
            ).first()
            if exists is not None:
                raise AlreadyExists(f"{member} is a member of {group} already")
            with translate_integrity(AlreadyExists(f"{member} is a member of {group} already")):
                await conn.execute(insert(s.group_members).values(group_id=row.id, address=member))

    async def del_member(self, group: str, member: str) -> None:
        """Remove ``member`` from ``group``; NoSuchGroup, NoSuchMember."""
        group, member = normalise_address(group), normalise_address(member)
        async with self.db.write() as conn:
            row = await self._group_row(conn, group)
            result = await conn.execute(
                s.group_members.delete().where(
                    s.group_members.c.group_id == row.id, s.group_members.c.address == member
                )
            )
            if not result.rowcount:
                raise NoSuchMember(f"{member} is not a member of {group}")

    async def members(self, group: str) -> list[str]:
        """The direct members of ``group``, sorted (``resolve`` gives the expansion)."""
        return list((await self.get_group(group)).members)

    async def list_groups(self, domain: str | None = None) -> list[Group]:
        """Groups ordered by address, each with its direct members (two queries)."""
        groups_query = select(s.groups).order_by(s.groups.c.address)
        members_query = (
            select(s.group_members.c.group_id, s.group_members.c.address)
            .select_from(s.group_members.join(s.groups, s.groups.c.id == s.group_members.c.group_id))
            .order_by(s.group_members.c.group_id, s.group_members.c.address)
        )
        async with self.db.read() as conn:
            if domain is not None:
                row = await self._domain_row(conn, domain_argument(domain))
                groups_query = groups_query.where(s.groups.c.domain_id == row.id)
                members_query = members_query.where(s.groups.c.domain_id == row.id)
            group_rows = list(await conn.execute(groups_query))
            members: dict[int, list[str]] = {}
            for group_id, address in await conn.execute(members_query):
                members.setdefault(group_id, []).append(address)
        return [_group(row, members.get(row.id, [])) for row in group_rows]

    async def del_group(self, group: str) -> None:
        """Delete the group, its members list and its membership in other groups."""
        address = normalise_address(group)
        async with self.db.write() as conn:
            row = await self._group_row(conn, address)
            await self._forget_address(conn, [address])
            await conn.execute(s.group_members.delete().where(s.group_members.c.group_id == row.id))
            await conn.execute(s.addresses.delete().where(s.addresses.c.group_id == row.id))
            await conn.execute(s.groups.delete().where(s.groups.c.id == row.id))

    async def _group_row(self, conn: AsyncConnection, address: str) -> Any:
        row = (await conn.execute(select(s.groups).where(s.groups.c.address == address))).first()
        if row is None:
            raise NoSuchGroup(f"no group {address}")
        return row

    async def _members(self, conn: AsyncConnection, group_id: int) -> list[str]:
        query = select(s.group_members.c.address).where(s.group_members.c.group_id == group_id)
        return list((await conn.execute(query.order_by(s.group_members.c.address))).scalars())


def _group(row: Any, members: list[str]) -> Group:
    return Group(row.id, row.org_id, row.domain_id, row.address, row.display_name, row.created, tuple(members))
