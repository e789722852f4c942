"""What the directory returns: frozen dataclasses, never database rows.

Password hashes are deliberately absent: an ``Account`` can be logged,
printed or serialised without leaking a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kastell.directory.permissions import Permission

KINDS = ("user", "shared", "room", "equipment")
STATUSES = ("active", "suspended", "disabled")
ADMIN_ROLES = ("system", "org", "domain")


@dataclass(frozen=True, slots=True)
class Organisation:
    id: int
    name: str
    created: int


@dataclass(frozen=True, slots=True)
class Domain:
    id: int
    org_id: int
    org: str  # the organisation's name
    name: str  # ASCII (IDNA) form
    alias_of: str | None  # the target domain's name, for an alias domain
    catchall: str | None
    created: int


@dataclass(frozen=True, slots=True)
class Account:
    """A user, shared mailbox, room or equipment. ``quota`` in bytes, 0 = unlimited."""

    id: int
    org_id: int
    domain_id: int
    kind: str
    address: str
    name: str
    status: str
    quota: int
    language: str
    timezone: str
    permissions: Permission
    has_password: bool
    created: int
    updated: int

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class Alias:
    address: str
    target: str  # the account's primary address
    org_id: int
    account_id: int


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    org_id: int
    domain_id: int
    address: str
    name: str
    created: int
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Admin:
    id: int
    name: str
    role: str  # system | org | domain
    read_only: bool
    org_id: int | None
    created: int


def account_from_row(row: Any) -> Account:
    """An ``Account`` from a row of ``accounts`` (all columns selected)."""
    m = row._mapping
    return Account(
        id=m["id"],
        org_id=m["org_id"],
        domain_id=m["domain_id"],
        kind=m["kind"],
        address=m["address"],
        name=m["display_name"],
        status=m["status"],
        quota=m["quota_bytes"],
        language=m["language"],
        timezone=m["timezone"],
        permissions=Permission(m["permissions"] & Permission.ALL),
        has_password=m["password_hash"] is not None,
        created=m["created"],
        updated=m["updated"],
    )


def admin_from_row(row: Any) -> Admin:
    m = row._mapping
    return Admin(
        id=m["id"],
        name=m["name"],
        role=m["role"],
        read_only=bool(m["read_only"]),
        org_id=m["org_id"],
        created=m["created"],
    )
