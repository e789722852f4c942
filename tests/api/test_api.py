"""The admin REST API against a real ``kastell serve``: CRUD, errors, paging, tokens, audit, metrics."""

from __future__ import annotations

import time

import httpx
import pytest
from openapi_spec_validator import validate

from tests.api.serverhelp import ROOT_PASSWORD, AdminServer, error


def test_openapi_document_is_valid(admin_server: AdminServer) -> None:
    document = httpx.get(admin_server.base + "/api/v1/openapi.json").json()
    validate(document)
    assert document["servers"] == [{"url": "/api/v1"}]
    for path in ("/users", "/users/{ref}", "/domains", "/groups", "/tokens", "/audit", "/health", "/stats/summary"):
        assert path in document["paths"], path


def test_authentication_is_required_and_checked(admin_server: AdminServer) -> None:
    base = admin_server.base + "/api/v1"
    error(httpx.get(base + "/users"), 401, "unauthorised")
    error(httpx.get(base + "/users", headers={"Authorization": "Bearer kst_nonsense"}), 401, "unauthorised")
    error(httpx.get(base + "/users", headers={"Authorization": "Basic !!!"}), 401, "unauthorised")
    answer = httpx.get(base + "/users", auth=("root", "wrong"))
    error(answer, 401, "unauthorised")
    assert "Basic" in answer.headers["www-authenticate"]
    assert httpx.get(base + "/me", auth=("root", ROOT_PASSWORD)).json()["name"] == "root"


