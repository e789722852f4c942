"""IDLE woken by a real delivery: imapclient in IDLE, smtplib.LMTP delivering, both over sockets."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.mail.mailenv import PASSWORD, MailEnv, in_thread, start_env
from tests.mail.mailenv import anyio_backend as anyio_backend  # noqa: F401  (fixture)

pytestmark = pytest.mark.anyio


def _deliver(env: MailEnv, to: str, subject: str) -> None:
    with smtplib.LMTP("127.0.0.1", env.ports["lmtp"]) as client:
        client.sendmail("bob@remote.example", [to], f"From: bob@remote.example\r\nSubject: {subject}\r\n\r\nhi\r\n")


def _idle_until_delivered(env: MailEnv, password: str) -> tuple[list[object], list[object]]:
    with IMAPClient("127.0.0.1", port=env.ports["imap"], ssl=False, timeout=30) as client:
        client.login("alice@example.test", password)
        client.select_folder("INBOX")
        client.idle()
        _deliver(env, "ali@example.test", "delivered while idling")  # an alias of alice
        responses = client.idle_check(timeout=10)
        client.idle_done()
        fetched = client.fetch(client.search("ALL"), ["ENVELOPE"])
        subjects = [data[b"ENVELOPE"].subject for data in fetched.values()]
        return responses, subjects


async def test_idle_is_woken_by_an_lmtp_delivery(tmp_path: Path) -> None:
    env = await start_env(tmp_path, services=("lmtp", "imap"))
    try:
        responses, subjects = await in_thread(_idle_until_delivered, env, PASSWORD)
        assert (1, b"EXISTS") in responses, responses
        assert subjects == [b"delivered while idling"]
    finally:
        await env.server.stop()
