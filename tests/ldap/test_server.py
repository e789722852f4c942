"""LDAP end to end: ``kastell ldap`` commands, the API, and an IMAP login passed through to slapd.

One running ``kastell serve`` (http and imap) for the module, with organisations
"acme" (acme.test, its source on the private slapd) and "other" (other.test,
with an org administrator of its own).
"""

from __future__ import annotations

import imaplib
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.api.serverhelp import ROOT_PASSWORD, AdminServer, error, start
from tests.peers import Slapd
from tests.process.harness import kastell

ALICE_PASSWORD = "alice-directory-pw"
OTHER_ADMIN_PASSWORD = "other-admin-passphrase"


@dataclass
class World:
    server: AdminServer
    base: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, slapd: Slapd) -> Iterator[World]:
    base = slapd.new_tree()
    alice = slapd.add_person(base, "alice", "alice@acme.test", "Alice Liddell", ALICE_PASSWORD)
    bob = slapd.add_person(base, "bob", "bob@acme.test", "Bob Builder", "bob-directory-pw")
    slapd.add_group(base, "staff", [alice, bob])
    running = start(tmp_path_factory.mktemp("ldap"), services=("http", "imap"))
    try:
        for domain, org in (("acme.test", "acme"), ("other.test", "other")):
            made = kastell(running.data, "domain", "add", domain, "--org", org)
            assert made.returncode == 0, made.stderr
        made = kastell(running.data, "admin", "add", "otheradmin", "--role", "org", "--org", "other",
                       "--password-stdin", stdin=OTHER_ADMIN_PASSWORD + "\n")  # fmt: skip
        assert made.returncode == 0, made.stderr
        yield World(running, base)
    finally:
        code, _ = running.server.stop()
        assert code == 0, running.server.log.read_text()[-4000:]


