"""Out-of-office, forwarding, language and time zone of users over the admin API, with scoping."""

from __future__ import annotations

from tests.api.serverhelp import AdminServer, error


def test_oof_forwarding_language_timezone(admin_server: AdminServer) -> None:
    with admin_server.client() as api:
        api.post("/domains", json={"name": "rules.test"})
        assert api.post("/users", json={"address": "rita@rules.test"}).status_code == 201

        assert api.get("/users/rita@rules.test/oof").json()["enabled"] is False
        wanted = {"enabled": True, "end": 1924992000, "internal_message": "Back soon.", "external_message": "Away."}
        stored = api.put("/users/rita@rules.test/oof", json=wanted)
        assert stored.status_code == 200, stored.text
        assert api.get("/users/rita@rules.test/oof").json() == {
            "enabled": True, "start": None, "end": 1924992000, "subject": "",
            "internal_message": "Back soon.", "external_message": "Away.", "internal_only": False,
        }  # fmt: skip
        error(api.put("/users/rita@rules.test/oof", json={**wanted, "start": 1924992001}), 422, "invalid", "end")
        error(api.put("/users/rita@rules.test/oof", json={"enabled": True}), 422, "invalid", "internal_message")
        error(api.put("/users/rita@rules.test/oof", json={"enabled": "maybe"}), 422, "invalid", "enabled")
        error(api.put("/users/nobody@rules.test/oof", json={}), 404, "not_found")

        found = api.put("/users/rita@rules.test/forwarding", json={"targets": ["Ext@Far.example"], "keep": False})
        assert found.status_code == 200 and found.json() == {"targets": ["ext@far.example"], "keep": False}
        assert api.get("/users/rita@rules.test/forwarding").json()["targets"] == ["ext@far.example"]
        error(
            api.put("/users/rita@rules.test/forwarding", json={"targets": ["bad address"]}), 422, "invalid", "targets"
        )
        error(api.put("/users/rita@rules.test/forwarding", json={"targets": ["rita@rules.test"]}), 422, "invalid")
        assert api.put("/users/rita@rules.test/forwarding", json={"targets": []}).json()["targets"] == []

        changed = api.patch("/users/rita@rules.test", json={"language": "de", "timezone": "Europe/Berlin"})
        assert changed.status_code == 200 and changed.json()["timezone"] == "Europe/Berlin"
        assert changed.json()["language"] == "de"
        error(api.patch("/users/rita@rules.test", json={"timezone": "Mars/Olympus"}), 422, "invalid", "timezone")
        error(api.patch("/users/rita@rules.test", json={"language": "x y"}), 422, "invalid", "language")

        actions = [e["action"] for e in api.get("/audit", params={"target": "rita@rules.test"}).json()["items"]]
        assert "user.oof" in actions and "user.forward" in actions
