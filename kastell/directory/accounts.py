"""Accounts: users, shared mailboxes, rooms and equipment (part of ``Directory``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.directory.addresses import normalise_address
from kastell.directory.base import DirectoryBase, domain_argument, new_id, now, translate_integrity
from kastell.directory.errors import AddressTaken, InvalidAddress, InvalidValue, NoSuchAccount
from kastell.directory.passwords import check_password
from kastell.directory.permissions import DEFAULT_PERMISSIONS, Permission
from kastell.directory.records import KINDS, STATUSES, Account, account_from_row

_LANGUAGE = re.compile(r"[A-Za-z0-9-]{1,35}")  # a BCP 47 tag, loosely
_TIMEZONE = re.compile(r"[A-Za-z0-9_+/-]{1,64}")  # an IANA zone name, loosely


def check_name(name: str) -> str:
    """A display name: at most 255 characters, no control characters (it lands in headers)."""
    if len(name) > 255 or any(not ch.isprintable() for ch in name):
        raise InvalidValue("the name must be at most 255 printable characters")
    return name


def check_language(language: str) -> str:
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise InvalidValue(f"invalid language {str(language)[:40]!r} (a language tag like en, de or pt-BR)")
    return language


def check_timezone(timezone: str) -> str:
    """An IANA time zone name the system knows (``Europe/Berlin``, ``UTC``)."""
    if not isinstance(timezone, str) or not _TIMEZONE.fullmatch(timezone) or ".." in timezone:
        raise InvalidValue(f"invalid time zone {str(timezone)[:70]!r}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidValue(f"unknown time zone {timezone!r} (an IANA name like Europe/Berlin)") from None
    return timezone


def check_quota(quota: int) -> int:
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
        raise InvalidValue(f"invalid quota {quota!r}: a number of bytes, 0 for unlimited")
    return quota


def check_permissions(permissions: Permission | int) -> Permission:
    if isinstance(permissions, bool) or not isinstance(permissions, int) or int(permissions) & ~int(Permission.ALL):
        raise InvalidValue(f"invalid permissions {permissions!r}")
    return Permission(permissions)


class AccountOps(DirectoryBase):
    """Account methods of ``Directory``."""

    async def add_user(
        self,
        address: str,
        password: str | None,
        *,
        name: str = "",
        quota: int | None = None,
        kind: str = "user",
        language: str = "en",
        timezone: str = "UTC",
        permissions: Permission | int | None = None,
    ) -> Account:
        """Create an account of ``kind`` at ``address`` with its mailbox (``on_account_created``).

        ``password`` None means no password login (the usual case for shared
        mailboxes and resources). Defaults: quota ``default_quota``, permissions
        every protocol for users and none for the other kinds. Raises
        InvalidAddress, InvalidValue (also for an address in an alias domain:
        accounts live in the target domain), NoSuchDomain, AddressTaken.
        """
        address = normalise_address(address)
        if kind not in KINDS:
            raise InvalidValue(f"invalid kind {kind!r} (one of: {', '.join(KINDS)})")
        check_language(language)
        check_timezone(timezone)
        perms = DEFAULT_PERMISSIONS[kind] if permissions is None else check_permissions(permissions)
        values: dict[str, Any] = {
            "kind": kind,
            "address": address,
            "display_name": check_name(name),
            "quota_bytes": self.default_quota if quota is None else check_quota(quota),
            "language": language,
            "timezone": timezone,
            "permissions": int(perms),
            "status": "active",
        }
        if password is not None:
            check_password(password)
        values["password_hash"] = None if password is None else await self.passwords.hash(password)
        async with self.db.write() as conn:
            domain = await self._home_domain(conn, address)
            await self._ensure_free(conn, address)
            stamp = now()
            with translate_integrity(AddressTaken(f"{address} exists already")):
                result = await conn.execute(
                    insert(s.accounts).values(
                        org_id=domain.org_id, domain_id=domain.id, created=stamp, updated=stamp, **values
                    )
                )
                account_id = new_id(result)
                await conn.execute(
                    insert(s.addresses).values(
                        org_id=domain.org_id,
                        domain_id=domain.id,
                        address=address,
                        account_id=account_id,
                        is_primary=True,
                    )
                )
            if self.on_account_created is not None:
                # Inside the transaction: the mailbox commits with the account or neither does.
                await self.on_account_created(conn, domain.org_id, account_id, kind)
            return await self._account(conn, address)

    async def get_account(self, address: str) -> Account:
        """The account whose primary address is ``address``; NoSuchAccount, InvalidAddress."""
        address = normalise_address(address)
        async with self.db.read() as conn:
            return await self._account(conn, address)

    async def get_account_by_id(self, org_id: int, account_id: int) -> Account:
        """The account ``account_id`` of organisation ``org_id`` (another org's id → NoSuchAccount)."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    select(s.accounts).where(s.accounts.c.id == account_id, s.accounts.c.org_id == org_id)
                )
            ).first()
        if row is None:
            raise NoSuchAccount(f"no account {account_id} in organisation {org_id}")
        return account_from_row(row)

    async def list_accounts(
        self,
        domain: str | None = None,
        kind: str | None = None,
        *,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[Account]:
        """Accounts ordered by address, optionally of one domain and/or kind.

        Keyset paging: ``after`` (an address) and ``limit`` fetch the next page
        without OFFSET; ``iter_accounts`` walks every page. NoSuchDomain for an
        unknown ``domain``.
        """
        query = select(s.accounts).order_by(s.accounts.c.address)
        if kind is not None:
            if kind not in KINDS:
                raise InvalidValue(f"invalid kind {kind!r} (one of: {', '.join(KINDS)})")
            query = query.where(s.accounts.c.kind == kind)
        if after is not None:
            query = query.where(s.accounts.c.address > after)
        if limit is not None:
            query = query.limit(limit)
        async with self.db.read() as conn:
            if domain is not None:
                domain_row = await self._domain_row(conn, domain_argument(domain))
                query = query.where(s.accounts.c.domain_id == domain_row.id)
            return [account_from_row(row) for row in await conn.execute(query)]

    async def iter_accounts(
        self, domain: str | None = None, kind: str | None = None, *, batch: int = 500
    ) -> AsyncIterator[Account]:
        """Every matching account, ordered by address, one short read transaction per batch.

        No transaction stays open while the caller works on an account, so a
        slow consumer never pins a connection or an old snapshot.
        """
        after: str | None = None
        while True:
            page = await self.list_accounts(domain, kind, after=after, limit=batch)
            for account in page:
                yield account
            if len(page) < batch:
                return
            after = page[-1].address

    async def set_password(self, address: str, password: str | None) -> Account:
        """Replace the password (None: no password login any more)."""
        if password is not None:
            check_password(password)
        password_hash = None if password is None else await self.passwords.hash(password)
        return await self._update(address, password_hash=password_hash)

    async def set_status(self, address: str, status: str) -> Account:
        """``active``, ``suspended`` (no login, mail still delivered) or ``disabled``."""
        if status not in STATUSES:
            raise InvalidValue(f"invalid status {status!r} (one of: {', '.join(STATUSES)})")
        return await self._update(address, status=status)

    async def set_quota(self, address: str, quota: int) -> Account:
        """Quota in bytes; 0 means unlimited."""
        return await self._update(address, quota_bytes=check_quota(quota))

    async def set_name(self, address: str, name: str) -> Account:
        return await self._update(address, display_name=check_name(name))

    async def set_language(self, address: str, language: str) -> Account:
        return await self._update(address, language=check_language(language))

    async def set_timezone(self, address: str, timezone: str) -> Account:
        return await self._update(address, timezone=check_timezone(timezone))

    async def set_permissions(self, address: str, permissions: Permission | int) -> Account:
        """The protocols the account may log in with (see ``Permission.parse``)."""
        return await self._update(address, permissions=int(check_permissions(permissions)))

    async def del_account(self, address: str) -> None:
        """Delete the account, its aliases and (by ON DELETE CASCADE) its mailbox and items.

        Its addresses also leave every group and catch-all that named them.
        """
        address = normalise_address(address)
        async with self.db.write() as conn:
            account = await self._account(conn, address)
            names = list(
                (
                    await conn.execute(select(s.addresses.c.address).where(s.addresses.c.account_id == account.id))
                ).scalars()
            )
            await self._forget_address(conn, names)
            await conn.execute(s.addresses.delete().where(s.addresses.c.account_id == account.id))
            await conn.execute(s.accounts.delete().where(s.accounts.c.id == account.id))

    # ------------------------------------------------------------------ for the authenticator

    async def login_record(self, address: str) -> tuple[Account, str | None] | None:
        """The account and its password hash, for ``Authenticator`` only; None if unknown."""
        try:
            address = normalise_address(address)
        except InvalidAddress:
            return None
        async with self.db.read() as conn:
            row = (await conn.execute(select(s.accounts).where(s.accounts.c.address == address))).first()
        return None if row is None else (account_from_row(row), row.password_hash)

    async def replace_hash(self, account_id: int, old_hash: str, new_hash: str) -> bool:
        """Store a rehashed password unless the password changed meanwhile (compare and set)."""
        async with self.db.write() as conn:
            result = await conn.execute(
                s.accounts.update()
                .where(s.accounts.c.id == account_id, s.accounts.c.password_hash == old_hash)
                .values(password_hash=new_hash)
            )
            return bool(result.rowcount)

    # ------------------------------------------------------------------ helpers

    async def _account(self, conn: AsyncConnection, address: str) -> Account:
        row = (await conn.execute(select(s.accounts).where(s.accounts.c.address == address))).first()
        if row is None:
            raise NoSuchAccount(f"no account {address}")
        return account_from_row(row)

    async def _update(self, address: str, **values: Any) -> Account:
        address = normalise_address(address)
        async with self.db.write() as conn:
            result = await conn.execute(
                s.accounts.update().where(s.accounts.c.address == address).values(updated=now(), **values)
            )
            if not result.rowcount:
                raise NoSuchAccount(f"no account {address}")
            return await self._account(conn, address)
