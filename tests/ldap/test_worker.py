"""The ``ldap-sync`` worker: syncs the sources that are due, records errors, never dies of them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from kastell.directory.ldap import Ldap, SourceSettings, run_worker
from tests.peers import Slapd
from tests.unit.directoryhelp import Env

pytestmark = pytest.mark.anyio


async def test_due_sources_are_synced_and_errors_recorded(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    base = slapd.new_tree()
    slapd.add_person(base, "alice", "alice@acme.test", "Alice", "alice-pw")
    await env.directory.add_domain("acme.test", org="acme")
    await env.directory.add_domain("broken.test", org="broken")
    await env.directory.add_domain("manual.test", org="manual")
    ldap = Ldap(env.db, env.directory, tmp_path)
    await ldap.put("acme", SourceSettings(url=slapd.url, base_dn=base, bind_dn=slapd.root_dn, sync_interval=3600),
                   slapd.root_password)  # fmt: skip
    await ldap.put("broken", SourceSettings(url="ldap://127.0.0.1:1", base_dn=base, sync_interval=60), None)
    await ldap.put("manual", SourceSettings(url=slapd.url, base_dn=base, sync_interval=0), None)

    app = SimpleNamespace(db=env.db, directory=env.directory, settings=SimpleNamespace(data_dir=tmp_path))
    worker = asyncio.create_task(run_worker(app, tick=0.05))  # type: ignore[arg-type]
    try:
        for _ in range(200):
            if (await ldap.get("broken")).last_error and (await ldap.get("acme")).last_sync:
                break
            await asyncio.sleep(0.05)
        assert not worker.done()  # the broken source did not end it
    finally:
        worker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await worker
    assert (await env.directory.get_account("alice@acme.test")).name == "Alice"
    assert (await ldap.get("acme")).last_error is None
    assert "127.0.0.1:1" in ((await ldap.get("broken")).last_error or "")
    assert (await ldap.get("manual")).last_sync is None  # interval 0: only when asked
    # Synced an hour ago: not due again yet.
    assert await ldap.sync_due() == 0


async def test_disabled_sources_wait(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    await env.directory.add_domain("acme.test", org="acme")
    ldap = Ldap(env.db, env.directory, tmp_path)
    await ldap.put("acme", SourceSettings(url=slapd.url, base_dn=slapd.suffix, sync_interval=60, enabled=False), None)
    assert await ldap.sync_due() == 0
