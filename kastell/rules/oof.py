"""Out-of-office: one object per account, applied as a vacation rule.

Every surface that sets an automatic reply (the self-service page, the CLI, the
API, later ActiveSync and EWS) writes this row; delivery turns it into a short
Sieve script that runs beside the user's own (``to_sieve``), so a user's filing
rules and the automatic reply coexist.

Like Exchange, a sender gets one reply per out-of-office period: the vacation
handle changes whenever the setting is saved, and the period is the longest the
server allows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from kastell.db import schema as s

if TYPE_CHECKING:
    from kastell.db.engine import Database

_O = s.out_of_office.c
MAX_MESSAGE = 16384


class OofError(ValueError):
    """An invalid setting; ``field`` names the offending one."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class OutOfOffice:
    enabled: bool = False
    start: int | None = None  # epoch seconds, None = now
    end: int | None = None  # epoch seconds, None = until switched off
    subject: str = ""
    internal_message: str = ""
    external_message: str = ""
    internal_only: bool = False
    updated: int = 0

    def active_at(self, now: float) -> bool:
        if not self.enabled:
            return False
        if self.start is not None and now < self.start:
            return False
        return self.end is None or now < self.end

    def validate(self) -> OutOfOffice:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise OofError("the end must be after the start", "end")
        if len(self.subject) > 255:
            raise OofError("the subject is longer than 255 characters", "subject")
        for name, text in (("internal_message", self.internal_message), ("external_message", self.external_message)):
            if len(text) > MAX_MESSAGE:
                raise OofError(f"a message is longer than {MAX_MESSAGE} characters", name)
        if self.enabled and not (self.internal_message or self.external_message):
            raise OofError("an automatic reply needs a message", "internal_message")
        return self

    def to_sieve(self, internal_domains: list[str], period: int) -> str:
        """The vacation rule: internal senders get the internal message, others the external one."""
        internal = self.internal_message or self.external_message
        external = "" if self.internal_only else (self.external_message or self.internal_message)
        subject = f":subject {quote(self.subject)} " if self.subject else ""

        def vacation(kind: str, text: str) -> str:
            return f'vacation :seconds {period} {subject}:handle "kastell-oof-{kind}-{self.updated}" {quote(text)};'

        lines = ['require ["vacation", "vacation-seconds", "envelope"];']
        if not internal_domains:
            return "\n".join([*lines, vacation("external", external) if external else ""]) + "\n"
        domains = "[" + ", ".join(quote(d) for d in internal_domains) + "]"
        lines.append(f'if envelope :domain :is "from" {domains} {{')
        lines.append("  " + vacation("internal", internal))
        if external:
            lines.append("} else {")
            lines.append("  " + vacation("external", external))
        lines.append("}")
        return "\n".join(lines) + "\n"


def quote(text: str) -> str:
    """A Sieve quoted string (RFC 5228 §2.4.2): only backslash and double quote are escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def get(db: Database, org_id: int, account_id: int) -> OutOfOffice:
    async with db.read() as conn:
        row = (
            await conn.execute(select(s.out_of_office).where(_O.org_id == org_id, _O.account_id == account_id))
        ).first()
    return OutOfOffice() if row is None else from_row(row)


def from_row(row: Any) -> OutOfOffice:
    return OutOfOffice(
        bool(row.enabled), row.start, row.end, row.subject, row.internal_message, row.external_message,
        bool(row.internal_only), int(row.updated),
    )  # fmt: skip


async def put(db: Database, org_id: int, account_id: int, oof: OutOfOffice) -> OutOfOffice:
    """Store ``oof`` (validated) for the account; the stored object (with its new ``updated``)."""
    now = time.time_ns() // 1000  # microseconds: two saves in one second still get two handles
    oof = replace(oof.validate(), updated=now)
    values = {
        "enabled": oof.enabled, "start": oof.start, "end": oof.end, "subject": oof.subject,
        "internal_message": oof.internal_message, "external_message": oof.external_message,
        "internal_only": oof.internal_only, "updated": now,
    }  # fmt: skip
    async with db.write() as conn:
        done = await conn.execute(
            update(s.out_of_office).where(_O.org_id == org_id, _O.account_id == account_id).values(**values)
        )
        if not done.rowcount:
            await conn.execute(insert(s.out_of_office).values(org_id=org_id, account_id=account_id, **values))
    return oof


async def clear(db: Database, org_id: int, account_id: int) -> None:
    async with db.write() as conn:
        await conn.execute(delete(s.out_of_office).where(_O.org_id == org_id, _O.account_id == account_id))
