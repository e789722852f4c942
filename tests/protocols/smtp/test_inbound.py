"""Inbound SMTP (MX) and LMTP against the running server, with smtplib (a real client)."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from tests.mail.mailenv import MailEnv, in_thread

pytestmark = pytest.mark.anyio

BODY = (
    b"From: Carol <carol@remote.example>\r\nTo: alice@example.test\r\nSubject: hello\r\n"
    b"Message-ID: <m1@remote.example>\r\n\r\nHi Alice,\r\n.leading dot\r\n\r\nbye\r\n"
)


def send(port: int, sender: str, rcpts: list[str], body: bytes) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(sender, rcpts, body)


def dialogue(port: int, steps: list[tuple[str, bytes | None]], *, lmtp: bool = False) -> list[tuple[int, bytes]]:
    """Run raw commands; returns each reply."""
    client: smtplib.SMTP = smtplib.LMTP("127.0.0.1", port) if lmtp else smtplib.SMTP("127.0.0.1", port, timeout=10)
    replies = []
    try:
        client.ehlo("client.remote.example")
        for command, data in steps:
            if data is not None:
                client.putcmd(command)
                replies.append(client.getreply())
                client.send(data)
            else:
                client.putcmd(command)
            replies.append(client.getreply())
    finally:
        client.close()
    return replies


async def test_inbound_delivery_headers_and_exact_body(mailenv: MailEnv) -> None:
    refused = await in_thread(send, mailenv.ports["smtp"], "carol@remote.example", ["alice@example.test"], BODY)
    assert refused == {}
    [stored] = await mailenv.inbox("alice@example.test")
    assert stored.endswith(BODY)  # byte-exact after the trace headers (the dot un-stuffed)
    head = stored[: len(stored) - len(BODY)]
    assert head.startswith(b"Return-Path: <carol@remote.example>\r\n")
    assert b"Received: from client" in head or b"Received: from " in head
    assert b"Authentication-Results: mx.kastell.test;" in head
    assert b"spf=none" in head and b"dkim=none" in head
    assert await mailenv.audit("alice@example.test") == []


async def test_alias_plus_group_one_blob(mailenv: MailEnv) -> None:
    rcpts = ["ali@example.test", "alice+news@example.test", "team@example.test"]
    refused = await in_thread(send, mailenv.ports["smtp"], "carol@remote.example", rcpts, BODY)
    assert refused == {}
    alice = await mailenv.inbox("alice@example.test")
    bob = await mailenv.inbox("bob@example.test")
    # alice is reached three ways (alias, sub-address, group) and gets one copy; bob one through the group.
    assert len(bob) == 1 and len(alice) == 1
    assert alice[0] == bob[0]
    blobs = [p for p in (mailenv.data / "blobs").rglob("*") if p.is_file() and len(p.name) == 64]
    assert len(blobs) == 1  # one stored blob for every recipient


async def test_unknown_user_and_relay_refused(mailenv: MailEnv) -> None:
    replies = await in_thread(
        dialogue,
        mailenv.ports["smtp"],
        [
            ("MAIL FROM:<carol@remote.example>", None),
            ("RCPT TO:<nobody@example.test>", None),
            ("RCPT TO:<victim@elsewhere.example>", None),
        ],
    )
    assert replies[1][0] == 550 and replies[1][1].startswith(b"5.1.1")
    assert replies[2][0] == 554 and replies[2][1].startswith(b"5.7.1")


async def test_size_limit(tmp_path: object) -> None:
    from tests.mail.mailenv import start_env

    env = await start_env(tmp_path, '[store]\nmax_message_size = "10K"\n')  # type: ignore[arg-type]
    try:
        big = BODY + b"x" * 70 + b"\r\n"
        big = big + (b"y" * 900 + b"\r\n") * 20

        def go() -> int:
            with smtplib.SMTP("127.0.0.1", env.ports["smtp"], timeout=10) as client:
                client.ehlo("x")
                assert client.has_extn("size")
                try:
                    client.sendmail("carol@remote.example", ["alice@example.test"], big)
                except smtplib.SMTPSenderRefused as exc:  # smtplib announces SIZE=: refused at MAIL
                    return exc.smtp_code
                except smtplib.SMTPDataError as exc:
                    return exc.smtp_code
                return 250

        assert await in_thread(go) == 552
        assert await env.inbox("alice@example.test") == []
    finally:
        await env.server.stop()


async def test_quota_452_per_recipient_others_succeed(mailenv: MailEnv) -> None:
    await in_thread(send, mailenv.ports["smtp"], "carol@remote.example", ["bob@example.test"], BODY)
    await mailenv.app.directory.set_quota("bob@example.test", 10)  # bob is over quota now
    replies = await in_thread(
        dialogue,
        mailenv.ports["smtp"],
        [
            ("MAIL FROM:<carol@remote.example>", None),
            ("RCPT TO:<bob@example.test>", None),
            ("RCPT TO:<alice@example.test>", None),
        ],
    )
    assert replies[1][0] == 452 and replies[1][1].startswith(b"4.2.2")
    assert replies[2][0] == 250


async def test_lmtp_per_recipient_replies(mailenv: MailEnv) -> None:
    await mailenv.app.directory.set_quota("bob@example.test", 10)
    await mailenv.app.directory.add_user("carl@example.test", "pw-carl-123456")

    def go() -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
        client = smtplib.LMTP("127.0.0.1", mailenv.ports["lmtp"])
        try:
            client.ehlo_or_helo_if_needed()
            client.mail("carol@remote.example")
            rcpt = [client.rcpt(r) for r in ("alice@example.test", "nobody@example.test", "carl@example.test")]
            client.putcmd("data")
            assert client.getreply()[0] == 354
            client.send(BODY + b".\r\n")
            after = [client.getreply() for _ in range(2)]  # one per accepted recipient (RFC 2033 4.2)
            return rcpt, after
        finally:
            client.close()

    rcpt, after = await in_thread(go)
    assert [r[0] for r in rcpt] == [250, 550, 250]
    assert [r[0] for r in after] == [250, 250]
    assert len(await mailenv.inbox("carl@example.test")) == 1
    stored = (await mailenv.inbox("alice@example.test"))[0]
    assert b"with LMTP" in stored and b"Authentication-Results" not in stored  # the MTA in front checks


async def test_disabled_account_550(mailenv: MailEnv) -> None:
    await mailenv.app.directory.set_status("bob@example.test", "disabled")
    replies = await in_thread(
        dialogue, mailenv.ports["smtp"], [("MAIL FROM:<c@remote.example>", None), ("RCPT TO:<bob@example.test>", None)]
    )
    assert replies[1][0] == 550


async def test_starttls_on_mx(mailenv: MailEnv) -> None:
    context = ssl.create_default_context(cafile=str(mailenv.data / "tls" / "cert.pem"))

    def go() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("localhost", mailenv.ports["smtp"], timeout=10) as client:
            client.starttls(context=context)
            return client.sendmail("carol@remote.example", ["alice@example.test"], BODY)

    assert await in_thread(go) == {}
    [stored] = await mailenv.inbox("alice@example.test")
    assert b"with ESMTPS" in stored
