"""Out-of-office from the self-service page, in Debian's Chromium (Playwright), read back by the CLI."""

from __future__ import annotations

import json

from tests.api.serverhelp import AdminServer
from tests.e2e.test_console import browser, server
from tests.process.harness import kastell

__all__ = ["browser", "server"]


def test_user_sets_out_of_office(server: AdminServer, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    with server.client() as api:
        api.post("/domains", json={"name": "oof.test"})
        created = api.post("/users", json={"address": "olga@oof.test", "password": "olgas-password"})
        assert created.status_code == 201
    context = browser.new_context(base_url=server.base)
    page = context.new_page()
    page.goto("/account/login")
    page.get_by_label("E-mail address").fill("olga@oof.test")
    page.get_by_label("Password").fill("olgas-password")
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("Send automatic replies").check()
    page.get_by_label("Reply to people in your organisation").fill("Back on Monday.")
    page.get_by_role("button", name="Save automatic reply").click()
    expect(page.get_by_role("status")).to_contain_text("automatic reply is on")
    expect(page.get_by_label("Send automatic replies")).to_be_checked()

    stored = json.loads(kastell(server.data, "user", "oof", "olga@oof.test", "--json").stdout)
    assert stored["enabled"] is True
    assert stored["internal_message"] == stored["external_message"] == "Back on Monday."

    # A window that ends before it starts is refused with the reason, and nothing changes.
    page.get_by_label("From (optional, UTC)").fill("2031-05-02T10:00")
    page.get_by_label("Until (optional)").fill("2031-05-01T10:00")
    page.get_by_role("button", name="Save automatic reply").click()
    expect(page.get_by_role("alert")).to_contain_text("end must be after the start")
    assert json.loads(kastell(server.data, "user", "oof", "olga@oof.test", "--json").stdout)["end"] is None

    page.get_by_label("From (optional, UTC)").fill("")
    page.get_by_label("Until (optional)").fill("")
    page.get_by_label("Send automatic replies").uncheck()
    page.get_by_role("button", name="Save automatic reply").click()
    expect(page.get_by_role("status")).to_contain_text("automatic reply is off")
    assert json.loads(kastell(server.data, "user", "oof", "olga@oof.test", "--json").stdout)["enabled"] is False
    context.close()
