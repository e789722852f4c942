"""Test helpers that make accounts with plain inserts, so store tests do not depend on the directory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

from kastell.blobs.filesystem import FilesystemBlobStore
from kastell.db import migrate
from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.directory.permissions import Permission
from kastell.events import ChangeBus
from kastell.store.mailbox import Mailbox
from kastell.store.mailstore import MailStore


@dataclass
class Env:
    db: Database
    store: MailStore
    events: ChangeBus
    blobs: FilesystemBlobStore

    async def close(self) -> None:
        await self.db.close()


async def open_env(root: Path, url: str | None = None) -> Env:
    db = Database(url or f"sqlite+aiosqlite:///{root / 'kastell.db'}")
    await migrate.upgrade(db)
    blobs = FilesystemBlobStore(root / "blobs")
    events = ChangeBus()
    return Env(db, MailStore(db, blobs, events), events, blobs)


async def make_account(env: Env, org: str, address: str, *, quota: int = 0, kind: str = "user") -> Mailbox:
    now = int(time.time())
    domain = address.split("@")[1]
    async with env.db.write() as conn:
        org_id = await conn.scalar(select(s.organisations.c.id).where(s.organisations.c.name == org))
        if org_id is None:
            org_id = (await conn.execute(insert(s.organisations).values(name=org, created=now))).inserted_primary_key[0]
        domain_id = await conn.scalar(select(s.domains.c.id).where(s.domains.c.name == domain))
        if domain_id is None:
            domain_id = (
                await conn.execute(insert(s.domains).values(org_id=org_id, name=domain, created=now))
            ).inserted_primary_key[0]
        account_id = (
            await conn.execute(
                insert(s.accounts).values(
                    org_id=org_id, domain_id=domain_id, kind=kind, address=address, quota_bytes=quota,
                    permissions=int(Permission.ALL), created=now, updated=now,
                )
            )
        ).inserted_primary_key[0]
        await env.store.provision(conn, org_id, account_id, kind)
    return await env.store.open(org_id, account_id)


def message(n: int, body: str = "hello", *, subject: str | None = None) -> bytes:
    subject = subject if subject is not None else f"message {n}"
    return (
        f"From: Sender {n} <sender{n}@example.org>\r\n"
        f"To: rcpt@example.test\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <m{n}@example.org>\r\n"
        f"Date: Mon, 02 Jan 2023 10:00:{n % 60:02d} +0100\r\n"
        f"\r\n{body} {n}\r\n"
    ).encode()
