"""What every part of the directory service shares: the database, settings, helpers.

``Directory`` (service.py) is assembled from ``AccountOps`` (accounts.py),
``ListOps`` (lists.py: aliases and groups) and ``AdminOps`` (admins.py), each
built on ``DirectoryBase``; the split keeps files short, the public object is one.

Conventions of every write method: arguments are validated and passwords hashed
*before* the write transaction opens (the SQLite writer is one connection; an
argon2 hash inside it would stall every other writer), then one
``async with db.write()`` holds all statements of the operation. Unique
conflicts are checked with a query first, for a precise message; the
``IntegrityError`` of a race that slips past the check is translated too.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import CursorResult, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.directory.addresses import normalise_domain, split
from kastell.directory.errors import AddressTaken, DirectoryError, InvalidAddress, InvalidValue, NoSuchDomain
from kastell.directory.passwords import Passwords
from kastell.directory.resolve import Resolver

AccountCreatedHook = Callable[[AsyncConnection, int, int, str], Awaitable[None]]

KIND_WORDS = {"user": "user", "shared": "shared mailbox", "room": "room", "equipment": "equipment"}


def now() -> int:
    return int(time.time())


def new_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an INSERT just made."""
    key = result.inserted_primary_key
    assert key is not None  # a single-row INSERT always has one
    return int(key[0])


def domain_argument(text: str) -> str:
    """A domain named in a lookup: an invalid name cannot be local, so NoSuchDomain."""
    try:
        return normalise_domain(text)
    except InvalidAddress:
        raise NoSuchDomain(f"{text[:80]!r} is not a local domain") from None


@contextmanager
def translate_integrity(error: DirectoryError) -> Iterator[None]:
    """Turn a driver's IntegrityError into ``error`` (a race the pre-checks missed)."""
    try:
        yield
    except IntegrityError:
        raise error from None


class DirectoryBase:
    """Shared state and lookups; see the module docstring for the conventions."""

    def __init__(
        self,
        db: Database,
        *,
        on_account_created: AccountCreatedHook | None = None,
        default_quota: int = 0,
        subaddress_separator: str = "+",
        passwords: Passwords | None = None,
    ) -> None:
        if default_quota < 0:
            raise InvalidValue("the default quota must not be negative")
        self.db = db
        self.on_account_created = on_account_created
        self.default_quota = default_quota
        self.passwords = passwords if passwords is not None else Passwords()
        self.resolver = Resolver(subaddress_separator)

    async def _domain_row(self, conn: AsyncConnection, name: str) -> Any:
        """The ``domains`` row of ``name`` or NoSuchDomain."""
        row = (await conn.execute(select(s.domains).where(s.domains.c.name == name))).first()
        if row is None:
            raise NoSuchDomain(f"{name} is not a local domain")
        return row

    async def _home_domain(self, conn: AsyncConnection, address: str) -> Any:
        """The domain row an account or group at ``address`` can live in (not an alias domain)."""
        row = await self._domain_row(conn, split(address)[1])
        if row.alias_of is not None:
            target = (await conn.execute(select(s.domains.c.name).where(s.domains.c.id == row.alias_of))).scalar()
            raise InvalidValue(f"{row.name} is an alias domain of {target}; use an address @{target}")
        return row

    async def _ensure_free(self, conn: AsyncConnection, address: str) -> None:
        """AddressTaken, saying what the address is now, unless it is unused."""
        row = (
            await conn.execute(
                select(s.addresses.c.is_primary, s.addresses.c.group_id, s.accounts.c.kind, s.accounts.c.address)
                .select_from(s.addresses.outerjoin(s.accounts, s.accounts.c.id == s.addresses.c.account_id))
                .where(s.addresses.c.address == address)
            )
        ).first()
        if row is None:
            return
        if row.group_id is not None:
            raise AddressTaken(f"group {address} exists already")
        if row.is_primary:
            raise AddressTaken(f"{KIND_WORDS.get(row.kind, row.kind)} {address} exists already")
        raise AddressTaken(f"{address} is an alias of {row.address} already")

    async def _forget_address(self, conn: AsyncConnection, addresses: list[str]) -> None:
        """Drop group memberships and catch-alls that point at addresses going away.

        Left in place they would be stale: a member that no longer resolves is
        dropped at delivery anyway, but lists and catch-alls should say the truth.
        """
        if not addresses:
            return
        await conn.execute(s.group_members.delete().where(s.group_members.c.address.in_(addresses)))
        await conn.execute(s.domains.update().where(s.domains.c.catchall.in_(addresses)).values(catchall=None))
