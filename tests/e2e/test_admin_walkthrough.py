"""Issue 6's "done means", in Chromium: an administrator sets up an organisation from /admin/ alone,
watches mail arrive, sees the queue and live sessions; a domain administrator sees only its domain."""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from collections.abc import Iterator

import pytest

from tests.api.serverhelp import ROOT_PASSWORD, AdminServer, start
from tests.e2e.test_console import browser
from tests.process.harness import free_port

__all__ = ["browser"]


@pytest.fixture(scope="module")
def walk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    # Outbound mail goes to a smarthost that refuses connections: it stays in the queue.
    config = f'\n[delivery]\nsmarthost = "127.0.0.1:{free_port()}"\nsmarthost_tls = "none"\nretry_first = 3600\n'
    running = start(tmp_path_factory.mktemp("walk"), services=("http", "imap", "smtp", "submission"), config=config)
    try:
        yield running
    finally:
        running.server.stop()


def test_admin_walkthrough(walk_server: AdminServer, browser: object) -> None:
    from playwright.sync_api import Browser, expect

    server = walk_server
    assert isinstance(browser, Browser)
    context = browser.new_context(base_url=server.base)
    page = context.new_page()
    page.goto("/admin/")
    page.get_by_label("Administrator").fill("root")
    page.get_by_label("Password").fill(ROOT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # An organisation and its domain in one form; the DNS records it needs are shown.
    page.get_by_role("link", name="Domains", exact=True).click()
    page.get_by_label("Domain name", exact=True).fill("walk.test")
    page.get_by_label("Organisation (new or existing; empty: the domain name)").fill("Walkers Ltd")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name="walk.test")).to_be_visible()
    for name in ("walk.test", "_dmarc.walk.test", "autoconfig.walk.test"):
        expect(page.get_by_role("cell", name=name, exact=True).first).to_be_visible()
    page.get_by_role("link", name="Domains", exact=True).click()
    page.get_by_label("Domain name", exact=True).fill("other.test")
    page.get_by_role("button", name="Add domain").click()
    expect(page.get_by_role("heading", name="other.test")).to_be_visible()

    # Users and a group.
    for address in ("wanda@walk.test", "walt@walk.test"):
        page.get_by_role("link", name="Users", exact=True).click()
        page.get_by_label("Address", exact=True).fill(address)
        page.get_by_role("button", name="Add user").click()
        expect(page.get_by_role("heading", name=address)).to_be_visible()
        page.get_by_label("New password").fill("a good long password")
        page.get_by_role("button", name="Reset password").click()
        expect(page.get_by_role("status")).to_contain_text("Password changed")
    page.get_by_role("link", name="Groups", exact=True).click()
    page.locator("#group-address").fill("team@walk.test")
    page.locator("#group-name").fill("Team")
    page.locator("#group-address").press("Enter")
    expect(page.get_by_role("cell", name="team@walk.test")).to_be_visible()
    page.locator("#member-address").fill("wanda@walk.test")
    page.locator("#member-address").press("Enter")
    expect(page.get_by_role("cell", name="wanda@walk.test")).to_be_visible()

    # Mail arrives (to the group, over SMTP) and the dashboard shows it stored.
    page.goto("/admin/")
    items = page.locator("dt:text-is('Items') + dd")
    before = int(items.inner_text())
    with smtplib.SMTP("127.0.0.1", server.server.ports["smtp"], timeout=20) as smtp:
        for n in range(3):
            smtp.sendmail("x@far.example", ["team@walk.test"], f"Subject: m{n}\r\n\r\nhello\r\n".encode())
    page.reload()
    assert int(items.inner_text()) == before + 3

    # A message to the outside waits in the queue; an IMAP session is open: both are shown.
    context_tls = ssl.create_default_context(cafile=str(server.data / "tls" / "cert.pem"))
    context_tls.check_hostname = False
    with smtplib.SMTP("127.0.0.1", server.server.ports["submission"], timeout=20) as smtp:
        smtp.starttls(context=context_tls)
        smtp.login("walt@walk.test", "a good long password")
        smtp.sendmail("walt@walk.test", ["someone@far.example"], b"From: walt@walk.test\r\nSubject: out\r\n\r\nhi\r\n")
    page.get_by_role("link", name="Mail queue", exact=True).click()
    expect(page.get_by_role("heading", name="Mail queue")).to_be_visible()
    expect(page.locator("table")).to_contain_text("someone@far.example")
    with imaplib.IMAP4("127.0.0.1", server.server.ports["imap"]) as imap:
        imap.login("wanda@walk.test", "a good long password")
        page.get_by_role("link", name="Live sessions", exact=True).click()
        expect(page.locator("#session-rows")).to_contain_text("wanda@walk.test")
    # A domain administrator of walk.test, made on the console too.
    page.get_by_role("link", name="Administrators", exact=True).click()
    page.get_by_label("Name", exact=True).fill("dana")
    page.get_by_label("Password", exact=True).fill("danas-password")
    page.get_by_label("Role", exact=True).select_option("domain")
    page.get_by_label("Domains (role domain; separated by commas or spaces)").fill("walk.test")
    page.get_by_role("button", name="Add administrator").click()
    expect(page.locator("#admin-rows")).to_contain_text("dana")
    expect(page.locator("#admin-rows")).to_contain_text("walk.test")
    page.get_by_role("button", name="Log out").click()

    page.goto("/admin/login")
    page.get_by_label("Administrator").fill("dana")
    page.get_by_label("Password").fill("danas-password")
    page.get_by_role("button", name="Log in").click()
    page.goto("/admin/domains")
    expect(page.get_by_role("link", name="walk.test")).to_be_visible()
    expect(page.get_by_role("link", name="other.test")).to_have_count(0)
    assert page.goto("/admin/domains/other.test").status == 404
    page.goto("/admin/queue")
    expect(page.locator("table")).to_contain_text("someone@far.example")  # its domain's sender
    page.goto("/admin/admins")
    expect(page.locator("#admin-rows tr")).to_have_count(1)  # itself only
    expect(page.get_by_role("button", name="Add administrator")).to_have_count(0)
    assert context.request.post(server.base + "/admin/admins", form={"name": "x", "password": "y"}).status == 403
    context.close()
