"""Logins of LDAP-sourced accounts are passed through to the directory; local accounts are untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from kastell.directory import Authenticator, AuthFailed, AuthThrottled
from kastell.directory.ldap import Ldap, SourceSettings
from tests.peers import Slapd
from tests.unit.directoryhelp import Env

pytestmark = pytest.mark.anyio


async def _synced(env: Env, slapd: Slapd, tmp_path: Path) -> tuple[Ldap, str]:
    base = slapd.new_tree()
    slapd.add_person(base, "alice", "alice@acme.test", "Alice", "alice-ldap-pw")
    await env.directory.add_domain("acme.test", org="acme")
    await env.directory.add_user("local@acme.test", "local-password")
    ldap = Ldap(env.db, env.directory, tmp_path)
    await ldap.put("acme", SourceSettings(url=slapd.url, base_dn=base, bind_dn=slapd.root_dn), slapd.root_password)
    await ldap.sync("acme")
    return ldap, base


def _auth(env: Env, **options: int) -> Authenticator:
    return Authenticator(env.directory, failure_delay=0, **options)  # type: ignore[arg-type]


async def test_ldap_password_and_nothing_else(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    await _synced(env, slapd, tmp_path)
    auth = _auth(env)
    account = await auth.authenticate("alice@acme.test", "alice-ldap-pw", client_ip="192.0.2.1", protocol="imap")
    assert account.address == "alice@acme.test"
    for wrong in ("wrong", "", "alice-ldap-pw ", "x" * 5000):
        with pytest.raises(AuthFailed) as caught:
            await auth.authenticate("alice@acme.test", wrong, client_ip="192.0.2.1", protocol="imap")
        assert caught.value.reason == "bad-password"
    # A local password set later does not open an LDAP account: the directory decides.
    await env.directory.set_password("alice@acme.test", "a-local-password")
    with pytest.raises(AuthFailed):
        await auth.authenticate("alice@acme.test", "a-local-password", client_ip=None, protocol="imap")
    # Local accounts keep their own password.
    assert await auth.authenticate("local@acme.test", "local-password", client_ip=None, protocol="imap")


async def test_status_permissions_and_throttle_still_apply(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    await _synced(env, slapd, tmp_path)
    await env.directory.set_permissions("alice@acme.test", 0)
    with pytest.raises(AuthFailed) as caught:
        await _auth(env).authenticate("alice@acme.test", "alice-ldap-pw", client_ip=None, protocol="imap")
    assert caught.value.reason == "not-permitted"
    await env.directory.set_permissions("alice@acme.test", _all())
    await env.directory.set_status("alice@acme.test", "suspended")
    with pytest.raises(AuthFailed) as caught:
        await _auth(env).authenticate("alice@acme.test", "alice-ldap-pw", client_ip=None, protocol="imap")
    assert caught.value.reason == "suspended"
    await env.directory.set_status("alice@acme.test", "active")
    auth = _auth(env, account_failures=2)
    for _ in range(2):
        with pytest.raises(AuthFailed):
            await auth.authenticate("alice@acme.test", "guess", client_ip=None, protocol="imap")
    with pytest.raises(AuthThrottled):  # refused before the directory is asked
        await auth.authenticate("alice@acme.test", "alice-ldap-pw", client_ip=None, protocol="imap")


def _all() -> int:
    from kastell.directory import Permission

    return int(Permission.ALL)


async def test_unreachable_directory_is_a_failed_login(env: Env, slapd: Slapd, tmp_path: Path) -> None:
    ldap, base = await _synced(env, slapd, tmp_path)
    source = await ldap.get("acme")
    fields = {name: getattr(source.settings, name) for name in SourceSettings.__dataclass_fields__}
    await ldap.put("acme", SourceSettings(**{**fields, "url": "ldap://127.0.0.1:1"}), None)  # type: ignore[arg-type]
    with pytest.raises(AuthFailed) as caught:
        await _auth(env).authenticate("alice@acme.test", "alice-ldap-pw", client_ip=None, protocol="imap")
    assert caught.value.reason == "ldap-unavailable"
