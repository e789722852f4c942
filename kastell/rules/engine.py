"""A recipient's effective rules, and running them.

The effective rules of an account are, in this order (Pigeonhole's sieve_before
/ personal / sieve_after):

1. the domain's global scripts of phase ``before`` (by name);
2. out-of-office, when on and within its window (a generated vacation rule);
3. forwarding, when set (generated ``redirect :copy`` and maybe ``discard``);
4. the user's active script;
5. the domain's global scripts of phase ``after``.

``evaluate`` runs them over one message and returns the Sieve result; the caller
executes it. The tracking the extensions need lives in ``sieve_tracking``:
``claim_vacation`` answers whether a reply may go to a sender now (and records
it, atomically, so two deliveries at once send one reply), and
``record_duplicates`` stores RFC 7352 ids once the delivery succeeded.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from kastell.db import schema as s
from kastell.rules import forwarding as forwarding_mod
from kastell.rules import oof as oof_mod

if TYPE_CHECKING:
    from kastell import sieve
    from kastell.app import Kastell
    from kastell.directory.resolve import LocalRecipient

log = logging.getLogger("kastell.rules")

_S = s.sieve_scripts.c
_T = s.sieve_tracking.c
_A = s.addresses.c


@lru_cache(maxsize=512)
def compile_script(text: str) -> sieve.Script:
    """Parsed scripts by text: stored scripts were validated on upload, so this only fails on
    scripts written by an older version with other rules (the caller keeps the message then)."""
    from kastell import sieve

    return sieve.parse(text)


@dataclass
class EffectiveRules:
    org_id: int
    account_id: int
    domain_id: int
    address: str
    addresses: tuple[str, ...]  # primary and aliases
    scripts: list[tuple[str, str]] = field(default_factory=list)  # (label, text)


def tracking_key(*parts: str) -> str:
    """The stored form of a tracking id: a sha256 hex of its parts."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class _Environment:
    """What scripts may ask of the server while they run (``kastell.sieve.Environment``)."""

    def __init__(self, engine: RulesEngine, rules: EffectiveRules) -> None:
        self.engine = engine
        self.rules = rules

    async def include(self, location: str, name: str) -> str | None:
        r = self.rules
        owner = (
            (_S.account_id == r.account_id)
            if location == "personal"
            else and_(_S.domain_id == r.domain_id, _S.account_id.is_(None))
        )
        async with self.engine.app.db.read() as conn:
            return await conn.scalar(select(_S.content).where(_S.org_id == r.org_id, owner, _S.name == name))

    async def duplicate_seen(self, key: str) -> bool:
        return await self.engine.tracked(self.rules.account_id, "duplicate", tracking_key(key))

    async def mailbox_exists(self, name: str) -> bool:
        from kastell.store.errors import NoSuchFolder, StoreError

        mailbox = await self.engine.app.store.open(self.rules.org_id, self.rules.account_id)
        try:
            await mailbox.folder_by_path(name)
        except (NoSuchFolder, StoreError, ValueError):
            return False
        return True