def test_failed_logins_are_throttled_with_retry_after(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        assert api.post("/admins", json={"name": "victim", "password": "right-password"}).status_code == 201
    base = admin_server.base + "/api/v1"
    statuses = [httpx.get(base + "/me", auth=("victim", f"guess{n}")).status_code for n in range(6)]
    assert statuses[:5] == [401] * 5
    throttled = httpx.get(base + "/me", auth=("victim", "right-password"))
    error(throttled, 429, "throttled")
    assert int(throttled.headers["retry-after"]) > 0
    # Tokens never go through the password throttle.
    with admin_server.client() as api:
        assert api.get("/me").status_code == 200


def test_domain_user_alias_group_lifecycle(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        made = api.post("/domains", json={"name": "Life.Test", "org": "Life"})
        assert made.status_code == 201, made.text
        assert made.json()["name"] == "life.test" and made.json()["org"] == "Life"
        error(api.post("/domains", json={"name": "life.test"}), 409, "conflict")
        assert api.post("/domains", json={"name": "alias.life.test", "alias_of": "life.test"}).status_code == 201
        records = api.get("/domains/life.test/dns").json()["records"]
        assert {"MX", "TXT", "SRV", "CNAME"} <= {r["type"] for r in records}
        assert any(r["name"] == "_dmarc.life.test" for r in records)
        dkim = api.post("/domains/life.test/dkim").json()["records"]
        assert any("._domainkey.life.test" in r["name"] and r["value"].startswith("v=DKIM1") for r in dkim)

        user = api.post(
            "/users",
            json={"address": "Ann@Life.Test", "password": "ann-password", "name": "Ann", "quota": 1000000},
        )
        assert user.status_code == 201, user.text
        ann = user.json()
        assert ann["address"] == "ann@life.test" and ann["password"] is None and ann["quota"] == 1000000
        generated = api.post("/users", json={"address": "bob@life.test"}).json()
        assert len(generated["password"]) >= 16
        error(api.post("/users", json={"address": "ann@life.test", "password": "x"}), 409, "conflict")

        got = api.get(f"/users/{ann['id']}").json()
        assert got["address"] == "ann@life.test" and got["aliases"] == [] and got["bytes_used"] == 0
        changed = api.patch(
            "/users/ann@life.test",
            json={"name": "Ann B.", "quota": 0, "status": "suspended", "permissions": ["imap", "smtp"]},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == "suspended" and changed.json()["permissions"] == ["imap", "smtp"]

        assert api.post("/users/ann@life.test/aliases", json={"address": "a@alias.life.test"}).status_code == 201
        assert api.post("/aliases", json={"address": "anna@life.test", "target": "ann@life.test"}).status_code == 201
        assert [a["address"] for a in api.get("/users/ann@life.test/aliases").json()] == [
            "a@alias.life.test",
            "anna@life.test",
        ]
        error(
            api.post("/aliases", json={"address": "x@life.test", "target": "nobody@life.test"}),
            422,
            "invalid",
            "target",
        )

        assert api.post("/groups", json={"address": "team@life.test", "name": "Team"}).status_code == 201
        assert api.post("/groups/team@life.test/members", json={"address": "ann@life.test"}).status_code == 201
        group = api.post("/groups/team@life.test/members", json={"address": "someone@elsewhere.example"}).json()
        assert group["members"] == ["ann@life.test", "someone@elsewhere.example"]
        error(api.post("/groups/team@life.test/members", json={"address": "ann@life.test"}), 409, "conflict")
        assert api.delete("/groups/team@life.test/members/someone@elsewhere.example").json()["members"] == [
            "ann@life.test"
        ]

        message = error(api.delete("/domains/life.test"), 409, "in_use")
        assert "account" in message
        assert api.delete("/aliases/anna@life.test").status_code == 204
        error(api.delete("/aliases/anna@life.test"), 404, "not_found")
        assert api.delete("/groups/team@life.test").status_code == 204
        for address in ("ann@life.test", "bob@life.test"):
            assert api.delete(f"/users/{address}").status_code == 204
        error(api.get("/users/ann@life.test"), 404, "not_found")
        assert api.delete("/domains/alias.life.test").status_code == 204
        assert api.delete("/domains/life.test").status_code == 204
        error(api.get("/domains/life.test"), 404, "not_found")


def test_validation_errors_name_the_field(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        api.post("/domains", json={"name": "valid.test"})
        error(api.post("/domains", json={"name": "not a domain"}), 422, "invalid", "name")
        error(api.post("/users", json={"address": "no-at-sign"}), 422, "invalid", "address")
        error(api.post("/users", json={"address": "x@valid.test", "quota": -1}), 422, "invalid", "quota")
        error(api.post("/users", json={"address": "x@valid.test", "kind": "robot"}), 422, "invalid", "kind")
        error(api.post("/users", json={"address": "x@valid.test", "language": "no spaces"}), 422, "invalid", "language")
        error(
            api.post("/users", json={"address": "x@valid.test", "permissions": ["telnet"]}),
            422,
            "invalid",
            "permissions.0",
        )
        error(api.post("/users", json={"address": "x@valid.test", "quot": 1}), 422, "invalid", "quot")
        error(api.post("/users", json={"address": "x@unknown.test"}), 422, "invalid", "address")
        error(api.post("/users", content=b"{not json", headers={"content-type": "application/json"}), 422, "invalid")
        error(api.get("/users", params={"limit": 0}), 422, "invalid", "limit")
        error(api.get("/users", params={"sort": "shoe-size"}), 422, "invalid", "sort")
        error(api.patch("/users/nobody@valid.test", json={"name": "x"}), 404, "not_found")
        assert api.post("/users", json={"address": "v@valid.test"}).status_code == 201
        error(api.patch("/users/v@valid.test", json={"status": "asleep"}), 422, "invalid", "status")
        error(api.patch("/users/v@valid.test", json={"quota": None}), 422, "invalid", "quota")
        error(api.post("/users/v@valid.test/password", json={"password": "a\x00b"}), 422, "invalid", "password")
        error(api.post("/tokens", json={"name": "old", "expires": 1000}), 422, "invalid", "expires")


def test_pagination_filtering_and_sorting(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        api.post("/domains", json={"name": "page.test"})
        for n in range(7):
            made = api.post(
                "/users", json={"address": f"u{n}@page.test", "name": f"User {6 - n}", "password": "pw-pw-pw"}
            )
            assert made.status_code == 201
        first = api.get("/users", params={"domain": "page.test", "limit": 3}).json()
        assert [u["address"] for u in first["items"]] == ["u0@page.test", "u1@page.test", "u2@page.test"]
        assert first["total"] == 7 and first["next_offset"] == 3
        last = api.get("/users", params={"domain": "page.test", "limit": 3, "offset": 6}).json()
        assert [u["address"] for u in last["items"]] == ["u6@page.test"] and last["next_offset"] is None
        by_name = api.get("/users", params={"domain": "page.test", "sort": "name", "limit": 2}).json()
        assert [u["name"] for u in by_name["items"]] == ["User 0", "User 1"]
        reverse = api.get("/users", params={"domain": "page.test", "sort": "-address", "limit": 1}).json()
        assert reverse["items"][0]["address"] == "u6@page.test"
        assert api.get("/users", params={"q": "user 3"}).json()["total"] == 1
        api.patch("/users/u4@page.test", json={"status": "disabled"})
        disabled = api.get("/users", params={"status": "disabled"}).json()["items"]
        assert [u["address"] for u in disabled] == ["u4@page.test"]
        domains = api.get("/domains", params={"q": "page"}).json()
        assert [d["name"] for d in domains["items"]] == ["page.test"]
        storage = api.get("/stats/storage/domains").json()
        assert any(row["domain"] == "page.test" and row["accounts"] == 7 for row in storage)
        assert api.get("/stats/summary").json()["accounts"] >= 7


def test_token_lifecycle(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        made = api.post("/tokens", json={"name": "backup script", "expires": int(time.time()) + 3600})
        assert made.status_code == 201
        token = made.json()
        assert token["secret"].startswith("kst_")
        listed = api.get("/tokens").json()
        assert any(t["id"] == token["id"] for t in listed)
        assert all("secret" not in t for t in listed)
    with admin_server.client(token["secret"]) as script:
        assert script.get("/me").json()["name"] == "root"
        assert script.delete(f"/tokens/{token['id']}").status_code == 204
        error(script.get("/me"), 401, "unauthorised")
    with admin_server.client() as api:
        error(api.delete(f"/tokens/{token['id']}"), 404, "not_found")


def test_audit_log_records_changes_without_secrets(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        api.post("/domains", json={"name": "audit.test"})
        api.post("/users", json={"address": "eve@audit.test", "password": "very-secret-pw"})
        api.post("/users/eve@audit.test/password", json={"password": "another-secret"})
        entries = api.get("/audit", params={"action": "user."}).json()["items"]
        mine = [e for e in entries if e["target"] == "eve@audit.test"]
        assert [e["action"] for e in mine] == ["user.password", "user.create"]
        assert all(e["actor"] == "root" and e["client"] == "127.0.0.1" for e in mine)
        assert "secret" not in str(entries)
        page = api.get("/audit", params={"limit": 1}).json()
        assert len(page["items"]) == 1 and page["next_cursor"] is not None
        older = api.get("/audit", params={"limit": 1, "cursor": page["next_cursor"]}).json()
        assert older["items"][0]["id"] < page["items"][0]["id"]
        assert api.get("/audit", params={"actor": "nobody"}).json()["items"] == []


def test_password_reset_lets_the_user_log_in(admin_server: AdminServer) -> None:
    """Reset over the API, then the new password works at the authenticator (HTTP Basic on /dav)."""
    with admin_server.client() as api:
        api.post("/domains", json={"name": "reset.test"})
        api.post("/users", json={"address": "rita@reset.test", "password": "first-password"})
        new = api.post("/users/rita@reset.test/password", json={}).json()["password"]
    dav = admin_server.base + "/dav/"
    assert httpx.request("PROPFIND", dav, auth=("rita@reset.test", new), headers={"Depth": "0"}).status_code == 207
    old = httpx.request("PROPFIND", dav, auth=("rita@reset.test", "first-password"), headers={"Depth": "0"})
    assert old.status_code == 401


def test_health_metrics_and_liveness(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        health = api.get("/health").json()
    assert health["status"] == "ok" and health["version"]
    assert health["listeners"]["http"]["status"] == "listening"
    assert health["listeners"]["imap"]["status"] == "off"
    assert 0 <= health["disk"]["percent"] <= 100 and health["memory"]["total"] > 0
    live = httpx.get(admin_server.base + "/healthz")
    assert live.status_code == 200 and live.json()["database"] == "ok"
    text = httpx.get(admin_server.base + "/metrics").text
    for name in (
        "kastell_store_bytes",
        "kastell_directory_objects",
        "kastell_http_requests_total",
        "kastell_audit_events_total",
    ):
        assert name in text, name


@pytest.mark.parametrize("path", ["/users/1", "/domains/x.test", "/audit", "/health"])
def test_every_route_refuses_anonymous_callers(admin_server: AdminServer, path: str) -> None:
    error(httpx.get(admin_server.base + "/api/v1" + path), 401, "unauthorised")


def test_dns_check_answers_a_status_per_record(admin_server: AdminServer) -> None:
    """Against whatever resolver the machine has (none, offline): every record gets a status, nothing fails."""
    with admin_server.client() as api:
        api.post("/domains", json={"name": "dnscheck.test"})
        answer = api.get("/domains/dnscheck.test/dns", params={"check": "true"})
    assert answer.status_code == 200, answer.text
    statuses = {r["status"] for r in answer.json()["records"]}
    assert statuses <= {"ok", "missing", "different", "unknown", "unchecked"}
    assert "unchecked" in statuses


@pytest.mark.parametrize("ref", ["²", "1" * 40, "-1", "0x10"])
def test_odd_user_references_are_not_found(admin_server: AdminServer, ref: str) -> None:
    """Found by schemathesis: "²".isdigit() is true in Python, and int() of it fails."""
    with admin_server.client() as api:
        error(api.get(f"/users/{ref}"), 404, "not_found")
        error(api.get(f"/users/{ref}/aliases"), 404, "not_found")
        error(api.delete("/tokens/" + "9" * 30), 422, "invalid", "token_id")


def test_admin_creation_errors_name_the_field(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        error(api.post("/admins", json={"name": "o1", "password": "pw-pw-pw", "role": "org"}), 422, "invalid", "org")
        error(
            api.post("/admins", json={"name": "o2", "password": "pw", "role": "org", "org": "Nope"}), 404, "not_found"
        )
        error(api.post("/admins", json={"name": "has space", "password": "pw-pw-pw"}), 422, "invalid", "name")
        error(api.post("/admins", json={"name": "nul", "password": "a\x00b"}), 422, "invalid", "password")
        error(api.post("/admins", json={"name": "root", "password": "pw-pw-pw"}), 409, "conflict")
        error(api.delete("/admins/root"), 409, "conflict")  # not itself