def _cli(world: World, *args: str, stdin: str | None = None) -> str:
    done = kastell(world.server.data, "ldap", *args, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_set_show_check_search_sync(world: World, slapd: Slapd) -> None:
    _cli(world, "set", "acme", "--url", slapd.url, "--bind-dn", slapd.root_dn, "--password-stdin",
         "--base", world.base, stdin=slapd.root_password + "\n")  # fmt: skip
    shown = _cli(world, "show", "acme")
    assert world.base in shown and "password set" in shown and slapd.root_password not in shown
    as_json = json.loads(_cli(world, "show", "acme", "--json"))
    assert as_json["has_password"] is True and slapd.root_password not in json.dumps(as_json)
    assert as_json["group_filter"] == "(objectClass=groupOfNames)" and as_json["sync_interval"] == 0
    assert _cli(world, "check", "acme").strip() == "bind ok: 2 users, 1 groups"
    assert "alice@acme.test\tAlice Liddell\tuid=alice," in _cli(world, "search", "acme", "lidd")
    counts = json.loads(_cli(world, "sync", "acme", "--json"))
    assert (counts["created"], counts["groups_created"], counts["members_added"]) == (2, 1, 2)
    assert "created 0" in _cli(world, "sync", "acme")  # idempotent
    # Options not given keep their values; the password too.
    _cli(world, "set", "acme", "--interval", "3600")
    as_json = json.loads(_cli(world, "show", "acme", "--json"))
    assert (as_json["sync_interval"], as_json["has_password"], as_json["base_dn"]) == (3600, True, world.base)
    failed = kastell(world.server.data, "ldap", "set", "acme", "--filter", "objectClass=person")
    assert failed.returncode == 1 and "user_filter" in failed.stderr
    failed = kastell(world.server.data, "ldap", "show", "other")
    assert failed.returncode == 1 and "no LDAP source" in failed.stderr
    users = kastell(world.server.data, "user", "list", "acme.test")
    assert "alice@acme.test" in users.stdout and "bob@acme.test" in users.stdout


def test_imap_login_with_the_directory_password(world: World, slapd: Slapd) -> None:
    _cli(world, "set", "acme", "--url", slapd.url, "--bind-dn", slapd.root_dn, "--password-stdin",
         "--base", world.base, stdin=slapd.root_password + "\n")  # fmt: skip
    _cli(world, "sync", "acme")
    port = world.server.server.ports["imap"]
    with imaplib.IMAP4("127.0.0.1", port) as imap:
        assert imap.login("alice@acme.test", ALICE_PASSWORD)[0] == "OK"
        assert imap.select("INBOX")[0] == "OK"
    for wrong in ("not-her-password", ""):
        with imaplib.IMAP4("127.0.0.1", port) as imap, pytest.raises(imaplib.IMAP4.error):
            imap.login("alice@acme.test", wrong)


def test_api_source_scoping_and_no_password_anywhere(world: World, slapd: Slapd) -> None:
    body = {"url": slapd.url, "bind_dn": slapd.root_dn, "bind_password": slapd.root_password, "base_dn": world.base}
    with world.server.client() as api:
        put = api.put("/organisations/acme/ldap", json=body)
        assert put.status_code == 200, put.text
        assert put.json()["has_password"] is True and "bind_password" not in put.json()
        got = api.get("/organisations/acme/ldap")
        assert got.status_code == 200 and got.json()["base_dn"] == world.base
        check = api.post("/organisations/acme/ldap/check")
        assert check.json() == {"ok": True, "users": 2, "groups": 1, "error": None}
        search = api.get("/organisations/acme/ldap/search", params={"q": "bob"})
        assert [e["mail"] for e in search.json()] == ["bob@acme.test"]
        sync = api.post("/organisations/acme/ldap/sync")
        assert sync.status_code == 200, sync.text
        assert sync.json()["users"] == 2
        # Invalid settings name the field; the stored password stays when none is sent.
        bad = api.put("/organisations/acme/ldap", json={**body, "user_filter": "uid=x"})
        error(bad, 422, "invalid", "user_filter")
        kept = api.put("/organisations/acme/ldap", json={"url": slapd.url, "bind_dn": slapd.root_dn,
                                                          "base_dn": world.base, "sync_interval": 600})  # fmt: skip
        assert kept.json()["has_password"] is True and kept.json()["sync_interval"] == 600
        assert api.post("/organisations/acme/ldap/check").json()["ok"] is True
        # A source that cannot be used: check says so, sync is a 409 with the reason.
        broken = api.put("/organisations/acme/ldap", json={**body, "bind_password": "wrong"})
        assert broken.status_code == 200
        failed = api.post("/organisations/acme/ldap/check").json()
        assert failed["ok"] is False and "refused" in failed["error"]
        error(api.post("/organisations/acme/ldap/sync"), 409, "ldap_failed")
        assert "refused" in api.get("/organisations/acme/ldap").json()["last_error"]
        api.put("/organisations/acme/ldap", json=body)
        audit = api.get("/audit", params={"limit": 100}).text
        assert "ldap.set" in audit and "ldap.sync" in audit
        error(api.get("/organisations/nowhere/ldap"), 404, "not_found")
        error(api.get("/organisations/other/ldap"), 404, "not_found")  # an organisation without a source

    # Another organisation's administrator sees nothing of acme's source.
    with world.server.client(token=_token(world, "otheradmin", OTHER_ADMIN_PASSWORD)) as other:
        error(other.get("/organisations/acme/ldap"), 404, "not_found")
        error(other.put("/organisations/acme/ldap", json=body), 404, "not_found")
        error(other.post("/organisations/acme/ldap/sync"), 404, "not_found")
        error(other.delete("/organisations/acme/ldap"), 404, "not_found")
        # ... but may give its own organisation one.
        own = other.put("/organisations/other/ldap", json={**body, "base_dn": world.base})
        assert own.status_code == 200, own.text
        assert other.delete("/organisations/other/ldap").status_code == 204

    with world.server.client() as api:
        assert api.delete("/organisations/acme/ldap").status_code == 204
        error(api.get("/organisations/acme/ldap"), 404, "not_found")
        everything = api.get("/audit", params={"limit": 1000}).text
    assert slapd.root_password not in everything
    assert slapd.root_password not in world.server.server.log.read_text()
    # The accounts stay after the source is gone.
    with world.server.client() as api:
        assert api.get("/users/alice@acme.test").status_code == 200


def _token(world: World, name: str, password: str) -> str:
    import httpx

    answer = httpx.post(world.server.base + "/api/v1/tokens", json={"name": "ldap-test"}, auth=(name, password),
                        timeout=30)  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


def test_console_page(world: World, slapd: Slapd) -> None:
    from tests.api.test_console_http import csrf_of, login

    browser, _ = login(world.server, "root", ROOT_PASSWORD)
    page = browser.get("/admin/ldap?org=acme")
    assert page.status_code == 200 and "Source of acme" in page.text
    form = {
        "csrf": csrf_of(page), "org": "acme", "action": "save", "url": slapd.url, "bind_dn": slapd.root_dn,
        "bind_password": slapd.root_password, "base_dn": world.base, "sync_interval": "0", "enabled": "on",
        "group_filter": "(objectClass=groupOfNames)",
    }  # fmt: skip
    saved = browser.post("/admin/ldap", data=form, follow_redirects=True)
    assert saved.status_code == 200 and "Saved." in saved.text
    assert slapd.root_password not in saved.text and "leave empty to keep" in saved.text
    checked = browser.post("/admin/ldap", data={**form, "action": "check", "bind_password": ""})
    assert "Bind ok: 2 users, 1 groups." in checked.text
    synced = browser.post("/admin/ldap", data={**form, "action": "sync"})
    assert synced.status_code == 200 and "Synced:" in synced.text
    bad = browser.post("/admin/ldap", data={**form, "user_filter": "nonsense"})
    assert bad.status_code == 422 and "user_filter" in bad.text
    # The other organisation's administrator cannot reach acme's source.
    other, _ = login(world.server, "otheradmin", OTHER_ADMIN_PASSWORD)
    page = other.get("/admin/ldap")
    assert "acme" not in page.text
    refused = other.post("/admin/ldap", data={**form, "csrf": csrf_of(page)})
    assert refused.status_code == 404
    assert slapd.root_password not in world.server.server.log.read_text()
