"""Address resolution: which mailboxes and outside addresses an address stands for.

Theory of operation. ``Resolver.resolve`` answers, for one envelope recipient,
the question the SMTP/LMTP layer asks at RCPT time. The steps, in order, each
one indexed query (``domains.name`` and ``addresses.address`` are unique):

1. the domain: not local → ``local_domain=False`` (the caller refuses to relay);
2. the exact address: a primary address, an alias or a group;
3. an alias domain: ``user@alias.test`` → ``user@target.test``, exact again;
4. sub-addressing: ``user+tag@dom`` → ``user@dom`` (also through the alias
   domain), the tag is kept in ``detail``;
5. the catch-all of the domain (its own, else its alias target's);
6. nothing: ``found`` is false but ``local_domain`` is true (550 5.1.1).

A group expands recursively to its final recipients: local accounts
(deduplicated by account) and outside addresses (deduplicated). Each group is
expanded at most once, so membership loops end; a member in a local domain
that no longer resolves is dropped rather than sent out as "outside".

The account ``status`` is reported, not acted on: whether a suspended account
still receives mail is the delivery layer's policy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.directory.addresses import normalise_address, split
from kastell.directory.errors import InvalidAddress

# A pathological nesting of lists stops here instead of costing unbounded queries.
MAX_GROUPS = 1000
# Bound the size of one ``IN (…)`` list (SQLite's variable limit is 32766, PostgreSQL's 65535).
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class LocalRecipient:
    """A local account reached by a resolution; ``address`` is its primary address."""

    org_id: int
    account_id: int
    address: str
    status: str
    kind: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer for one address.

    ``address`` is the normalised input (the input itself when ``valid`` is
    false). ``via`` names the step that matched: ``address``, ``alias-domain``,
    ``subaddress`` or ``catchall``; ``None`` when nothing did. ``group`` is set
    when the matched address is a group. ``detail`` is the sub-address tag.
    ``org_id`` is the organisation of the local domain. Only the tag keeps the
    case it was written in; everything else is lower-cased.
    """

    address: str
    valid: bool
    local_domain: bool
    org_id: int | None = None
    accounts: tuple[LocalRecipient, ...] = ()
    outside: tuple[str, ...] = ()
    detail: str | None = None
    via: str | None = None
    group: bool = False

    @property
    def found(self) -> bool:
        """The address exists here (an empty group exists but has no recipients)."""
        return self.via is not None


@dataclass(frozen=True, slots=True)
class _Domain:
    id: int
    org_id: int
    name: str
    catchall: str | None
    target: str | None  # the alias target's name
    target_catchall: str | None


@dataclass(frozen=True, slots=True)
class Target:
    """What one ``addresses`` row points at: an account or a group."""

    org_id: int
    account: LocalRecipient | None
    group_id: int | None


_target_domain = s.domains.alias("target_domain")
_DOMAIN_QUERY = select(
    s.domains.c.id,
    s.domains.c.org_id,
    s.domains.c.name,
    s.domains.c.catchall,
    _target_domain.c.name.label("target"),
    _target_domain.c.catchall.label("target_catchall"),
).select_from(s.domains.outerjoin(_target_domain, _target_domain.c.id == s.domains.c.alias_of))

_TARGET_COLUMNS = (
    s.addresses.c.org_id,
    s.addresses.c.account_id,
    s.addresses.c.group_id,
    s.accounts.c.org_id.label("account_org_id"),
    s.accounts.c.address.label("primary"),
    s.accounts.c.status,
    s.accounts.c.kind,
)
_TARGET_QUERY = select(*_TARGET_COLUMNS).select_from(
    s.addresses.outerjoin(s.accounts, s.accounts.c.id == s.addresses.c.account_id)
)
_MEMBERS_QUERY = select(s.group_members.c.address, *_TARGET_COLUMNS).select_from(
    s.group_members.outerjoin(s.addresses, s.addresses.c.address == s.group_members.c.address).outerjoin(
        s.accounts, s.accounts.c.id == s.addresses.c.account_id
    )
)


def _target(row: Any) -> Target:
    m = row._mapping
    account = None
    if m["account_id"] is not None:
        account = LocalRecipient(m["account_org_id"], m["account_id"], m["primary"], m["status"], m["kind"])
    return Target(org_id=m["org_id"], account=account, group_id=m["group_id"])


def _original_case(text: str, detail: str) -> str:
    """The tag as the sender wrote it (``Alice+Lists@`` → ``Lists``): it may name a folder."""
    written = text.rpartition("@")[0]
    tag = written[len(written) - len(detail) :]
    return tag if tag.lower() == detail else detail


