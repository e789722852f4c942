"""Submission (587 STARTTLS, 465 implicit TLS), DKIM signing and the outbound queue to a sink MX."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import dkim
import pytest

from kastell.mail.dns import StaticResolver
from kastell.mail.transport import transport
from tests.mail.mailenv import PASSWORD, MailEnv, Sink, env_with_sink, in_thread, start_env

pytestmark = pytest.mark.anyio

MESSAGE = b"From: Alice <alice@example.test>\r\nTo: Dave <dave@remote.example>\r\nSubject: out\r\n\r\nHello Dave.\r\n"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[MailEnv, Sink]]:
    async with env_with_sink(tmp_path) as found:
        yield found


def tls_context(env: MailEnv) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(env.data / "tls" / "cert.pem"))


def submit(env: MailEnv, sender: str, rcpts: list[str], body: bytes, *, user: str = "alice@example.test") -> object:
    with smtplib.SMTP("localhost", env.ports["submission"], timeout=20) as client:
        client.starttls(context=tls_context(env))
        client.login(user, PASSWORD)
        return client.sendmail(sender, rcpts, body)


async def wait_for(predicate: object, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


async def test_auth_required(world: tuple[MailEnv, Sink]) -> None:
    env, _ = world

    def go() -> int:
        with smtplib.SMTP("localhost", env.ports["submission"], timeout=10) as client:
            client.ehlo("me")
            return client.mail("alice@example.test")[0]

    assert await in_thread(go) == 530


async def test_plain_auth_refused_without_tls_from_non_loopback(tmp_path: Path) -> None:
    # Loopback is excluded from the plain-text networks: this client is "remote" now.
    env = await start_env(tmp_path, "[auth]\nplaintext_without_tls_from = []\n")
    try:

        def go() -> tuple[bool, int, bool, int]:
            with smtplib.SMTP("localhost", env.ports["submission"], timeout=10) as client:
                client.ehlo("me")
                offered_before = client.has_extn("auth")
                code = client.docmd("AUTH", "PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABub3BlMTIz")[0]
                client.starttls(context=tls_context(env))
                client.ehlo("me")
                offered_after = client.has_extn("auth")
                return offered_before, code, offered_after, client.login("alice@example.test", PASSWORD)[0]

        offered_before, code, offered_after, login = await in_thread(go)
        assert not offered_before and code == 538
        assert offered_after and login == 235
    finally:
        await env.server.stop()


async def test_bad_password_535(world: tuple[MailEnv, Sink]) -> None:
    env, _ = world

    def go() -> int:
        with smtplib.SMTP("localhost", env.ports["submission"], timeout=10) as client:
            client.starttls(context=tls_context(env))
            try:
                client.login("alice@example.test", "wrong password")
            except smtplib.SMTPAuthenticationError as exc:
                return exc.smtp_code
            return 235

    assert await in_thread(go) == 535


async def test_sender_and_from_mismatch_553(world: tuple[MailEnv, Sink]) -> None:
    env, _ = world
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await in_thread(submit, env, "bob@example.test", ["dave@remote.example"], MESSAGE)
    assert refused.value.smtp_code == 553
    spoofed = MESSAGE.replace(b"From: Alice <alice@example.test>", b"From: Boss <bob@example.test>")
    with pytest.raises(smtplib.SMTPDataError) as data_refused:
        await in_thread(submit, env, "alice@example.test", ["dave@remote.example"], spoofed)
    assert data_refused.value.smtp_code == 553 and data_refused.value.smtp_error.startswith(b"5.7.1")
    # an alias of her own is fine
    own = MESSAGE.replace(b"alice@example.test", b"ali@example.test")
    assert await in_thread(submit, env, "ali@example.test", ["bob@example.test"], own) == {}


async def test_local_to_local_never_queued(world: tuple[MailEnv, Sink]) -> None:
    env, sink = world
    body = MESSAGE.replace(b"dave@remote.example", b"bob@example.test")
    assert await in_thread(submit, env, "alice@example.test", ["bob@example.test"], body) == {}
    assert len(await env.inbox("bob@example.test")) == 1
    assert await transport(env.app).queue.list() == []
    assert sink.handler.messages == []


async def test_remote_queued_delivered_dkim_signed(world: tuple[MailEnv, Sink]) -> None:
    env, sink = world
    keys = await transport(env.app).dkim.ensure("example.test")
    assert {k.algorithm for k in keys} == {"ed25519-sha256", "rsa-sha256"}
    assert await in_thread(submit, env, "alice@example.test", ["dave@remote.example"], MESSAGE) == {}

    async def arrived() -> bool:
        return bool(sink.handler.messages)

    await wait_for(arrived)
    sender, rcpts, data = sink.handler.messages[0]
    assert (sender, rcpts) == ("alice@example.test", ["dave@remote.example"])
    assert data.endswith(MESSAGE.split(b"\r\n\r\n", 1)[1])
    assert b"Message-ID:" in data and b"Date:" in data  # completed by the MSA (RFC 6409 8)
    assert sink.handler.tls_seen == [False]  # the sink offers no STARTTLS; delivery still happens
    records = {f"{k.selector}._domainkey.example.test".encode(): k.dns_text().encode() for k in keys}

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name.rstrip(b"."), b"")

    for index in range(2):  # both signatures (Ed25519 and RSA) verify with dkimpy
        assert dkim.DKIM(data).verify(idx=index, dnsfunc=dnsfunc)
    forged = data.replace(b"Hello Dave.", b"Hello Eve.")
    with pytest.raises(dkim.ValidationError):
        dkim.DKIM(forged).verify(idx=1, dnsfunc=dnsfunc)

    async def emptied() -> bool:
        return await transport(env.app).queue.list() == []

    await wait_for(emptied)


async def test_remote_550_bounces_to_sender_inbox(world: tuple[MailEnv, Sink]) -> None:
    env, sink = world
    sink.handler.rcpt_reply["dave@remote.example"] = "550 5.1.1 No such user dave"
    assert await in_thread(submit, env, "alice@example.test", ["dave@remote.example"], MESSAGE) == {}

    async def bounced() -> bool:
        return bool(await env.inbox("alice@example.test"))

    await wait_for(bounced)
    [dsn] = await env.inbox("alice@example.test")
    assert b"multipart/report; report-type=delivery-status" in dsn
    assert b"Final-Recipient: rfc822; dave@remote.example" in dsn
    assert b"Action: failed" in dsn and b"Status: 5.1.1" in dsn
    assert b"Subject: out" in dsn  # the original header is returned
    assert await transport(env.app).queue.list() == []


async def test_4xx_retried_with_backoff(world: tuple[MailEnv, Sink]) -> None:
    env, sink = world
    sink.handler.data_reply = "451 4.3.0 try later"
    assert await in_thread(submit, env, "alice@example.test", ["dave@remote.example"], MESSAGE) == {}
    queue = transport(env.app).queue

    async def attempted() -> bool:
        listed = await queue.list()
        return bool(listed) and listed[0].recipients[0].attempts >= 1

    await wait_for(attempted)
    [message] = await queue.list()
    [rcpt] = message.recipients
    assert rcpt.status == "pending" and rcpt.last_error is not None and rcpt.last_error.startswith("451")
    assert rcpt.next_attempt > message.created
    sink.handler.data_reply = "250 2.0.0 OK sunk"
    await queue.retry(message.id)

    async def delivered() -> bool:
        return bool(sink.handler.messages) and await queue.list() == []

    await wait_for(delivered)
    assert await env.inbox("alice@example.test") == []  # no bounce


async def test_null_mx_and_nxdomain_bounce(world: tuple[MailEnv, Sink]) -> None:
    env, _ = world
    env.resolver.add("nomail.example", "MX", (0, "."))
    assert await in_thread(submit, env, "alice@example.test", ["x@nomail.example", "y@missing.example"], MESSAGE) == {}

    async def bounced() -> bool:
        return len(await env.inbox("alice@example.test")) >= 1

    await wait_for(bounced)
    [text] = await env.inbox("alice@example.test")  # one bounce naming both recipients
    assert b"Status: 5.1.10" in text and b"Status: 5.1.2" in text


async def test_submissions_implicit_tls(world: tuple[MailEnv, Sink]) -> None:
    env, _ = world
    body = MESSAGE.replace(b"dave@remote.example", b"bob@example.test")

    def go() -> object:
        with smtplib.SMTP_SSL("localhost", env.ports["submissions"], context=tls_context(env), timeout=10) as client:
            client.login("alice@example.test", PASSWORD)
            return client.sendmail("alice@example.test", ["bob@example.test"], body)

    assert await in_thread(go) == {}
    [stored] = await env.inbox("bob@example.test")
    assert b"with ESMTPSA" in stored


async def test_queue_survives_restart(tmp_path: Path) -> None:
    sink = Sink()
    env = await start_env(tmp_path, f"[delivery]\nmx_port = {sink.port}\n")  # the sink is down
    env.resolver.add("remote.example", "MX", (10, "127.0.0.1"))
    env.resolver.add("127.0.0.1", "A", "127.0.0.1")
    try:
        assert await in_thread(submit, env, "alice@example.test", ["dave@remote.example"], MESSAGE) == {}
        queue = transport(env.app).queue

        async def attempted() -> bool:
            listed = await queue.list()
            return bool(listed) and listed[0].recipients[0].attempts >= 1

        await wait_for(attempted)
    finally:
        await env.server.stop()
    sink.start()
    from kastell.server import Server

    server = Server(env.server.settings)
    await server.start()
    try:
        assert server.app is not None
        resolver = StaticResolver(env.resolver.records)
        transport(server.app).resolver = resolver
        queue = transport(server.app).queue
        assert len(await queue.list()) == 1
        await queue.retry()

        async def delivered() -> bool:
            return bool(sink.handler.messages) and await queue.list() == []

        await wait_for(delivered)
    finally:
        await server.stop()
        sink.stop()


async def test_delay_warning_then_delivery(tmp_path: Path) -> None:
    sink = Sink()
    sink.start()
    sink.handler.data_reply = "451 4.3.0 greylisted"
    env = await start_env(tmp_path, f"[delivery]\nmx_port = {sink.port}\ndelay_warning_after = 1\n")
    env.resolver.add("remote.example", "MX", (10, "mx.remote.example"))
    env.resolver.add("mx.remote.example", "A", "127.0.0.1")
    try:
        assert await in_thread(submit, env, "alice@example.test", ["dave@remote.example"], MESSAGE) == {}

        async def warned() -> bool:
            await transport(env.app).queue.retry()
            return bool(await env.inbox("alice@example.test"))

        await wait_for(warned)
        [dsn] = await env.inbox("alice@example.test")
        assert b"Action: delayed" in dsn and b"Status: 4.3.0" in dsn
        assert len(await transport(env.app).queue.list()) == 1  # still queued
    finally:
        await env.server.stop()
        sink.stop()


async def test_save_sent_copy_api(world: tuple[MailEnv, Sink]) -> None:
    """The internal submission API other protocols use (issue item 7)."""
    from kastell.mail.submit import submit as submit_api

    env, sink = world
    alice = await env.app.directory.get_account("alice@example.test")
    result = await submit_api(
        env.app, alice, "alice@example.test", ["bob@example.test", "dave@remote.example"], MESSAGE, save_sent=True
    )
    assert result.delivered == ("bob@example.test",) and result.queued == ("dave@remote.example",)
    [sent] = await env.inbox("alice@example.test", "sent")
    assert sent.endswith(MESSAGE.split(b"\r\n\r\n", 1)[1]) and b"Received:" in sent


async def test_mta_sts_enforce_refuses_plaintext_and_foreign_mx(world: tuple[MailEnv, Sink]) -> None:
    env, sink = world
    env.resolver.add("_mta-sts.remote.example", "TXT", "v=STSv1; id=20261128")
    runner = transport(env.app).runner
    assert runner is not None
    policies = {"remote.example": "version: STSv1\nmode: enforce\nmx: mx.remote.example\nmax_age: 3600\n"}
    runner.sts.fetch = policies.get
    assert await in_thread(submit, env, "alice@example.test", ["dave@remote.example"], MESSAGE) == {}
    queue = transport(env.app).queue

    async def attempted() -> bool:
        listed = await queue.list()
        return bool(listed) and listed[0].recipients[0].attempts >= 1

    await wait_for(attempted)
    [message] = await queue.list()
    error = message.recipients[0].last_error or ""
    assert error.startswith("451 4.7.5") and "STARTTLS" in error  # the sink offers no TLS: never plain text
    assert sink.handler.messages == []
    policies["remote.example"] = "version: STSv1\nmode: enforce\nmx: other.example\nmax_age: 3600\n"
    runner.sts._cache.clear()
    await queue.retry(message.id)

    async def refused_mx() -> bool:
        listed = await queue.list()
        return bool(listed) and listed[0].recipients[0].attempts >= 2

    await wait_for(refused_mx)
    [message] = await queue.list()
    assert (message.recipients[0].last_error or "").startswith("451 4.7.5 No MX host")
    policies["remote.example"] = "version: STSv1\nmode: testing\nmx: other.example\nmax_age: 3600\n"
    runner.sts._cache.clear()
    await queue.retry(message.id)

    async def delivered() -> bool:
        return bool(sink.handler.messages)

    await wait_for(delivered)  # testing mode: delivered as usual


async def test_queued_blob_survives_the_blob_collector(world: tuple[MailEnv, Sink]) -> None:
    """The collector marks only blobs that items reference; the runner keeps queued blobs fresh."""
    import os
    import time as _time

    env, sink = world
    sink.handler.data_reply = "451 4.3.0 later"
    queue = transport(env.app).queue
    ident = await queue.enqueue("alice@example.test", ["dave@remote.example"], b"Subject: keep\r\n\r\nme\r\n")
    [message] = [m for m in await queue.list() if m.id == ident]
    path = env.app.blobs.path(message.blob_id)
    old = _time.time() - 7200
    os.utime(path, (old, old))  # as if queued two hours ago, older than the collector's grace
    runner = transport(env.app).runner
    assert runner is not None
    runner._last_touch = 0.0
    await runner._keep_blobs()
    await env.app.store.collect_garbage(3600)
    assert path.exists()
    assert await queue.source(ident) == b"Subject: keep\r\n\r\nme\r\n"
