"""Rules at delivery, end to end: scripts uploaded over ManageSieve, mail over LMTP/SMTP,
replies and forwards caught by the sink smarthost, mail read back over IMAP."""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import warnings
from typing import Any

import pytest
from sievelib.managesieve import Client

from kastell.rules import forwarding, oof
from kastell.store.flags import Flag
from tests.mail.mailenv import PASSWORD, MailEnv, Sink, in_thread

pytestmark = pytest.mark.anyio

SCRIPT = """require ["fileinto", "mailbox", "imap4flags", "vacation", "variables", "envelope"];
if header :contains "List-Id" "dev.example" {
    fileinto :create :flags "\\\\Seen" "Lists/dev";
    stop;
}
if header :matches "Subject" "[*] *" {
    set "tag" "${1}";
    fileinto :create "Tagged/${tag}";
}
if header :contains "Subject" "urgent" {
    addflag "\\\\Flagged";
}
vacation :days 3 :subject "Away" :addresses ["ali@example.test"] "I am away until Monday.";
"""


def message(sender: str, subject: str, *, extra: str = "", message_id: str = "") -> bytes:
    mid = message_id or f"<{abs(hash((sender, subject, extra)))}@remote.example>"
    return (
        f"From: {sender}\r\nTo: alice@example.test\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n{extra}\r\nHello.\r\n"
    ).encode()


def lmtp(env: MailEnv, sender: str, rcpts: list[str], body: bytes) -> dict[str, tuple[int, bytes]]:
    """Deliver over LMTP; the refused recipients with their replies (RFC 2033: one DATA reply per RCPT)."""
    client = smtplib.LMTP("127.0.0.1", env.ports["lmtp"])
    try:
        client.ehlo("mta.example.test")
        code, text = client.mail(sender)
        assert code == 250, text
        for rcpt in rcpts:
            code, text = client.rcpt(rcpt)
            assert code == 250, text
        code, text = client.docmd("DATA")
        assert code == 354, text
        client.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        replies = {rcpt: client.getreply() for rcpt in rcpts}
        return {rcpt: reply for rcpt, reply in replies.items() if reply[0] != 250}
    finally:
        client.close()


def smtp(env: MailEnv, sender: str, rcpts: list[str], body: bytes) -> dict[str, tuple[int, bytes]] | str:
    """Send over SMTP to the MX listener; the refused recipients, "refused" when all were at RCPT,
    or the reply when DATA was refused."""
    with smtplib.SMTP("127.0.0.1", env.ports["smtp"], timeout=10) as client:
        try:
            return client.sendmail(sender, rcpts, body)
        except smtplib.SMTPRecipientsRefused:
            return "refused"
        except smtplib.SMTPDataError as exc:
            return f"{exc.smtp_code} {exc.smtp_error.decode()}"


