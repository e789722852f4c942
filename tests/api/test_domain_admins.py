"""Domain administrators: bound to some domains of an organisation, they see and change only those.

Over the API (lists filtered, other domains' objects 404, domain-level changes
403) and over the console (the same scope through the same ``Actions``).
"""

from __future__ import annotations

import httpx
import pytest

from tests.api.serverhelp import AdminServer, error
from tests.api.test_console_http import csrf_of, login

PASSWORD = "domain-admin-pw"


def token_for(server: AdminServer, name: str, password: str) -> str:
    made = httpx.post(server.base + "/api/v1/tokens", json={"name": "t"}, auth=(name, password))
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


@pytest.fixture(scope="module")
def setup(admin_server: AdminServer) -> dict[str, str]:
    """Organisation Dom with d1.test (and its alias domain d1alias.test) and d2.test; ``dom1`` holds d1.test."""
    with admin_server.client() as api:
        for name in ("d1.test", "d2.test"):
            assert api.post("/domains", json={"name": name, "org": "Dom"}).status_code == 201
        assert api.post("/domains", json={"name": "d1alias.test", "alias_of": "d1.test"}).status_code == 201
        for address in ("una@d1.test", "zoe@d2.test"):
            assert api.post("/users", json={"address": address, "password": "pw-pw-pw-pw"}).status_code == 201
        for address in ("team@d1.test", "team@d2.test"):
            assert api.post("/groups", json={"address": address}).status_code == 201
        assert api.post("/aliases", json={"address": "u@d1.test", "target": "una@d1.test"}).status_code == 201
        assert api.post("/aliases", json={"address": "z@d2.test", "target": "zoe@d2.test"}).status_code == 201
        made = api.post(
            "/admins", json={"name": "dom1", "password": PASSWORD, "role": "domain", "domains": ["d1.test"]}
        )
        assert made.status_code == 201, made.text
        assert made.json()["domains"] == ["d1.test"] and made.json()["org_id"] is not None
        zoe = api.get("/users/zoe@d2.test").json()
    return {"token": token_for(admin_server, "dom1", PASSWORD), "zoe_id": str(zoe["id"])}


def test_domain_admin_lists_only_its_domains(admin_server: AdminServer, setup: dict[str, str]) -> None:
    with admin_server.client(setup["token"]) as api:
        assert sorted(d["name"] for d in api.get("/domains").json()["items"]) == ["d1.test", "d1alias.test"]
        assert [u["address"] for u in api.get("/users").json()["items"]] == ["una@d1.test"]
        assert [g["address"] for g in api.get("/groups").json()["items"]] == ["team@d1.test"]
        assert [a["address"] for a in api.get("/aliases").json()["items"]] == ["u@d1.test"]
        assert [d["domain"] for d in api.get("/stats/storage/domains").json()] == ["d1.test"]
        assert [u["address"] for u in api.get("/stats/storage/users").json()] == ["una@d1.test"]
        summary = api.get("/stats/summary").json()
        assert summary["accounts"] == 1 and summary["groups"] == 1
        me = api.get("/me").json()
        assert me["role"] == "domain" and me["domains"] == ["d1.test"]
        assert [a["name"] for a in api.get("/admins").json()["items"]] == ["dom1"]
        assert api.get("/domains/d1.test/dns").status_code == 200


@pytest.mark.parametrize("ref", ["zoe@d2.test", "zoe_id"])
def test_domain_admin_cannot_reach_another_domains_user(
    admin_server: AdminServer, setup: dict[str, str], ref: str
) -> None:
    ref = setup.get(ref, ref)
    with admin_server.client(setup["token"]) as api:
        error(api.get(f"/users/{ref}"), 404, "not_found")
        error(api.patch(f"/users/{ref}", json={"name": "hacked"}), 404, "not_found")
        error(api.post(f"/users/{ref}/password", json={"password": "taken-over"}), 404, "not_found")
        error(api.delete(f"/users/{ref}"), 404, "not_found")
        error(api.get(f"/users/{ref}/aliases"), 404, "not_found")
    with admin_server.client() as root:
        zoe = root.get("/users/zoe@d2.test").json()
        assert zoe["name"] == "" and zoe["status"] == "active"


