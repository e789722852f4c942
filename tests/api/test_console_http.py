"""The console over plain HTTP (no browser): sessions, CSRF, scoping, CSV import, security headers."""

from __future__ import annotations

import re
import ssl

import httpx

from tests.api.serverhelp import ROOT_PASSWORD, AdminServer


def login(
    server: AdminServer, name: str, password: str, next_path: str = "/admin/"
) -> tuple[httpx.Client, httpx.Response]:
    browser = httpx.Client(base_url=server.base, follow_redirects=True, timeout=30)
    form = browser.get("/admin/login")
    found = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert found is not None
    answer = browser.post(
        f"/admin/login?next={next_path}", data={"name": name, "password": password, "login_csrf": found.group(1)}
    )
    return browser, answer


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def test_login_form_needs_its_token_and_never_redirects_off_site(admin_server: AdminServer) -> None:
    forged = httpx.post(admin_server.base + "/admin/login", data={"name": "root", "password": ROOT_PASSWORD})
    assert forged.status_code == 403 and "kastell_admin" not in forged.headers.get("set-cookie", "")
    browser, answer = login(admin_server, "root", ROOT_PASSWORD, next_path="//evil.example/")
    assert str(answer.url) == admin_server.base + "/admin/"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "https://" not in answer.text.split("<main")[0]  # nothing loaded from elsewhere


def test_csv_import_reports_each_row(admin_server: AdminServer) -> None:
    browser, dashboard = login(admin_server, "root", ROOT_PASSWORD)
    csrf = csrf_of(dashboard)
    assert browser.post("/admin/domains", data={"name": "csv.test", "csrf": csrf}).status_code == 200
    data = (
        "address,name,password,quota\ncarl@csv.test,Carl,carl-password,1G\nnot-an-address,X,,\ndora@csv.test,Dora,,\n"
    )
    answer = browser.post(
        "/admin/users-import", data={"csrf": csrf}, files={"file": ("users.csv", data.encode(), "text/csv")}
    )
    assert answer.status_code == 200, answer.text
    assert "2 of 3 users created." in answer.text
    assert "invalid address" in answer.text
    with admin_server.client() as api:
        carl = api.get("/users/carl@csv.test").json()
        assert carl["name"] == "Carl" and carl["quota"] == 1024**3
        assert api.get("/users/dora@csv.test").status_code == 200
    refused = browser.post("/admin/users-import", files={"file": ("u.csv", b"eve@csv.test\n", "text/csv")})
    assert refused.status_code == 403


def test_org_admin_console_is_scoped_and_read_only_admin_cannot_post(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        for name, org in (("mine.test", "Mine"), ("theirs.test", "Theirs")):
            api.post("/domains", json={"name": name, "org": org})
        api.post("/users", json={"address": "secret@theirs.test"})
        api.post("/admins", json={"name": "mine", "password": "mine-password", "role": "org", "org": "Mine"})
        api.post("/admins", json={"name": "peek", "password": "peek-password", "read_only": True})
    browser, dashboard = login(admin_server, "mine", "mine-password")
    assert dashboard.status_code == 200
    domains = browser.get("/admin/domains").text
    assert "mine.test" in domains and "theirs.test" not in domains
    assert "secret@theirs.test" not in browser.get("/admin/users").text
    assert browser.get("/admin/users/secret@theirs.test").status_code == 404
    assert browser.get("/admin/domains/theirs.test").status_code == 404
    csrf = csrf_of(dashboard)
    deleted = browser.post("/admin/users/secret@theirs.test/delete", data={"csrf": csrf})
    assert deleted.status_code == 404
    with admin_server.client() as api:
        assert api.get("/users/secret@theirs.test").status_code == 200

    viewer, page = login(admin_server, "peek", "peek-password")
    assert "Add a domain" not in viewer.get("/admin/domains").text
    refused = viewer.post("/admin/domains", data={"name": "peek.test", "csrf": csrf_of(page)})
    assert refused.status_code == 403 and "read-only" in refused.text


def test_wrong_passwords_are_throttled_in_the_console(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        api.post("/admins", json={"name": "guessed", "password": "real-password"})
    statuses = [login(admin_server, "guessed", f"guess-{n}")[1].status_code for n in range(5)]
    assert statuses == [401] * 5
    throttled = login(admin_server, "guessed", "real-password")[1]
    assert throttled.status_code == 429 and "Too many failed attempts" in throttled.text


def test_aliases_bulk_actions_and_groups_in_the_console(admin_server: AdminServer) -> None:
    browser, dashboard = login(admin_server, "root", ROOT_PASSWORD)
    csrf = csrf_of(dashboard)
    browser.post("/admin/domains", data={"name": "bulk.test", "csrf": csrf})
    for name in ("b1", "b2", "b3"):
        assert browser.post("/admin/users", data={"address": f"{name}@bulk.test", "csrf": csrf}).status_code == 200

    added = browser.post("/admin/users/b1@bulk.test/aliases", data={"alias": "first@bulk.test", "csrf": csrf})
    assert "Added alias first@bulk.test" in added.text
    taken = browser.post("/admin/users/b2@bulk.test/aliases", data={"alias": "first@bulk.test", "csrf": csrf})
    assert taken.status_code == 409 and "first@bulk.test" in taken.text
    removed = browser.post("/admin/users/b1@bulk.test/aliases", data={"remove": "first@bulk.test", "csrf": csrf})
    assert "Removed alias first@bulk.test" in removed.text

    bulk = browser.post(
        "/admin/users-bulk",
        data={"bulk": "suspend", "selected": ["b1@bulk.test", "b2@bulk.test"], "csrf": csrf},
    )
    assert bulk.status_code == 200
    with admin_server.client() as api:
        statuses = {
            u["address"]: u["status"] for u in api.get("/users", params={"domain": "bulk.test"}).json()["items"]
        }
    assert statuses == {"b1@bulk.test": "suspended", "b2@bulk.test": "suspended", "b3@bulk.test": "active"}
    browser.post("/admin/users-bulk", data={"bulk": "delete", "selected": ["b3@bulk.test"], "csrf": csrf})
    assert browser.get("/admin/users/b3@bulk.test").status_code == 404

    browser.post("/admin/groups", data={"address": "crew@bulk.test", "name": "Crew", "csrf": csrf})
    browser.post("/admin/groups", data={"group": "crew@bulk.test", "member": "b1@bulk.test", "csrf": csrf})
    assert "b1@bulk.test" in browser.get("/admin/groups").text
    browser.post("/admin/groups", data={"group": "crew@bulk.test", "remove_member": "b1@bulk.test", "csrf": csrf})
    with admin_server.client() as api:
        assert api.get("/groups/crew@bulk.test").json()["members"] == []
    browser.post("/admin/groups", data={"delete": "crew@bulk.test", "csrf": csrf})
    with admin_server.client() as api:
        assert api.get("/groups/crew@bulk.test").status_code == 404


def test_cookies_are_secure_over_https(admin_server: AdminServer) -> None:
    base = f"https://localhost:{admin_server.server.ports['https']}"
    with httpx.Client(
        base_url=base, verify=ssl.create_default_context(cafile=str(admin_server.data / "tls" / "cert.pem")), timeout=30
    ) as browser:
        form = browser.get("/admin/login")
        assert "secure" in form.headers["set-cookie"].lower()
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        answer = browser.post(
            "/admin/login", data={"name": "root", "password": ROOT_PASSWORD, "login_csrf": token.group(1)}
        )
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        for attribute in ("kastell_admin=", "httponly", "samesite=strict", "secure", "path=/admin"):
            assert attribute in cookie, attribute
