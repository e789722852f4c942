"""LDAP and Active Directory as a user source, one per organisation.

An organisation may name one directory server (``ldap_sources``): Kastell
binds with a service account, reads the users (and groups) under a base DN,
and keeps its own accounts and groups following them (``sync.py``). Accounts
that came from the directory log in by a bind to it as their own DN with the
password the client gave (``verify_password``, called by
``kastell.directory.auth``); Kastell never learns or stores those passwords.

Module map:

- ``client``: the blocking ldap3 calls, each bounded by timeouts (run in threads);
- ``sources``: settings, validation, the sealed bind password, ``ldap_sources``;
- ``sync``: the downsync;
- here: ``Ldap``, the one object the CLI, the API and the worker use, and
  ``run_worker``, the scheduled sync ``kastell serve`` runs.

ldap3 and cryptography are imported only when a source is used, so a server
without LDAP pays nothing for this package.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.directory.ldap import client
from kastell.directory.ldap.client import Connect, LdapError, UserEntry
from kastell.directory.ldap.sources import (
    InvalidSetting,
    NoLdapSource,
    Source,
    SourceSettings,
    SourceStore,
)
from kastell.directory.ldap.sync import SyncResult, sync_source
from kastell.directory.records import Organisation
from kastell.directory.service import Directory

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.ldap")

WORKER_TICK = 60.0  # how often the worker looks for sources that are due

# One sync per organisation at a time in this process (the worker and an operator may ask together).
_locks: dict[int, asyncio.Lock] = {}


@dataclass(frozen=True, slots=True)
class CheckResult:
    users: int
    groups: int | None  # None: groups are not synced


class Ldap:
    """The LDAP sources of an installation: settings, check, search, sync."""

    def __init__(self, db: Database, directory: Directory, data_dir: Path) -> None:
        self.directory = directory
        self.sources = SourceStore(db, data_dir)

    @classmethod
    def of(cls, app: Kastell) -> Ldap:
        return cls(app.db, app.directory, app.settings.data_dir)

    async def get(self, org: str | Organisation) -> Source:
        """The source of organisation ``org``; NoSuchOrganisation, NoLdapSource."""
        return await self.sources.get(await self._org(org))

    async def put(self, org: str | Organisation, settings: SourceSettings, password: str | None) -> Source:
        """Create or replace the source (``password`` None keeps the stored one); InvalidSetting."""
        return await self.sources.put(await self._org(org), settings, password)

    async def delete(self, org: str | Organisation) -> Source:
        return await self.sources.delete(await self._org(org))

    async def check(self, org: str | Organisation) -> CheckResult:
        """Bind with the service account and count the users (and groups) the source would sync."""
        source = await self.get(org)
        users, groups = await asyncio.to_thread(
            client.check, self.sources.connect_of(source), source.settings.mapping()
        )
        return CheckResult(users, groups)

    async def search(self, org: str | Organisation, text: str, limit: int = client.SEARCH_LIMIT) -> list[UserEntry]:
        """Users of the source whose mail or name contains ``text``."""
        source = await self.get(org)
        connect = self.sources.connect_of(source)
        return await asyncio.to_thread(client.search, connect, source.settings.mapping(), text[:256], limit)

    async def sync(self, org: str | Organisation) -> SyncResult:
        """Downsync now (see ``sync.py``); the outcome is kept in ``last_sync``/``last_error``. LdapError."""
        source = await self.get(org)
        lock = _locks.setdefault(source.org_id, asyncio.Lock())
        async with lock:
            try:
                result = await sync_source(self.directory, source, self.sources.connect_of(source))
            except LdapError as exc:
                await self.sources.record(source, str(exc))
                raise
            except Exception as exc:
                await self.sources.record(source, f"internal error: {type(exc).__name__}")
                raise
            await self.sources.record(source, None)
        log.info("ldap sync of %s: %s", source.org, result.counts())
        return result

    async def sync_due(self) -> int:
        """Sync every enabled source whose interval has passed; errors are recorded and logged. How many ran."""
        ran = 0
        for org_id in await self.sources.due(int(time.time())):
            org = next((o for o in await self.directory.list_orgs() if o.id == org_id), None)
            if org is None:
                continue
            ran += 1
            try:
                await self.sync(org)
            except LdapError as exc:
                log.warning("ldap sync of %s failed: %s", org.name, exc)
            except Exception:
                log.exception("ldap sync of %s failed", org.name)
        return ran

    async def _org(self, org: str | Organisation) -> Organisation:
        return org if isinstance(org, Organisation) else await self.directory.get_org(org)


async def verify_password(db: Database, account_id: int, password: str) -> bool | None:
    """For the authenticator: None if the account is not from LDAP, else whether the directory accepts the password.

    The check is a simple bind as the account's DN (RFC 4513 §5.1.3) on the
    source's server; an empty password is False without asking (an
    unauthenticated bind is never a success). LdapError when the directory
    cannot be reached.
    """
    query = (
        select(s.ldap_accounts.c.dn, s.ldap_sources.c.url, s.ldap_sources.c.starttls, s.ldap_sources.c.ca_cert)
        .select_from(s.ldap_accounts.join(s.ldap_sources, s.ldap_sources.c.id == s.ldap_accounts.c.source_id))
        .where(s.ldap_accounts.c.account_id == account_id)
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    if not password:
        return False
    connect = Connect(row.url, bool(row.starttls), row.ca_cert, "", "")
    return await asyncio.to_thread(client.verify, connect, row.dn, password)


async def run_worker(app: Kastell, tick: float = WORKER_TICK) -> None:
    """The ``ldap-sync`` worker of ``kastell serve``: every ``tick`` seconds, sync the sources that are due."""
    ldap = Ldap.of(app)
    while True:
        try:
            await ldap.sync_due()
        except Exception:  # a broken database row must not end the worker
            log.exception("ldap sync worker")
        await asyncio.sleep(tick)


__all__ = [
    "CheckResult",
    "InvalidSetting",
    "Ldap",
    "LdapError",
    "NoLdapSource",
    "Source",
    "SourceSettings",
    "SyncResult",
    "UserEntry",
    "run_worker",
    "verify_password",
]
