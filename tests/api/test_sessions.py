"""Live sessions: real IMAP, POP3 and submission logins show in /api/v1/sessions and the console, scoped."""

from __future__ import annotations

import imaplib
import poplib
import re
import smtplib
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.serverhelp import AdminServer, start
from tests.api.test_console_http import login

PASSWORD = "session-user-pw"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    running = start(tmp_path_factory.mktemp("sessions"), services=("http", "imap", "pop3", "submission"))
    try:
        with running.client() as api:
            for domain, org in (("s1.test", "OrgS"), ("s2.test", "OrgS")):
                assert api.post("/domains", json={"name": domain, "org": org}).status_code == 201
                made = api.post("/users", json={"address": f"user@{domain}", "password": PASSWORD})
                assert made.status_code == 201, made.text
            for body in (
                {"name": "s1dom", "role": "domain", "domains": ["s1.test"]},
                {"name": "s2dom", "role": "domain", "domains": ["s2.test"]},
                {"name": "sorg", "role": "org", "org": "OrgS"},
            ):
                assert api.post("/admins", json={"password": PASSWORD, **body}).status_code == 201
        yield running
    finally:
        code, _ = running.server.stop()
        assert code == 0, running.server.log.read_text()[-4000:]


def sessions(server: AdminServer, admin: str | None = None, **params: str) -> list[dict[str, Any]]:
    if admin is None:
        with server.client() as api:
            answer = api.get("/sessions", params=params)
    else:
        with httpx.Client(base_url=server.base + "/api/v1", auth=(admin, PASSWORD), timeout=30) as api:
            answer = api.get("/sessions", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.05)


def metric(server: AdminServer, name: str, **labels: str) -> float:
    """One sample of /metrics (labels in any order); 0 when absent."""
    text = httpx.get(server.base + "/metrics", timeout=30).text
    for found in re.finditer(rf"^{name}{{([^}}]*)}} (\S+)$", text, re.M):
        if dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))) == labels:
            return float(found.group(2))
    return 0.0


def test_imap_session_is_listed_while_open_and_gone_after_logout(live_server: AdminServer) -> None:
    logins_before = metric(live_server, "kastell_commands_total", protocol="imap", command="LOGIN", status="ok")
    client = imaplib.IMAP4("127.0.0.1", live_server.server.ports["imap"])
    try:
        client.login("user@s1.test", PASSWORD)
        client.select("INBOX")
        mine = [s for s in sessions(live_server, protocol="imap") if s["user"] == "user@s1.test"]
        assert len(mine) == 1, mine
        found = mine[0]
        assert found["client"] == "127.0.0.1" and found["command"] == "SELECT" and found["commands"] >= 2
        assert found["started"] <= found["last_command"] <= time.time() + 1
        assert metric(live_server, "kastell_connections", protocol="imap") >= 1
        after = metric(live_server, "kastell_commands_total", protocol="imap", command="LOGIN", status="ok")
        assert after == logins_before + 1
        # Scope: the domain's admin and the organisation's admin see it; another domain's admin does not.
        assert [s["user"] for s in sessions(live_server, "s1dom")] == ["user@s1.test"]
        assert [s["user"] for s in sessions(live_server, "sorg")] == ["user@s1.test"]
        assert sessions(live_server, "s2dom") == []
        browser, _ = login(live_server, "s1dom", PASSWORD)
        page = browser.get("/admin/sessions")
        assert page.status_code == 200 and "user@s1.test" in page.text and "127.0.0.1" in page.text
        rows = browser.get("/admin/sessions", headers={"HX-Request": "true", "HX-Target": "session-rows"})
        assert "user@s1.test" in rows.text and "<html" not in rows.text
        other, _ = login(live_server, "s2dom", PASSWORD)
        assert "user@s1.test" not in other.get("/admin/sessions").text
    finally:
        client.logout()
    eventually(lambda: not [s for s in sessions(live_server) if s["protocol"] == "imap"], "IMAP session still listed")
    assert metric(live_server, "kastell_connections", protocol="imap") == 0


def test_pop3_and_submission_sessions_are_listed(live_server: AdminServer) -> None:
    pop = poplib.POP3("127.0.0.1", live_server.server.ports["pop3"])
    smtp = smtplib.SMTP("127.0.0.1", live_server.server.ports["submission"], timeout=30)
    try:
        pop.user("user@s2.test")
        pop.pass_(PASSWORD)
        smtp.ehlo("client.test")
        smtp.login("user@s2.test", PASSWORD)
        eventually(
            lambda: (
                {(s["protocol"], s["user"]) for s in sessions(live_server)}
                >= {("pop3", "user@s2.test"), ("submission", "user@s2.test")}
            ),
            "POP3 and submission sessions not listed",
        )
        assert {s["protocol"] for s in sessions(live_server, "s2dom")} == {"pop3", "submission"}
        assert sessions(live_server, "s1dom") == []
        assert metric(live_server, "kastell_commands_total", protocol="pop3", command="PASS", status="ok") >= 1
        assert metric(live_server, "kastell_commands_total", protocol="submission", command="EHLO", status="ok") >= 1
        # An accepted message counts for the dashboard's throughput chart.
        received = metric(live_server, "kastell_messages_received_total", protocol="submission")
        smtp.sendmail("user@s2.test", ["user@s1.test"], b"From: user@s2.test\r\nSubject: hi\r\n\r\nhi\r\n")
        assert metric(live_server, "kastell_messages_received_total", protocol="submission") == received + 1
        assert metric(live_server, "kastell_commands_total", protocol="submission", command="DATA", status="ok") >= 1
        browser, _ = login(live_server, "sorg", PASSWORD)
        history = browser.get("/admin/history.json").json()
        assert len(history["received"]) == len(history["time"]) >= 1
    finally:
        pop.quit()
        smtp.quit()
    eventually(lambda: sessions(live_server) == [], "sessions still listed after QUIT")


def test_connections_that_have_not_logged_in_are_the_system_admins(live_server: AdminServer) -> None:
    client = imaplib.IMAP4("127.0.0.1", live_server.server.ports["imap"])
    try:
        client.noop()
        anonymous = [s for s in sessions(live_server, protocol="imap") if s["user"] is None]
        assert len(anonymous) == 1 and anonymous[0]["command"] == "NOOP"
        assert sessions(live_server, "sorg") == []
    finally:
        client.logout()
    eventually(lambda: sessions(live_server) == [], "session still listed after LOGOUT")
