"""Storage statistics from the store's own counters, for the admin API and console.

``mailboxes.quota_used`` and ``item_count`` are kept exact by the store in the
same transactions as the items, so these sums are cheap aggregate queries
(no walk over items) and always agree with what IMAP QUOTA reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, select

from kastell.db import schema as s
from kastell.db.engine import Database


@dataclass(frozen=True, slots=True)
class DomainStorage:
    domain: str
    org_id: int
    accounts: int
    bytes_used: int
    items: int


@dataclass(frozen=True, slots=True)
class AccountStorage:
    address: str
    org_id: int
    domain: str
    quota: int  # bytes, 0 = unlimited
    bytes_used: int
    items: int


def _scope(org_ids: frozenset[int] | None) -> list[ColumnElement[bool]]:
    return [] if org_ids is None else [s.accounts.c.org_id.in_(sorted(org_ids))]


async def storage_by_domain(db: Database, org_ids: frozenset[int] | None = None) -> list[DomainStorage]:
    """Per local (non-alias) domain: accounts, bytes and items; ``org_ids`` None means every organisation."""
    used = func.coalesce(func.sum(s.mailboxes.c.quota_used), 0)
    items = func.coalesce(func.sum(s.mailboxes.c.item_count), 0)
    query = (
        select(s.domains.c.name, s.domains.c.org_id, func.count(s.accounts.c.id), used, items)
        .select_from(
            s.domains.outerjoin(s.accounts, s.accounts.c.domain_id == s.domains.c.id).outerjoin(
                s.mailboxes, s.mailboxes.c.account_id == s.accounts.c.id
            )
        )
        .where(s.domains.c.alias_of.is_(None))
        .group_by(s.domains.c.id, s.domains.c.name, s.domains.c.org_id)
        .order_by(s.domains.c.name)
    )
    if org_ids is not None:
        query = query.where(s.domains.c.org_id.in_(sorted(org_ids)))
    async with db.read() as conn:
        return [DomainStorage(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in await conn.execute(query)]


async def storage_by_account(
    db: Database,
    org_ids: frozenset[int] | None = None,
    *,
    domain: str | None = None,
    address: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AccountStorage]:
    """Accounts by bytes used, largest first (the ones an operator asks about)."""
    query = (
        select(
            s.accounts.c.address,
            s.accounts.c.org_id,
            s.domains.c.name,
            s.accounts.c.quota_bytes,
            func.coalesce(s.mailboxes.c.quota_used, 0),
            func.coalesce(s.mailboxes.c.item_count, 0),
        )
        .select_from(
            s.accounts.join(s.domains, s.domains.c.id == s.accounts.c.domain_id).outerjoin(
                s.mailboxes, s.mailboxes.c.account_id == s.accounts.c.id
            )
        )
        .where(*_scope(org_ids))
        .order_by(func.coalesce(s.mailboxes.c.quota_used, 0).desc(), s.accounts.c.address)
        .limit(limit)
        .offset(offset)
    )
    if domain is not None:
        query = query.where(s.domains.c.name == domain)
    if address is not None:
        query = query.where(s.accounts.c.address == address)
    async with db.read() as conn:
        return [AccountStorage(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5])) for r in await conn.execute(query)]


async def totals(db: Database, org_ids: frozenset[int] | None = None) -> dict[str, int]:
    """Counts for the dashboard and ``/metrics``: organisations, domains, accounts, groups, bytes, items."""

    def count(table: Table, *where: ColumnElement[bool]) -> Select[Any]:
        return select(func.count()).select_from(table).where(*where)

    org_col = s.organisations.c.id
    scoped = org_ids is not None
    ids = sorted(org_ids or ())
    queries: dict[str, Select[Any]] = {
        "organisations": count(s.organisations, *([org_col.in_(ids)] if scoped else [])),
        "domains": count(s.domains, *([s.domains.c.org_id.in_(ids)] if scoped else [])),
        "accounts": count(s.accounts, *([s.accounts.c.org_id.in_(ids)] if scoped else [])),
        "groups": count(s.groups, *([s.groups.c.org_id.in_(ids)] if scoped else [])),
        "bytes_used": select(func.coalesce(func.sum(s.mailboxes.c.quota_used), 0)).where(
            *([s.mailboxes.c.org_id.in_(ids)] if scoped else [])
        ),
        "items": select(func.coalesce(func.sum(s.mailboxes.c.item_count), 0)).where(
            *([s.mailboxes.c.org_id.in_(ids)] if scoped else [])
        ),
    }
    result: dict[str, int] = {}
    async with db.read() as conn:
        for key, query in queries.items():
            result[key] = int((await conn.execute(query)).scalar_one())
    return result
