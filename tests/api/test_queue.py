"""The mail queue over the API and the console: listing, retry, delete; scoped by the sender's domain.

The server relays through a smarthost that refuses connections, so submitted
mail stays queued with one failed attempt and its error.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.serverhelp import AdminServer, error, start
from tests.api.test_console_http import csrf_of, login
from tests.process.harness import free_port

PASSWORD = "queue-user-pw"


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminServer]:
    config = f'\n[delivery]\nsmarthost = "127.0.0.1:{free_port()}"\nsmarthost_tls = "none"\nretry_first = 3600\n'
    running = start(tmp_path_factory.mktemp("queue"), services=("http", "submission"), config=config)
    try:
        yield running
    finally:
        code, _ = running.server.stop()
        assert code == 0, running.server.log.read_text()[-4000:]


def submit(server: AdminServer, sender: str, recipients: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", server.server.ports["submission"], timeout=30) as client:
        client.login(sender, PASSWORD)  # loopback: allowed without TLS
        client.sendmail(sender, recipients, f"From: {sender}\r\nSubject: queued\r\n\r\nbody\r\n".encode())


def wait_for(api: httpx.Client, count: int) -> list[dict[str, Any]]:
    """The queue once ``count`` messages have had their first attempt."""
    deadline = time.monotonic() + 30
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = api.get("/queue").json()["items"]
        if len(items) == count and all(m["attempts"] >= 1 for m in items):
            return items
        time.sleep(0.2)
    raise AssertionError(f"queue never settled: {items}")


@pytest.fixture(scope="module")
def queued(queue_server: AdminServer) -> dict[str, Any]:
    """One message from q1.test (OrgQ1) to two outside recipients, one from q2.test (OrgQ2); admins of each."""
    with queue_server.client() as api:
        for domain, org in (("q1.test", "OrgQ1"), ("q2.test", "OrgQ2")):
            assert api.post("/domains", json={"name": domain, "org": org}).status_code == 201
            made = api.post("/users", json={"address": f"sender@{domain}", "password": PASSWORD})
            assert made.status_code == 201, made.text
        assert api.post(
            "/admins", json={"name": "q2org", "password": PASSWORD, "role": "org", "org": "OrgQ2"}
        ).is_success
        assert api.post(
            "/admins", json={"name": "q1dom", "password": PASSWORD, "role": "domain", "domains": ["q1.test"]}
        ).is_success
        assert api.post(
            "/admins", json={"name": "q1ro", "password": PASSWORD, "role": "org", "org": "OrgQ1", "read_only": True}
        ).is_success
        submit(queue_server, "sender@q1.test", ["x@remote.example", "y@remote.example"])
        submit(queue_server, "sender@q2.test", ["z@remote.example"])
        items = wait_for(api, 2)
    by_sender = {m["sender"]: m for m in items}
    return {"q1": by_sender["sender@q1.test"], "q2": by_sender["sender@q2.test"]}


def test_queue_lists_recipients_with_state_and_error(queue_server: AdminServer, queued: dict[str, Any]) -> None:
    q1 = queued["q1"]
    assert q1["size"] > 0 and q1["attempts"] == 1 and q1["next_attempt"] > time.time() + 60
    assert [r["address"] for r in q1["recipients"]] == ["x@remote.example", "y@remote.example"]
    assert all(r["status"] == "pending" and r["last_error"] for r in q1["recipients"])
    with queue_server.client() as api:
        page = api.get("/queue", params={"limit": 1, "sort": "-id"}).json()
        assert page["total"] == 2 and page["next_offset"] == 1 and page["items"][0]["id"] == queued["q2"]["id"]
        assert [m["id"] for m in api.get("/queue", params={"q": "y@remote"}).json()["items"]] == [q1["id"]]
        assert api.get(f"/queue/{q1['id']}").json()["recipients"] == q1["recipients"]
        error(api.get("/queue/999999"), 404, "not_found")
        error(api.get("/queue", params={"sort": "colour"}), 422, "invalid", "sort")


def test_queue_is_scoped_by_sender_domain(queue_server: AdminServer, queued: dict[str, Any]) -> None:
    q1, q2 = queued["q1"]["id"], queued["q2"]["id"]
    for name, mine, theirs in (("q2org", q2, q1), ("q1dom", q1, q2)):
        with httpx.Client(base_url=queue_server.base + "/api/v1", auth=(name, PASSWORD), timeout=30) as api:
            assert [m["id"] for m in api.get("/queue").json()["items"]] == [mine]
            error(api.get(f"/queue/{theirs}"), 404, "not_found")
            error(api.post(f"/queue/{theirs}/retry"), 404, "not_found")
            error(api.delete(f"/queue/{theirs}"), 404, "not_found")
            assert api.get(f"/queue/{mine}").status_code == 200
    with httpx.Client(base_url=queue_server.base + "/api/v1", auth=("q1ro", PASSWORD), timeout=30) as api:
        assert [m["id"] for m in api.get("/queue").json()["items"]] == [q1]
        error(api.post(f"/queue/{q1}/retry"), 403, "forbidden")
        error(api.delete(f"/queue/{q1}"), 403, "forbidden")
    with queue_server.client() as api:
        assert api.get("/queue").json()["total"] == 2


def test_retry_makes_recipients_due_and_the_runner_tries_again(
    queue_server: AdminServer, queued: dict[str, Any]
) -> None:
    q2 = queued["q2"]["id"]
    with httpx.Client(base_url=queue_server.base + "/api/v1", auth=("q2org", PASSWORD), timeout=30) as api:
        answer = api.post(f"/queue/{q2}/retry")
        assert answer.status_code == 200 and answer.json() == {"recipients": 1}
        deadline = time.monotonic() + 30
        while api.get(f"/queue/{q2}").json()["attempts"] < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert api.get(f"/queue/{q2}").json()["attempts"] == 2
    with queue_server.client() as api:
        actions = [e["action"] for e in api.get("/audit", params={"action": "queue."}).json()["items"]]
        assert "queue.retry" in actions


def test_console_queue_page_retries_and_deletes(queue_server: AdminServer, queued: dict[str, Any]) -> None:
    q1 = queued["q1"]["id"]
    browser, dashboard = login(queue_server, "q1dom", PASSWORD)
    page = browser.get("/admin/queue")
    assert page.status_code == 200
    assert "sender@q1.test" in page.text and "y@remote.example" in page.text and "sender@q2.test" not in page.text
    assert f'name="retry" value="{q1}"' in page.text
    csrf = csrf_of(page)
    assert browser.post("/admin/queue", data={"retry": str(q1)}).status_code == 403  # no CSRF token
    retried = browser.post("/admin/queue", data={"csrf": csrf, "retry": str(q1)})
    assert retried.status_code == 200 and "2 recipients of message" in retried.text
    other = browser.post("/admin/queue", data={"csrf": csrf, "delete": str(queued["q2"]["id"])})
    assert other.status_code == 404
    deleted = browser.post("/admin/queue", data={"csrf": csrf, "delete": str(q1)})
    assert deleted.status_code == 200 and f"Deleted message {q1}." in deleted.text
    with queue_server.client() as api:
        assert [m["id"] for m in api.get("/queue").json()["items"]] == [queued["q2"]["id"]]
        audit = api.get("/audit", params={"action": "queue.delete"}).json()["items"]
        assert audit[0]["actor"] == "q1dom" and audit[0]["target"] == str(q1)
