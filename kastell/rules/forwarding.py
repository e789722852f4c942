"""Forwarding of every incoming message: one setting per account.

Applied as a generated Sieve script beside the user's own: ``redirect :copy`` to
each target, and ``discard`` of the local copy when it is not kept (a user's own
script may still file the message explicitly).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from kastell.db import schema as s
from kastell.directory.addresses import normalise_address
from kastell.directory.errors import InvalidAddress
from kastell.rules.oof import quote

if TYPE_CHECKING:
    from kastell.db.engine import Database

_F = s.mail_forwards.c
MAX_TARGETS = 16


@dataclass(frozen=True, slots=True)
class Forwarding:
    targets: tuple[str, ...] = ()
    keep: bool = True

    def to_sieve(self) -> str:
        lines = ['require ["copy"];']
        lines += [f"redirect :copy {quote(t)};" for t in self.targets]
        if not self.keep:
            lines.append("discard;")
        return "\n".join(lines) + "\n"


async def get(db: Database, org_id: int, account_id: int) -> Forwarding:
    async with db.read() as conn:
        row = (
            await conn.execute(select(s.mail_forwards).where(_F.org_id == org_id, _F.account_id == account_id))
        ).first()
    if row is None:
        return Forwarding()
    return Forwarding(tuple(t for t in row.targets.split(",") if t), bool(row.keep))


async def put(db: Database, org_id: int, account_id: int, targets: list[str], keep: bool) -> Forwarding:
    """Forward to ``targets`` (validated, lower-cased); an empty list switches forwarding off."""
    clean = tuple(dict.fromkeys(normalise_address(t.strip()) for t in targets))
    if len(clean) > MAX_TARGETS:
        raise InvalidAddress(f"no more than {MAX_TARGETS} forwarding addresses")
    async with db.write() as conn:
        await conn.execute(delete(s.mail_forwards).where(_F.org_id == org_id, _F.account_id == account_id))
        if clean:
            await conn.execute(
                insert(s.mail_forwards).values(
                    org_id=org_id, account_id=account_id, targets=",".join(clean), keep=keep, updated=int(time.time())
                )
            )
    return Forwarding(clean, keep)
