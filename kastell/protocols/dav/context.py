"""What a handler gets: the core, the authenticated account, its mailbox, the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request

    from kastell.app import Kastell
    from kastell.directory.records import Account
    from kastell.protocols.dav.locks import LockTable
    from kastell.store.mailbox import Mailbox

BASE = "/dav"
SYNC_PREFIX = "http://kastell.org/ns/sync/"  # sync-tokens are URIs (RFC 6578 §3.2)


@dataclass
class Context:
    kastell: Kastell
    account: Account
    mailbox: Mailbox
    request: Request
    body: bytes = b""
    cache: dict[str, Any] = field(default_factory=dict)  # per-request memo (quota, ...)
    locks: LockTable | None = None
    submitted: set[str] = field(default_factory=set)  # lock tokens the If header submitted
    access: str = "owner"  # owner | read | read-write: a sharee works in the owner's mailbox

    @property
    def principal_href(self) -> str:
        return principal_href(self.account.address)


def principal_href(address: str) -> str:
    return f"{BASE}/principals/{address}/"


def home_href(space: str, address: str) -> str:
    return f"{BASE}/{space}/{address}/"
