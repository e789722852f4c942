"""LDAP sources against a real OpenLDAP: check, search, downsync of users and groups, the sealed password."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from kastell.db import schema as s
from kastell.directory.errors import InvalidValue
from kastell.directory.ldap import InvalidSetting, Ldap, LdapError, NoLdapSource, SourceSettings
from tests.peers import Slapd
from tests.unit.directoryhelp import Env

pytestmark = pytest.mark.anyio


async def _setup(env: Env, slapd: Slapd, tmp_path: Path, **options: object) -> tuple[Ldap, str]:
    """Organisation "acme" (domain acme.test) with a source on a fresh tree: alice, bob, a group staff."""
    base = slapd.new_tree()
    alice = slapd.add_person(base, "alice", "alice@acme.test", "Alice Liddell", "alice-pw")
    bob = slapd.add_person(base, "bob", "Bob@ACME.test", "Bob Builder", "bob-pw")
    slapd.add_group(base, "staff", [alice, bob])
    await env.directory.add_domain("acme.test", org="acme")
    ldap = Ldap(env.db, env.directory, tmp_path)
    settings = SourceSettings(url=slapd.url, base_dn=base, bind_dn=slapd.root_dn, **options)  # type: ignore[arg-type]
    await ldap.put("acme", settings, slapd.root_password)
    return ldap, base


async def test_check_and_search(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, _base = await _setup(env, slapd, tmp_path)
    checked = await ldap.check("acme")
    assert (checked.users, checked.groups) == (2, 1)
    found = await ldap.search("acme", "alic")
    assert [(u.mail, u.name) for u in found] == [("alice@acme.test", "Alice Liddell")]
    assert found[0].external_id and found[0].dn.startswith("uid=alice,")
    assert {u.mail for u in await ldap.search("acme", "")} == {"alice@acme.test", "Bob@ACME.test"}
    assert await ldap.search("acme", "*)(uid=*") == []  # the text is escaped, not a filter


async def test_sync_creates_users_and_group_and_is_idempotent(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, _base = await _setup(env, slapd, tmp_path)
    result = await ldap.sync("acme")
    assert (result.users, result.created, result.groups_created, result.members_added) == (2, 2, 1, 2)
    alice = await env.directory.get_account("alice@acme.test")
    assert (alice.name, alice.status, alice.has_password) == ("Alice Liddell", "active", False)
    assert (await env.directory.get_account("bob@acme.test")).name == "Bob Builder"
    group = await env.directory.get_group("staff@acme.test")
    assert (group.name, group.members) == ("staff", ("alice@acme.test", "bob@acme.test"))
    # Each account got its mailbox, like any other.
    assert await env.store.open(alice.org_id, alice.id)

    again = await ldap.sync("acme")
    changes = {k: v for k, v in again.counts().items() if k not in ("users", "groups") and v}
    assert changes == {}
    source = await ldap.get("acme")
    assert source.last_error is None and source.last_sync is not None


async def test_changes_in_the_directory_follow(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, base = await _setup(env, slapd, tmp_path)
    await ldap.sync("acme")
    admin = slapd.admin()
    try:
        admin.modify(f"uid=alice,ou=people,{base}", {"cn": [("MODIFY_REPLACE", ["Alice Pleasance Liddell"])]})
        admin.delete(f"cn=staff,ou=groups,{base}")
        carol = slapd.add_person(base, "carol", "carol@acme.test", "Carol", "carol-pw")
        slapd.add_group(base, "staff", [carol])  # a new entry: a new entryUUID
        admin.delete(f"uid=bob,ou=people,{base}")
    finally:
        admin.unbind()
    result = await ldap.sync("acme")
    assert (result.updated, result.created, result.suspended) == (1, 1, 1)
    # The group was made again under the same name: the Kastell group follows the new entry.
    assert (result.groups_deleted, result.groups_created, result.groups_updated) == (0, 0, 1)
    assert (await env.directory.get_account("alice@acme.test")).name == "Alice Pleasance Liddell"
    bob = await env.directory.get_account("bob@acme.test")
    assert bob.status == "suspended"  # never deleted: the mail stays
    assert (await env.directory.get_group("staff@acme.test")).members == ("carol@acme.test",)

    # Bob is made again (a new entry, a new entryUUID): his account is linked to it and active again;
    # carol, suspended by an administrator, stays suspended.
    slapd.add_person(base, "bob", "bob@acme.test", "Bob Builder", "bob-pw")
    await env.directory.set_status("carol@acme.test", "suspended")
    result = await ldap.sync("acme")
    assert (result.reactivated, result.created, result.skipped) == (1, 0, 0)
    assert (await env.directory.get_account("bob@acme.test")).status == "active"
    assert (await env.directory.get_account("carol@acme.test")).status == "suspended"


async def test_entry_that_returns_is_reactivated(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, _base = await _setup(env, slapd, tmp_path, group_filter=None)
    await ldap.sync("acme")
    settings = (await ldap.get("acme")).settings
    hidden = "(&(objectClass=inetOrgPerson)(!(uid=bob)))"
    await ldap.put("acme", SourceSettings(**{**_fields(settings), "user_filter": hidden}), None)
    assert (await ldap.sync("acme")).suspended == 1
    assert (await env.directory.get_account("bob@acme.test")).status == "suspended"
    await ldap.put("acme", settings, None)
    result = await ldap.sync("acme")
    assert (result.reactivated, result.updated, result.created) == (1, 0, 0)
    assert (await env.directory.get_account("bob@acme.test")).status == "active"


def _fields(settings: SourceSettings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in SourceSettings.__dataclass_fields__}


async def test_no_users_found_suspends_nobody(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, base = await _setup(env, slapd, tmp_path)
    await ldap.sync("acme")
    settings = (await ldap.get("acme")).settings
    await ldap.put("acme", SourceSettings(**{**_fields(settings), "user_filter": "(uid=nobody-at-all)"}), None)
    with pytest.raises(LdapError, match="refusing to suspend 2 accounts"):
        await ldap.sync("acme")
    assert (await env.directory.get_account("alice@acme.test")).status == "active"
    assert "refusing" in ((await ldap.get("acme")).last_error or "")


async def test_skipped_entries_and_adoption(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, base = await _setup(env, slapd, tmp_path)
    slapd.add_person(base, "eve", "eve@elsewhere.test", "Eve", "eve-pw")  # not a domain of acme
    await env.directory.add_domain("other.test", org="other")
    slapd.add_person(base, "mallory", "boss@other.test", "Mallory", "m-pw")  # another organisation's domain
    await env.directory.add_user("boss@other.test", "the-boss-password")
    await env.directory.add_user("alice@acme.test", "local-password", name="Old Name")  # exists: adopted
    result = await ldap.sync("acme")
    assert (result.created, result.linked, result.skipped) == (1, 1, 2)
    assert any("eve@elsewhere.test" in note for note in result.notes)
    assert (await env.directory.get_account("alice@acme.test")).name == "Alice Liddell"
    boss = await env.directory.get_account("boss@other.test")
    assert boss.name == "" and boss.status == "active"
    async with env.db.read() as conn:
        linked = set((await conn.execute(select(s.ldap_accounts.c.account_id))).scalars())
    assert boss.id not in linked


async def test_the_bind_password_is_sealed(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    await _setup(env, slapd, tmp_path)
    async with env.db.read() as conn:
        stored = (await conn.execute(select(s.ldap_sources.c.bind_password))).scalar_one()
    assert stored and slapd.root_password not in stored
    key = tmp_path / "ldap.key"
    assert len(key.read_bytes()) == 32 and (key.stat().st_mode & 0o777) == 0o600
    # Another key cannot open it: a clear error, not garbage sent as a password.
    other = Ldap(env.db, env.directory, tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(LdapError, match="does not open"):
        await other.check("acme")


async def test_unreachable_and_refused(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, base = await _setup(env, slapd, tmp_path)
    settings = (await ldap.get("acme")).settings
    await ldap.put("acme", settings, "wrong-password")
    with pytest.raises(LdapError, match="refused"):
        await ldap.check("acme")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    await ldap.put("acme", SourceSettings(**{**_fields(settings), "url": f"ldap://127.0.0.1:{port}"}), None)
    started = time.monotonic()
    with pytest.raises(LdapError, match="cannot"):
        await ldap.sync("acme")
    assert time.monotonic() - started < 10
    assert (await ldap.get("acme")).last_error
    # A server that accepts the connection and never answers: the receive timeout ends it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        await ldap.put(
            "acme", SourceSettings(**{**_fields(settings), "url": f"ldap://127.0.0.1:{silent.getsockname()[1]}"}), None
        )
        import kastell.directory.ldap.client as client

        saved = client.RECEIVE_TIMEOUT
        client.RECEIVE_TIMEOUT = 1
        try:
            started = time.monotonic()
            with pytest.raises(LdapError):
                await ldap.check("acme")
            assert time.monotonic() - started < 8
        finally:
            client.RECEIVE_TIMEOUT = saved


async def test_settings_are_validated(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    await env.directory.add_domain("acme.test", org="acme")
    ldap = Ldap(env.db, env.directory, tmp_path)
    with pytest.raises(NoLdapSource):
        await ldap.get("acme")
    good = {"url": "ldap://dir.acme.test", "base_dn": "dc=acme,dc=test"}
    for name, value in [
        ("url", "http://dir.acme.test"),
        ("url", "ldap://"),
        ("base_dn", ""),
        ("user_filter", "objectClass=person"),
        ("user_filter", "(&(a=b)"),
        ("mail_attr", "mail;binary)"),
        ("sync_interval", 5),
    ]:
        with pytest.raises(InvalidSetting) as caught:
            await ldap.put("acme", SourceSettings(**{**good, name: value}), None)  # type: ignore[arg-type]
        assert caught.value.field == name
    with pytest.raises(InvalidValue):
        await ldap.put(
            "acme", SourceSettings(url="ldaps://dir.acme.test", base_dn="dc=acme,dc=test", starttls=True), None
        )
    made = await ldap.put("acme", SourceSettings(**good, sync_interval=3600), "")  # type: ignore[arg-type]
    assert (made.has_password, made.settings.sync_interval, made.settings.id_attr) == (False, 3600, "entryUUID")
    assert (await ldap.delete("acme")).org == "acme"
    with pytest.raises(NoLdapSource):
        await ldap.get("acme")


async def test_tls_is_verified(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    """ldaps:// and StartTLS work with the directory's CA given, and fail without it or for another name."""
    ldap, _base = await _setup(env, slapd, tmp_path)
    settings = _fields((await ldap.get("acme")).settings)
    for url, starttls in ((slapd.ldaps_url, False), (slapd.url, True)):
        await ldap.put(
            "acme", SourceSettings(**{**settings, "url": url, "starttls": starttls, "ca_cert": slapd.ca_pem}), None
        )  # type: ignore[arg-type]
        assert (await ldap.check("acme")).users == 2
        await ldap.put("acme", SourceSettings(**{**settings, "url": url, "starttls": starttls, "ca_cert": None}), None)  # type: ignore[arg-type]
        with pytest.raises(LdapError, match="certificate verify failed"):
            await ldap.check("acme")
    await ldap.put("acme", SourceSettings(**{**settings, "url": slapd.mismatched_url, "ca_cert": slapd.ca_pem}), None)  # type: ignore[arg-type]
    with pytest.raises(LdapError, match="certificate"):
        await ldap.check("acme")