class RulesEngine:
    def __init__(self, app: Kastell) -> None:
        self.app = app

    async def rules_for(self, recipient: LocalRecipient, now: float | None = None) -> EffectiveRules | None:
        """The account's effective rules; None when it has none (the common case: one cheap read)."""
        now = time.time() if now is None else now
        org, account = recipient.org_id, recipient.account_id
        async with self.app.db.read() as conn:
            domain_id = await conn.scalar(
                select(s.accounts.c.domain_id).where(s.accounts.c.org_id == org, s.accounts.c.id == account)
            )
            if domain_id is None:
                return None
            script_rows = (
                await conn.execute(
                    select(_S.account_id, _S.name, _S.phase, _S.content)
                    .where(
                        _S.org_id == org,
                        ((_S.account_id == account) & _S.active)
                        | ((_S.domain_id == domain_id) & _S.phase.in_(("before", "after"))),
                    )
                    .order_by(_S.name)
                )
            ).all()
            oof_row = (
                await conn.execute(
                    select(s.out_of_office).where(
                        s.out_of_office.c.org_id == org, s.out_of_office.c.account_id == account
                    )
                )
            ).first()
            forward_row = (
                await conn.execute(
                    select(s.mail_forwards).where(
                        s.mail_forwards.c.org_id == org, s.mail_forwards.c.account_id == account
                    )
                )
            ).first()
            if not script_rows and oof_row is None and forward_row is None:
                return None
            addresses = (await conn.scalars(select(_A.address).where(_A.org_id == org, _A.account_id == account))).all()
            internal = (
                await conn.scalars(select(s.domains.c.name).where(s.domains.c.org_id == org).order_by(s.domains.c.name))
            ).all()
        rules = EffectiveRules(org, account, int(domain_id), recipient.address,
                               tuple(dict.fromkeys([recipient.address, *addresses])))  # fmt: skip
        rules.scripts += [(f"global:{r.name}", r.content) for r in script_rows if r.phase == "before"]
        if oof_row is not None:
            oof = oof_mod.from_row(oof_row)
            if oof.active_at(now) and (oof.internal_message or oof.external_message):
                period = self.app.settings.config.sieve.vacation_max_period
                rules.scripts.append(("out-of-office", oof.to_sieve(list(internal), period)))
        if forward_row is not None:
            targets = tuple(t for t in forward_row.targets.split(",") if t)
            if targets:
                rules.scripts.append(
                    ("forwarding", forwarding_mod.Forwarding(targets, bool(forward_row.keep)).to_sieve())
                )
        rules.scripts += [(f"personal:{r.name}", r.content) for r in script_rows if r.account_id == account]
        rules.scripts += [(f"global:{r.name}", r.content) for r in script_rows if r.phase == "after"]
        return rules if rules.scripts else None

    async def evaluate(
        self,
        rules: EffectiveRules,
        source: bytes,
        envelope: sieve.Envelope,
        *,
        spam_score: int | None = None,
        now: datetime | None = None,
    ) -> sieve.Result:
        """Run the rules; a script that no longer compiles is skipped with a log line (the message is kept)."""
        from kastell import sieve

        compiled: list[sieve.Script] = []
        for label, text in rules.scripts:
            try:
                compiled.append(compile_script(text))
            except sieve.SieveSyntaxError as exc:
                log.warning("rules of %s: %s does not compile (%s); skipped", rules.address, label, exc)
        config = self.app.settings.config.sieve
        return await sieve.evaluate_sequence(
            compiled, source, envelope, _Environment(self, rules),
            now=now or datetime.now(UTC), spam_score=spam_score, max_redirects=config.max_redirects,
            user_addresses=rules.addresses, vacation_min_period=config.vacation_min_period,
            vacation_max_period=config.vacation_max_period,
        )  # fmt: skip

    async def tracked(self, account_id: int, kind: str, key: str) -> bool:
        async with self.app.db.read() as conn:
            expires = await conn.scalar(
                select(_T.expires).where(_T.account_id == account_id, _T.kind == kind, _T.key == key)
            )
        return expires is not None and expires > time.time()

    async def claim_vacation(self, account_id: int, handle: str, sender: str, seconds: int) -> bool:
        """True when no reply went to ``sender`` for ``handle`` within ``seconds``; records this one.

        Two deliveries claiming at once get one True: on SQLite the write lock orders
        them; on PostgreSQL the loser's insert (or conditional update) finds the row.
        """
        key = tracking_key(handle, sender.lower())
        now = int(time.time())
        where = (_T.account_id == account_id, _T.kind == "vacation", _T.key == key)
        try:
            async with self.app.db.write() as conn:
                expires = await conn.scalar(select(_T.expires).where(*where))
                if expires is not None and expires > now:
                    return False
                if expires is None:
                    await conn.execute(
                        insert(s.sieve_tracking).values(
                            account_id=account_id, kind="vacation", key=key, expires=now + seconds
                        )
                    )
                else:
                    done = await conn.execute(
                        update(s.sieve_tracking).where(*where, _T.expires == expires).values(expires=now + seconds)
                    )
                    if not done.rowcount:
                        return False
        except IntegrityError:
            return False
        return True

    async def record_duplicates(self, account_id: int, marks: list[tuple[str, int]]) -> None:
        if not marks:
            return
        now = int(time.time())
        for raw, seconds in marks:
            key = tracking_key(raw)
            where = (_T.account_id == account_id, _T.kind == "duplicate", _T.key == key)
            try:
                async with self.app.db.write() as conn:
                    done = await conn.execute(
                        update(s.sieve_tracking).where(*where).values(expires=now + max(1, seconds))
                    )
                    if not done.rowcount:
                        await conn.execute(
                            insert(s.sieve_tracking).values(
                                account_id=account_id, kind="duplicate", key=key, expires=now + max(1, seconds)
                            )
                        )
            except IntegrityError:
                pass  # recorded by a concurrent delivery of the same message

    async def prune(self) -> int:
        """Forget expired tracking rows; the number removed."""
        async with self.app.db.write() as conn:
            done = await conn.execute(delete(s.sieve_tracking).where(_T.expires <= int(time.time())))
        return int(done.rowcount or 0)