def test_domain_admin_cannot_touch_other_domains(admin_server: AdminServer, setup: dict[str, str]) -> None:
    with admin_server.client(setup["token"]) as api:
        error(api.get("/domains/d2.test"), 404, "not_found")
        error(api.get("/domains/d2.test/dns"), 404, "not_found")
        error(api.post("/domains/d2.test/dkim"), 404, "not_found")
        error(api.patch("/domains/d2.test", json={"catchall": "una@d1.test"}), 404, "not_found")
        error(api.get("/users", params={"domain": "d2.test"}), 404, "not_found")
        error(api.get("/groups/team@d2.test"), 404, "not_found")
        error(api.delete("/groups/team@d2.test"), 404, "not_found")
        error(api.delete("/aliases/z@d2.test"), 404, "not_found")
        error(api.post("/users", json={"address": "new@d2.test"}), 422, "invalid", "address")
        error(api.post("/groups", json={"address": "g@d2.test"}), 422, "invalid", "address")
        error(api.post("/aliases", json={"address": "x@d2.test", "target": "una@d1.test"}), 422, "invalid", "address")
        error(api.post("/aliases", json={"address": "x@d1.test", "target": "zoe@d2.test"}), 422, "invalid", "target")
        # Domains themselves are the organisation's business.
        error(api.post("/domains", json={"name": "d3.test"}), 403, "forbidden")
        error(api.delete("/domains/d1.test"), 403, "forbidden")
        # Within its domain it works.
        made = api.post("/users", json={"address": "neu@d1.test", "password": "pw-pw-pw-pw"})
        assert made.status_code == 201, made.text
        assert api.delete("/users/neu@d1.test").status_code == 204
        assert api.post("/domains/d1.test/dkim").status_code == 200
    with admin_server.client() as root:
        assert root.get("/groups/team@d2.test").status_code == 200
        assert root.get("/aliases", params={"domain": "d2.test"}).json()["total"] == 1


def test_domain_admins_are_made_with_domains_of_one_organisation(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        assert api.post("/domains", json={"name": "other-org.test", "org": "Elsewhere"}).status_code == 201
        body = {"name": "x1", "password": PASSWORD, "role": "domain"}
        error(api.post("/admins", json=body), 422, "invalid", "domains")
        error(api.post("/admins", json=body | {"domains": ["nowhere.test"]}), 404, "not_found")
        error(api.post("/admins", json=body | {"domains": ["d1.test", "other-org.test"]}), 422, "invalid", "domains")
        error(api.post("/admins", json=body | {"domains": ["d1alias.test"]}), 422, "invalid", "domains")
        error(api.post("/admins", json=body | {"role": "org", "org": "Dom", "domains": ["d1.test"]}), 422, "invalid")


def test_changing_a_domain_admins_domains_applies_at_once(admin_server: AdminServer, setup: dict[str, str]) -> None:
    with admin_server.client() as root:
        made = root.post(
            "/admins", json={"name": "dom-move", "password": PASSWORD, "role": "domain", "domains": ["d1.test"]}
        )
        assert made.status_code == 201, made.text
        token = token_for(admin_server, "dom-move", PASSWORD)
        with admin_server.client(token) as api:
            error(api.get("/users/zoe@d2.test"), 404, "not_found")
            changed = root.put("/admins/dom-move/domains", json={"domains": ["d2.test"]})
            assert changed.status_code == 200, changed.text
            assert changed.json()["domains"] == ["d2.test"]
            assert api.get("/users/zoe@d2.test").status_code == 200
            error(api.get("/users/una@d1.test"), 404, "not_found")
            error(api.put("/admins/dom-move/domains", json={"domains": ["d1.test"]}), 403, "forbidden")
        error(root.put("/admins/root/domains", json={"domains": ["d1.test"]}), 422, "invalid", "domains")


def test_domain_admin_console_is_scoped(admin_server: AdminServer, setup: dict[str, str]) -> None:
    browser, dashboard = login(admin_server, "dom1", PASSWORD)
    assert dashboard.status_code == 200
    domains = browser.get("/admin/domains").text
    assert "d1.test" in domains and "d2.test" not in domains
    users = browser.get("/admin/users").text
    assert "una@d1.test" in users and "zoe@d2.test" not in users
    assert "team@d2.test" not in browser.get("/admin/groups").text
    assert browser.get("/admin/users/zoe@d2.test").status_code == 404
    assert browser.get("/admin/domains/d2.test").status_code == 404
    csrf = csrf_of(dashboard)
    assert browser.post("/admin/users/zoe@d2.test/delete", data={"csrf": csrf}).status_code == 404
    assert browser.post("/admin/domains/d1.test/delete", data={"csrf": csrf}).status_code == 403
    with admin_server.client() as api:
        assert api.get("/users/zoe@d2.test").status_code == 200
        assert api.get("/domains/d1.test").status_code == 200
