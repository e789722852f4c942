"""``directory.audit`` (audit log, API tokens) and ``store.stats`` on every database backend."""

from __future__ import annotations

import time

import pytest

from kastell.directory.audit import AuditLog, NoSuchToken, Tokens, record
from kastell.directory.errors import InvalidValue, NoSuchAdmin
from kastell.store import stats
from kastell.store.model import NewItem
from tests.unit.directoryhelp import (  # noqa: F401 (fixtures)
    Env,
    anyio_backend_fixture,
    env_fixture,
    migrated_template_fixture,
)

pytestmark = pytest.mark.anyio

MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nbody text\r\n"


async def test_audit_record_filter_and_page(env: Env) -> None:
    log = AuditLog(env.db)
    await log.record("root", "domain.create", "a.test", org_id=1, detail={"org": "A"}, client="192.0.2.1")
    await record(env.db, "cli:alice", "user.create", "u@a.test", org_id=1, detail={"password": "leak", "kind": "user"})
    await log.record("root", "user.delete", "v@b.test", org_id=2)
    newest = await log.entries()
    assert [e.action for e in newest] == ["user.delete", "user.create", "domain.create"]
    assert newest[1].detail == {"kind": "user"}  # the secret-looking key is dropped
    assert newest[2].client == "192.0.2.1" and newest[2].detail == {"org": "A"}
    assert [e.target for e in await log.entries(org_ids=frozenset({1}))] == ["u@a.test", "a.test"]
    assert [e.action for e in await log.entries(action="user.")] == ["user.delete", "user.create"]
    assert [e.action for e in await log.entries(action="user")] == []  # no prefix without the dot
    assert [e.actor for e in await log.entries(actor="cli:alice")] == ["cli:alice"]
    page = await log.entries(limit=1)
    assert [e.action for e in await log.entries(before_id=page[0].id, limit=1)] == ["user.create"]
    assert await log.entries(since=int(time.time()) + 10) == []


async def test_tokens(env: Env) -> None:
    admin = await env.directory.add_admin("ops", "ops-password")
    tokens = Tokens(env.db)
    secret, token = await tokens.create("OPS", "script", expires=int(time.time()) + 60)
    assert secret.startswith("kst_") and token.admin == "ops" and token.last_used is None
    verified = await tokens.verify(secret)
    assert verified is not None and verified.id == admin.id
    assert (await tokens.get(token.id)).last_used is not None
    assert await tokens.verify(secret + "x") is None
    assert await tokens.verify("not-a-token") is None
    assert [t.name for t in await tokens.list(admin.id)] == ["script"]
    with pytest.raises(NoSuchAdmin):
        await tokens.create("nobody", "x")
    with pytest.raises(InvalidValue):
        await tokens.create("ops", "x", expires=1)
    with pytest.raises(InvalidValue):
        await tokens.create("ops", "")
    await tokens.delete(token.id)
    assert await tokens.verify(secret) is None
    with pytest.raises(NoSuchToken):
        await tokens.delete(token.id)
    # Deleting the admin deletes its tokens (ON DELETE CASCADE) — or at least they stop working.
    secret, _ = await tokens.create("ops", "again")
    await env.directory.del_admin("ops")
    assert await tokens.verify(secret) is None


async def test_storage_statistics(env: Env) -> None:
    await env.directory.add_domain("a.test", org="A")
    await env.directory.add_domain("b.test", org="B")
    await env.directory.add_domain("alias.a.test", alias_of="a.test")
    alice = await env.directory.add_user("alice@a.test", None, quota=10**6)
    await env.directory.add_user("bob@a.test", None)
    await env.directory.add_user("carl@b.test", None)
    mailbox = await env.store.open(alice.org_id, alice.id)
    inbox = await mailbox.folder_by_role("inbox")
    await mailbox.append(inbox.id, NewItem(MESSAGE))
    await mailbox.append(inbox.id, NewItem(MESSAGE + b"more\r\n"))

    domains = {row.domain: row for row in await stats.storage_by_domain(env.db)}
    assert set(domains) == {"a.test", "b.test"}  # alias domains hold no accounts
    assert domains["a.test"].accounts == 2 and domains["a.test"].items == 2
    assert domains["a.test"].bytes_used == 2 * len(MESSAGE) + 6
    assert domains["b.test"].bytes_used == 0 and domains["b.test"].accounts == 1
    assert [r.domain for r in await stats.storage_by_domain(env.db, frozenset({alice.org_id}))] == ["a.test"]

    accounts = await stats.storage_by_account(env.db)
    assert accounts[0].address == "alice@a.test" and accounts[0].quota == 10**6 and accounts[0].items == 2
    assert [r.address for r in await stats.storage_by_account(env.db, domain="b.test")] == ["carl@b.test"]
    assert len(await stats.storage_by_account(env.db, limit=1, offset=2)) == 1

    totals = await stats.totals(env.db)
    assert totals == {
        "organisations": 2,
        "domains": 3,
        "accounts": 3,
        "groups": 0,
        "bytes_used": 2 * len(MESSAGE) + 6,
        "items": 2,
    }
    scoped = await stats.totals(env.db, frozenset({alice.org_id}))
    assert scoped["organisations"] == 1 and scoped["accounts"] == 2 and scoped["domains"] == 2
