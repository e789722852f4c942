"""Roles: an organisation admin sees and changes only its organisation; read-only admins only read."""

from __future__ import annotations

import httpx
import pytest

from tests.api.serverhelp import AdminServer, error


def token_for(server: AdminServer, name: str, password: str) -> str:
    made = httpx.post(server.base + "/api/v1/tokens", json={"name": "t"}, auth=(name, password))
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


@pytest.fixture(scope="module")
def tenants(admin_server: AdminServer) -> dict[str, str]:
    """Two organisations with a user each; an org admin of A, a read-only one of A; their tokens."""
    with admin_server.client() as api:
        for name, org in (("a.test", "OrgA"), ("b.test", "OrgB")):
            assert api.post("/domains", json={"name": name, "org": org}).status_code == 201
        for address in ("alice@a.test", "bert@b.test"):
            assert api.post("/users", json={"address": address, "password": "pw-pw-pw-pw"}).status_code == 201
        assert api.post("/groups", json={"address": "list@b.test"}).status_code == 201
        for name, read_only in (("orga", False), ("orga-ro", True)):
            made = api.post(
                "/admins",
                json={"name": name, "password": "admin-pw-123", "role": "org", "org": "OrgA", "read_only": read_only},
            )
            assert made.status_code == 201, made.text
        bert = api.get("/users/bert@b.test").json()
    return {
        "org": token_for(admin_server, "orga", "admin-pw-123"),
        "ro": token_for(admin_server, "orga-ro", "admin-pw-123"),
        "bert_id": str(bert["id"]),
    }


def test_org_admin_sees_only_its_organisation(admin_server: AdminServer, tenants: dict[str, str]) -> None:
    with admin_server.client(tenants["org"]) as api:
        assert [d["name"] for d in api.get("/domains").json()["items"]] == ["a.test"]
        assert [u["address"] for u in api.get("/users").json()["items"]] == ["alice@a.test"]
        assert [o["name"] for o in api.get("/organisations").json()["items"]] == ["OrgA"]
        assert api.get("/groups").json()["items"] == []
        assert api.get("/users/alice@a.test").status_code == 200
        summary = api.get("/stats/summary").json()
        assert summary["domains"] == 1 and summary["accounts"] == 1


@pytest.mark.parametrize("ref", ["bert@b.test", "bert_id"])
def test_org_admin_cannot_read_or_change_another_orgs_user(
    admin_server: AdminServer, tenants: dict[str, str], ref: str
) -> None:
    ref = tenants.get(ref, ref)
    with admin_server.client(tenants["org"]) as api:
        error(api.get(f"/users/{ref}"), 404, "not_found")
        error(api.patch(f"/users/{ref}", json={"name": "hacked"}), 404, "not_found")
        error(api.post(f"/users/{ref}/password", json={"password": "taken-over"}), 404, "not_found")
        error(api.delete(f"/users/{ref}"), 404, "not_found")
        error(api.get(f"/users/{ref}/aliases"), 404, "not_found")
        error(api.post(f"/users/{ref}/aliases", json={"address": "x@a.test"}), 404, "not_found")
    with admin_server.client() as root:
        bert = root.get("/users/bert@b.test").json()
        assert bert["name"] == "" and bert["status"] == "active"


def test_org_admin_cannot_touch_other_domains_or_admins(admin_server: AdminServer, tenants: dict[str, str]) -> None:
    with admin_server.client(tenants["org"]) as api:
        error(api.get("/domains/b.test"), 404, "not_found")
        error(api.get("/domains/b.test/dns"), 404, "not_found")
        error(api.delete("/domains/b.test"), 404, "not_found")
        error(api.get("/users", params={"domain": "b.test"}), 404, "not_found")
        error(api.post("/users", json={"address": "evil@b.test"}), 422, "invalid", "address")
        error(api.post("/aliases", json={"address": "x@b.test", "target": "alice@a.test"}), 422, "invalid", "address")
        error(api.get("/groups/list@b.test"), 404, "not_found")
        error(api.post("/groups/list@b.test/members", json={"address": "alice@a.test"}), 404, "not_found")
        error(api.post("/domains", json={"name": "new-b.test", "org": "OrgB"}), 403, "forbidden")
        error(api.post("/organisations", json={"name": "Mine"}), 403, "forbidden")
        error(api.post("/admins", json={"name": "x", "password": "yyyyyyyy"}), 403, "forbidden")
        error(api.get("/organisations/OrgB"), 404, "not_found")
        # Its own organisation is fully manageable.
        made = api.post("/domains", json={"name": "more-a.test"})
        assert made.status_code == 201 and made.json()["org"] == "OrgA"
        assert api.post("/users", json={"address": "amy@more-a.test"}).status_code == 201
        actions = {(e["action"], e["target"]) for e in api.get("/audit").json()["items"]}
        assert ("user.create", "amy@more-a.test") in actions
        assert not any(target.endswith("b.test") for _, target in actions)
    with admin_server.client() as root:
        error(root.get("/users/evil@b.test"), 404, "not_found")


def test_read_only_admin_gets_403_on_writes(admin_server: AdminServer, tenants: dict[str, str]) -> None:
    with admin_server.client(tenants["ro"]) as api:
        assert api.get("/users/alice@a.test").status_code == 200
        error(api.patch("/users/alice@a.test", json={"name": "x"}), 403, "forbidden")
        error(api.post("/users", json={"address": "new@a.test"}), 403, "forbidden")
        error(api.delete("/users/alice@a.test"), 403, "forbidden")
        error(api.post("/domains", json={"name": "ro.test"}), 403, "forbidden")
        # Its own tokens it may manage: a token grants no more than the admin has.
        assert api.post("/tokens", json={"name": "more"}).status_code == 201
        # Out of scope stays "not found" for a read-only admin too: no probing.
        error(api.patch("/users/bert@b.test", json={"name": "x"}), 404, "not_found")
