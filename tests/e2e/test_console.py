"""The admin console in a real browser (Debian's Chromium driven by Playwright) against ``kastell serve``.

An administrator logs in, adds a domain and a user through the forms, finds the
user with the live search, resets the password — and the user then logs in
over IMAP with it. A POST without the CSRF token is refused. The dashboard
screenshot is saved to ``$KASTELL_ARTIFACTS`` (or the test's tmp directory).
"""

from __future__ import annotations

import imaplib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.serverhelp import ROOT_PASSWORD, AdminServer, start

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(reason: str) -> None:
    if os.environ.get("KASTELL_REQUIRE_PEERS"):
        pytest.fail(f"required peer missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    running = start(tmp_path_factory.mktemp("e2e"), services=("http", "imap"))
    try:
        yield running
    finally:
        running.server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        _missing("Debian's chromium package is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_console_login_domain_user_reset_and_imap_login(server: AdminServer, browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    context = browser.new_context(base_url=server.base)
    page = context.new_page()
    failures: list[str] = []
    page.on("pageerror", lambda exc: failures.append(str(exc)))
    # CSP violations and failed asset loads are console errors: none may happen (but the deliberate 401 below).
    page.on(
        "console",
        lambda message: (
            failures.append(message.text) if message.type == "error" and "status of 401" not in message.text else None
        ),
    )

    # Not logged in: to the login form, and back to the page asked for afterwards.
    page.goto("/admin/domains")
    expect(page).to_have_url(server.base + "/admin/login?next=/admin/domains")
    page.get_by_label("Administrator").fill("root")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong name or password")
    page.get_by_label("Password").fill(ROOT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(server.base + "/admin/domains")
    cookie = next(c for c in context.cookies() if c["name"] == "kastell_admin")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/admin"

    # A domain through the form; its DNS records are shown.
    page.get_by_label("Domain name", exact=True).fill("e2e.test")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name="e2e.test")).to_be_visible()
    expect(page.get_by_role("cell", name="_dmarc.e2e.test")).to_be_visible()

    # A user through the form, with a generated password shown once.
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_label("Address", exact=True).fill("erin@e2e.test")
    page.get_by_label("Display name").fill("Erin Example")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("heading", name="erin@e2e.test")).to_be_visible()
    generated = page.locator("#generated-password").inner_text()
    assert len(generated) >= 16

    # The list shows the user; the live search (htmx) narrows it without a page load.
    page.get_by_role("link", name="Users", exact=True).click()
    expect(page.get_by_role("link", name="erin@e2e.test")).to_be_visible()
    page.get_by_label("Search address or name").fill("nobody-matches")
    expect(page.locator("#user-rows")).to_contain_text("No accounts match")
    page.get_by_label("Search address or name").fill("erin")
    expect(page.get_by_role("link", name="erin@e2e.test")).to_be_visible()

    # Reset the password to one we choose; the user logs in over IMAP with it.
    page.get_by_role("link", name="erin@e2e.test").click()
    page.get_by_label("New password").fill("erins-new-password")
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed")
    with imaplib.IMAP4("127.0.0.1", server.server.ports["imap"]) as imap:
        assert imap.login("erin@e2e.test", "erins-new-password")[0] == "OK"
    with imaplib.IMAP4("127.0.0.1", server.server.ports["imap"]) as imap, pytest.raises(imaplib.IMAP4.error):
        imap.login("erin@e2e.test", generated)

    # The browser's cookie alone is not enough to change anything: the CSRF token is required.
    refused = context.request.post(server.base + "/admin/domains", form={"name": "csrf.test"})
    assert refused.status == 403
    refused = context.request.post(server.base + "/admin/domains", form={"name": "csrf.test", "csrf": "forged"})
    assert refused.status == 403
    page.goto("/admin/domains")
    expect(page.get_by_role("link", name="csrf.test")).to_have_count(0)

    # The dashboard, for the record; then log out.
    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Server health")).to_be_visible()
    expect(page.get_by_role("cell", name="e2e.test")).to_be_visible()
    expect(page.locator("#history-chart canvas")).to_have_count(1)  # uPlot drew the CPU/memory chart
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    artefacts = os.environ.get("KASTELL_ARTIFACTS")
    if artefacts:
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artefacts) / "admin-dashboard.png")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(server.base + "/admin/login")
    page.goto("/admin/users")
    expect(page).to_have_url(server.base + "/admin/login?next=/admin/users")
    assert failures == []
    context.close()


def test_self_service_password_change(server: AdminServer, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(browser, Browser)
    with server.client() as api:
        api.post("/domains", json={"name": "self.test"})
        assert api.post("/users", json={"address": "sam@self.test", "password": "sams-old-password"}).status_code == 201
    context = browser.new_context(base_url=server.base)
    page = context.new_page()
    page.goto("/account/")
    expect(page).to_have_url(server.base + "/account/login")
    page.get_by_label("E-mail address").fill("sam@self.test")
    page.get_by_label("Password").fill("sams-old-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="sam@self.test")).to_be_visible()
    # An admin session is not a user session, nor the reverse.
    assert context.request.get(server.base + "/admin/", max_redirects=0).status == 303

    page.get_by_label("Current password").fill("wrong")
    page.get_by_label("New password", exact=True).fill("sams-new-password")
    page.get_by_label("New password again").fill("sams-new-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("current password is wrong")

    page.get_by_label("Current password").fill("sams-old-password")
    page.get_by_label("New password", exact=True).fill("sams-new-password")
    page.get_by_label("New password again").fill("sams-new-password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("password was changed")
    with imaplib.IMAP4("127.0.0.1", server.server.ports["imap"]) as imap:
        assert imap.login("sam@self.test", "sams-new-password")[0] == "OK"
    assert context.request.post(server.base + "/account/password", form={"current": "x"}).status == 403
    with server.client() as api:
        entries = api.get("/audit", params={"actor": "sam@self.test"}).json()["items"]
    assert [e["action"] for e in entries] == ["self.password"]
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(server.base + "/account/login")
    context.close()