def upload(env: MailEnv, name: str, script: str, user: str = "alice@example.test") -> None:
    c = Client("127.0.0.1", env.ports["managesieve"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert c.connect(user, PASSWORD, authmech="PLAIN")
    assert c.putscript(name, script)
    assert c.setactive(name)
    c.logout()


def imap_folder(env: MailEnv, folder: str, user: str = "alice@example.test") -> list[tuple[bytes, bytes]]:
    """(flags, subject) of every message in ``folder``, read with imaplib."""
    with imaplib.IMAP4("127.0.0.1", env.ports["imap"]) as client:
        client.login(user, PASSWORD)
        typ, _ = client.select(f'"{folder}"', readonly=True)
        assert typ == "OK", folder
        typ, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        if data == [None]:
            return []
        out = []
        for entry in data:
            if isinstance(entry, tuple):
                out.append((entry[0], entry[1].strip()))
        return out


def _sample(name: str) -> float:
    from kastell.ops.metrics import REGISTRY

    if name == "reject":
        value = REGISTRY.get_sample_value("kastell_rule_actions_total", {"action": "reject"})
    else:
        value = REGISTRY.get_sample_value("kastell_deliveries_total", {"where": "local", "result": name})
    return value or 0.0


async def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


async def settle(sink: Sink, count: int) -> None:
    async def arrived() -> bool:
        return len(sink.handler.messages) >= count

    await wait_for(arrived)
    await asyncio.sleep(0.3)  # nothing more is on its way


async def test_filing_flags_and_one_vacation_reply(rules_env: tuple[MailEnv, Sink]) -> None:
    env, sink = rules_env
    await in_thread(upload, env, "main", SCRIPT)
    carol, dave = "carol@remote.example", "dave@remote.example"
    deliveries = [
        (carol, message(carol, "weekly digest", extra="List-Id: Dev <dev.example>\r\n")),
        (carol, message(carol, "[project] kickoff")),
        (carol, message(carol, "this is urgent")),
        (carol, message(carol, "again")),  # a second message from carol: no second reply
        (dave, message(dave, "hi", extra="Precedence: bulk\r\n")),  # bulk: no reply
        (dave, message(dave, "auto", extra="Auto-Submitted: auto-generated\r\n")),  # automatic: no reply
        ("", message("mailer-daemon@remote.example", "bounce")),  # null sender: no reply
        (dave, message(dave, "hello there")),  # dave's first personal message: a reply
    ]
    for sender, body in deliveries:
        assert await in_thread(lmtp, env, sender, ["alice@example.test"], body) == {}

    lists = await env.inbox_path("alice@example.test", "Lists/dev")
    assert [(subject, bool(flags & Flag.SEEN)) for subject, flags in lists] == [("weekly digest", True)]
    seen_by_imap = await in_thread(imap_folder, env, "Lists/dev")
    assert len(seen_by_imap) == 1 and b"\\Seen" in seen_by_imap[0][0] and b"weekly digest" in seen_by_imap[0][1]
    tagged = await env.inbox_path("alice@example.test", "Tagged/project")
    assert [s for s, _ in tagged] == ["[project] kickoff"]
    inbox = await env.inbox_path("alice@example.test", "INBOX")
    subjects = {s: f for s, f in inbox}
    assert "weekly digest" not in subjects and "[project] kickoff" not in subjects  # fileinto cancels keep
    assert subjects["this is urgent"] & Flag.FLAGGED and not subjects["again"] & Flag.FLAGGED

    await settle(sink, 2)
    replies = sink.handler.messages
    assert sorted(rcpts[0] for _, rcpts, _ in replies) == [carol, dave]
    for sender, _rcpts, data in replies:
        assert sender in ("", "<>")  # RFC 5230 §5: the null return path
        assert b"Auto-Submitted: auto-replied" in data
        assert b"Subject: Away" in data
        assert b"I am away until Monday." in data
        assert b"In-Reply-To: <" in data


async def test_vacation_needs_own_address_in_headers(rules_env: tuple[MailEnv, Sink]) -> None:
    env, sink = rules_env
    await in_thread(upload, env, "v", 'require "vacation";\nvacation "Away.";\n')
    bcc = b"From: erin@remote.example\r\nTo: someone@remote.example\r\nSubject: x\r\n\r\nbody\r\n"
    assert await in_thread(lmtp, env, "erin@remote.example", ["alice@example.test"], bcc) == {}
    to_alias = message("fred@remote.example", "to the alias").replace(b"To: alice@", b"To: ali@")
    assert await in_thread(lmtp, env, "fred@remote.example", ["alice@example.test"], to_alias) == {}
    await settle(sink, 1)
    assert [rcpts for _, rcpts, _ in sink.handler.messages] == [["fred@remote.example"]]


async def test_reject_at_lmtp_time(rules_env: tuple[MailEnv, Sink]) -> None:
    env, _ = rules_env
    await in_thread(
        upload, env, "r", 'require "reject";\nif header :contains "subject" "casino" { reject "No, thanks."; }\n'
    )
    before = {k: _sample(k) for k in ("failed", "delivered", "reject")}
    refused = await in_thread(
        lmtp,
        env,
        "spam@remote.example",
        ["alice@example.test", "bob@example.test"],
        message("x@remote.example", "casino"),
    )
    assert list(refused) == ["alice@example.test"]
    code, text = refused["alice@example.test"]
    assert code == 550 and b"5.7.1" in text and b"No, thanks." in text
    assert len(await env.inbox("bob@example.test")) == 1
    assert await env.inbox("alice@example.test") == []
    # /metrics counts the refusal, bob's delivery and the rule action
    assert _sample("failed") == before["failed"] + 1 and _sample("delivered") == before["delivered"] + 1
    assert _sample("reject") == before["reject"] + 1
    ok = await in_thread(lmtp, env, "x@remote.example", ["alice@example.test"], message("x@remote.example", "fine"))
    assert ok == {} and len(await env.inbox("alice@example.test")) == 1


async def test_forwarding_with_srs_and_bounce_back(rules_env: tuple[MailEnv, Sink]) -> None:
    env, sink = rules_env
    alice = await env.app.directory.get_account("alice@example.test")
    await forwarding.put(env.app.db, alice.org_id, alice.id, ["dave@remote.example"], keep=True)
    body = message("carol@remote.example", "please forward")
    assert await in_thread(lmtp, env, "carol@remote.example", ["alice@example.test"], body) == {}
    await settle(sink, 1)
    sender, rcpts, data = sink.handler.messages[0]
    assert rcpts == ["dave@remote.example"]
    assert sender.startswith("SRS0=") and sender.endswith("@example.test") and "remote.example=carol" in sender
    assert data.endswith(body) and b"Delivered-To: alice@example.test" in data
    assert len(await env.inbox("alice@example.test")) == 1  # kept

    # A bounce to the rewritten sender goes back to carol (through the queue, so to the sink).
    bounce = b"From: MAILER-DAEMON@remote.example\r\nSubject: Undelivered\r\n\r\nsorry\r\n"
    assert await in_thread(smtp, env, "", [sender], bounce) == {}
    await settle(sink, 2)
    _, rcpts, _ = sink.handler.messages[1]
    assert rcpts == ["carol@remote.example"]
    forged = sender.replace("SRS0=", "SRS0=x", 1)
    assert await in_thread(smtp, env, "", [forged], bounce) == "refused"


async def test_forward_without_copy_and_loop_protection(rules_env: tuple[MailEnv, Sink]) -> None:
    env, sink = rules_env
    alice = await env.app.directory.get_account("alice@example.test")
    bob = await env.app.directory.get_account("bob@example.test")
    await forwarding.put(env.app.db, alice.org_id, alice.id, ["bob@example.test"], keep=False)
    await forwarding.put(env.app.db, bob.org_id, bob.id, ["alice@example.test"], keep=False)
    body = message("carol@remote.example", "ping-pong")
    assert await in_thread(lmtp, env, "carol@remote.example", ["alice@example.test"], body) == {}
    # alice -> bob -> alice: the second visit to alice sees her Delivered-To and keeps the message.
    alice_mail = await env.inbox("alice@example.test")
    bob_mail = await env.inbox("bob@example.test")
    assert len(alice_mail) + len(bob_mail) == 1
    assert sink.handler.messages == []


async def test_out_of_office_internal_and_external(rules_env: tuple[MailEnv, Sink]) -> None:
    env, sink = rules_env
    alice = await env.app.directory.get_account("alice@example.test")
    await oof.put(
        env.app.db, alice.org_id, alice.id,
        oof.OutOfOffice(enabled=True, internal_message="Back Monday, colleague.", external_message="I am out."),
    )  # fmt: skip
    await in_thread(
        upload, env, "mine", 'require "fileinto";\nif header :is "subject" "file me" { fileinto "INBOX"; }\n'
    )
    external = message("gina@remote.example", "file me")
    assert await in_thread(lmtp, env, "gina@remote.example", ["alice@example.test"], external) == {}
    internal = message("bob@example.test", "hello colleague")
    assert await in_thread(lmtp, env, "bob@example.test", ["alice@example.test"], internal) == {}
    await settle(sink, 1)
    [(sender, rcpts, data)] = sink.handler.messages
    assert rcpts == ["gina@remote.example"] and b"I am out." in data
    bob_inbox = await env.inbox("bob@example.test")
    assert len(bob_inbox) == 1 and b"Back Monday, colleague." in bob_inbox[0]
    assert len(await env.inbox("alice@example.test")) == 2  # the rules coexist: both were kept

    await oof.put(env.app.db, alice.org_id, alice.id, oof.OutOfOffice(enabled=False))
    again = message("hank@remote.example", "after")
    assert await in_thread(lmtp, env, "hank@remote.example", ["alice@example.test"], again) == {}
    await asyncio.sleep(0.5)
    assert len(sink.handler.messages) == 1


async def test_runtime_error_keeps_the_message(rules_env: tuple[MailEnv, Sink]) -> None:
    env, _ = rules_env
    await in_thread(
        upload, env, "inc", 'require ["include", "fileinto"];\ninclude :personal "missing";\nfileinto "Elsewhere";\n'
    )
    assert (
        await in_thread(lmtp, env, "x@remote.example", ["alice@example.test"], message("x@remote.example", "keep me"))
        == {}
    )
    assert len(await env.inbox("alice@example.test")) == 1


async def test_reject_after_acceptance_is_a_dsn(rules_env: tuple[MailEnv, Sink]) -> None:
    """Over SMTP with a second recipient the message is accepted; the rejecting one's sender gets a DSN."""
    env, sink = rules_env
    await in_thread(upload, env, "r", 'require "reject";\nreject "Not here.";\n')
    body = message("zed@remote.example", "two of us")
    assert await in_thread(smtp, env, "zed@remote.example", ["alice@example.test", "bob@example.test"], body) == {}
    assert len(await env.inbox("bob@example.test")) == 1 and await env.inbox("alice@example.test") == []
    await settle(sink, 1)
    sender, rcpts, data = sink.handler.messages[0]
    assert sender in ("", "<>") and rcpts == ["zed@remote.example"]
    assert b"multipart/report" in data and b"alice@example.test" in data and b"Not here." in data
    # Alone, the recipient's refusal is the SMTP answer to DATA itself.
    assert await in_thread(smtp, env, "zed@remote.example", ["alice@example.test"], body) == "550 5.7.1 Not here."


async def test_envelope_to_is_the_address_used(rules_env: tuple[MailEnv, Sink]) -> None:
    """A script sees the RCPT address that reached the account: an alias, a +tag, the primary."""
    env, _ = rules_env
    script = (
        'require ["envelope", "fileinto", "mailbox", "subaddress"];\n'
        'if envelope :all :is "to" "ali@example.test" { fileinto :create "ViaAlias"; }\n'
        'elsif envelope :detail "to" "news" { fileinto :create "News"; }\n'
    )
    await in_thread(upload, env, "env", script)
    for rcpt, subject in (("ali@example.test", "alias"), ("alice+news@example.test", "tagged"),
                          ("alice@example.test", "plain")):  # fmt: skip
        assert await in_thread(lmtp, env, "x@remote.example", [rcpt], message("x@remote.example", subject)) == {}
    assert [s for s, _ in await env.inbox_path("alice@example.test", "ViaAlias")] == ["alias"]
    assert [s for s, _ in await env.inbox_path("alice@example.test", "News")] == ["tagged"]
    assert [s for s, _ in await env.inbox_path("alice@example.test", "INBOX")] == ["plain"]