class Resolver:
    """Resolution queries on a caller's connection; holds no state but its settings."""

    def __init__(self, separator: str = "+") -> None:
        if len(separator) > 1:
            raise ValueError("the sub-address separator is one character (or empty for none)")
        self.separator = separator

    async def resolve(self, conn: AsyncConnection, text: str) -> Resolution:
        """Resolve ``text`` (any string: an invalid address is "not found", never an error)."""
        try:
            address = normalise_address(text)
        except InvalidAddress:
            return Resolution(address=text, valid=False, local_domain=False)
        local, domain_name = split(address)
        domain = await self._domain(conn, domain_name)
        if domain is None:
            return Resolution(address=address, valid=True, local_domain=False)
        target, via, detail = await self._match(conn, local, domain)
        if detail is not None:
            detail = _original_case(text, detail)
        if target is None:
            catchall = domain.catchall or domain.target_catchall
            if catchall:
                target, via, detail = await self.lookup(conn, catchall), "catchall", None
        if target is None:
            return Resolution(address=address, valid=True, local_domain=True, org_id=domain.org_id)
        accounts, outside = await self._expand(conn, target)
        return Resolution(
            address=address,
            valid=True,
            local_domain=True,
            org_id=domain.org_id,
            accounts=accounts,
            outside=outside,
            detail=detail,
            via=via,
            group=target.group_id is not None,
        )

    async def find(self, conn: AsyncConnection, address: str) -> tuple[bool, Target | None]:
        """``(domain is local, target)`` for a normalised address, by steps 1-4 (no catch-all)."""
        local, domain_name = split(address)
        domain = await self._domain(conn, domain_name)
        if domain is None:
            return False, None
        target, _via, _detail = await self._match(conn, local, domain)
        return True, target

    async def lookup(self, conn: AsyncConnection, address: str) -> Target | None:
        """The exact ``addresses`` row for a normalised address."""
        row = (await conn.execute(_TARGET_QUERY.where(s.addresses.c.address == address))).first()
        return None if row is None else _target(row)

    async def _domain(self, conn: AsyncConnection, name: str) -> _Domain | None:
        row = (await conn.execute(_DOMAIN_QUERY.where(s.domains.c.name == name))).first()
        return None if row is None else _Domain(*row)

    async def _match(
        self, conn: AsyncConnection, local: str, domain: _Domain, *, skip_exact: bool = False
    ) -> tuple[Target | None, str | None, str | None]:
        """Steps 2-4: exact, alias domain, sub-address. Returns (target, via, detail)."""
        if not skip_exact:
            found = await self.lookup(conn, f"{local}@{domain.name}")
            if found is not None:
                return found, "address", None
        if domain.target is not None:
            found = await self.lookup(conn, f"{local}@{domain.target}")
            if found is not None:
                return found, "alias-domain", None
        if self.separator and self.separator in local:
            base, _, detail = local.partition(self.separator)
            if base:
                for name in (domain.name, domain.target):
                    if name is not None:
                        found = await self.lookup(conn, f"{base}@{name}")
                        if found is not None:
                            return found, "subaddress", detail
        return None, None, None

    async def _expand(
        self, conn: AsyncConnection, target: Target
    ) -> tuple[tuple[LocalRecipient, ...], tuple[str, ...]]:
        """Final recipients of an account (itself) or a group (breadth-first, loop-safe)."""
        if target.group_id is None:
            assert target.account is not None  # the schema's one_target check
            return (target.account,), ()
        accounts: dict[int, LocalRecipient] = {}
        outside: dict[str, None] = {}  # an ordered set
        seen = {target.group_id}
        queue = deque([target.group_id])

        def take(found: Target) -> None:
            if found.account is not None:
                accounts.setdefault(found.account.account_id, found.account)
            elif found.group_id is not None and found.group_id not in seen and len(seen) < MAX_GROUPS:
                seen.add(found.group_id)
                queue.append(found.group_id)

        while queue:
            group_id = queue.popleft()
            rows = await conn.execute(
                _MEMBERS_QUERY.where(s.group_members.c.group_id == group_id).order_by(s.group_members.c.address)
            )
            unmatched: list[str] = []
            for row in rows:
                if row.account_id is None and row.group_id is None:
                    unmatched.append(row.address)
                else:
                    take(_target(row))
            if not unmatched:
                continue
            domains = await self._domains(conn, {split(a)[1] for a in unmatched})
            for member in unmatched:
                local, domain_name = split(member)
                domain = domains.get(domain_name)
                if domain is None:
                    outside.setdefault(member, None)
                    continue
                found, _via, _detail = await self._match(conn, local, domain, skip_exact=True)
                if found is not None:
                    take(found)
        return tuple(accounts.values()), tuple(outside)

    async def _domains(self, conn: AsyncConnection, names: Iterable[str]) -> dict[str, _Domain]:
        """The local domains among ``names``, one query per chunk of names."""
        result: dict[str, _Domain] = {}
        pending = sorted(names)
        for start in range(0, len(pending), _CHUNK):
            chunk = pending[start : start + _CHUNK]
            for row in await conn.execute(_DOMAIN_QUERY.where(s.domains.c.name.in_(chunk))):
                domain = _Domain(*row)
                result[domain.name] = domain
        return result
