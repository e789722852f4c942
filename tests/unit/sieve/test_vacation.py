"""Vacation suppression rules (RFC 5230 §4.5, RFC 3834) and the reply."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from kastell.sieve import Envelope, Vacation
from kastell.sieve.vacation import compose_reply

from .helpers import message, run

SCRIPT = 'require "vacation"; vacation :addresses "bob.alias@example.com" "I am away";'


def _suppressed(msg: bytes, envelope: Envelope | None = None, **kwargs: object) -> str | None:
    args = {"envelope": envelope} if envelope else {}
    vacation = run(SCRIPT, msg, **args, **kwargs).actions[0]  # type: ignore[arg-type]
    assert isinstance(vacation, Vacation)
    return vacation.suppressed


def test_reply_allowed() -> None:
    assert _suppressed(message()) is None
    assert _suppressed(message(To="x@example.net", Cc="BOB@example.com")) is None
    assert _suppressed(message(To="bob.alias@example.com")) is None  # :addresses
    assert _suppressed(message(To="other@example.com"), user_addresses=("other@example.com",)) is None
    assert _suppressed(message(), Envelope("alice@example.org", "bob+work@example.com")) is None  # detail stripped
    assert _suppressed(message(Auto_Submitted="no")) is None


@pytest.mark.parametrize(
    ("envelope_sender", "fields", "fragment"),
    [
        ("", {}, "null sender"),
        ("MAILER-DAEMON@example.org", {}, "system sender"),
        ("owner-list@example.org", {}, "system sender"),
        ("list-request@example.org", {}, "system sender"),
        ("LISTSERV@example.org", {}, "system sender"),
        ("bob@example.com", {}, "own address"),
        ("alice@example.org", {"Auto_Submitted": "auto-replied"}, "auto-submitted"),
        ("alice@example.org", {"List_Id": "<l.example.org>"}, "mailing list"),
        ("alice@example.org", {"List_Unsubscribe": "<mailto:u@example.org>"}, "mailing list"),
        ("alice@example.org", {"Precedence": "bulk"}, "precedence bulk"),
        ("alice@example.org", {"Precedence": "junk"}, "precedence junk"),
        ("alice@example.org", {"To": "someone@example.net"}, "not in To/Cc/Bcc"),
    ],
)
def test_reply_suppressed(envelope_sender: str, fields: dict[str, str], fragment: str) -> None:
    reason = _suppressed(message(**fields), Envelope(envelope_sender, "bob@example.com"))
    assert reason is not None and fragment in reason


def test_compose_reply() -> None:
    original = message(Subject="=?utf-8?q?Gr=C3=BC=C3=9Fe?=", References="<r0@example.org>")
    [vacation, _] = run(SCRIPT.replace('"I am away"', '"Ich bin weg – bis Montag."'), original).actions
    assert isinstance(vacation, Vacation)
    now = datetime(2024, 3, 15, 12, 0, tzinfo=UTC)
    raw = compose_reply(
        vacation, original, from_address="Bob <bob@example.com>", now=now, message_id_domain="example.com"
    )
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"] == "alice@example.org"
    assert parsed["From"] == "Bob <bob@example.com>"
    assert str(parsed["Subject"]) == "Auto: Grüße"
    assert parsed["In-Reply-To"] == "<m1@example.org>"
    assert parsed["References"] == "<r0@example.org> <m1@example.org>"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Message-ID"].endswith("@example.com>")
    assert parsed["Date"] == "Fri, 15 Mar 2024 12:00:00 +0000"
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert parsed.get_content().strip() == "Ich bin weg – bis Montag."


def test_compose_reply_subject_from_and_mime() -> None:
    script = """require "vacation";
        vacation :subject "Away" :from "Robert <robert@example.com>" :mime text:
Content-Type: multipart/alternative; boundary=foo

--foo
Content-Type: text/plain; charset=us-ascii

I'm away.
--foo--
.
;"""
    [vacation, _] = run(script).actions
    assert isinstance(vacation, Vacation) and vacation.mime
    raw = compose_reply(
        vacation, message(), from_address="bob@example.com", now=datetime.now(UTC), message_id_domain="x"
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Away"
    assert parsed["From"] == "Robert <robert@example.com>"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content().strip() for p in parsed.iter_parts()] == ["I'm away."]
    assert b"\r\nSubject: Away\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")


def test_compose_reply_plain_ascii() -> None:
    [vacation, _] = run(SCRIPT).actions
    assert isinstance(vacation, Vacation)
    raw = compose_reply(
        vacation,
        b"garbage without headers",
        from_address="bob@example.com",
        now=datetime.now(UTC),
        message_id_domain="x",
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Auto:" or str(parsed["Subject"]).startswith("Auto:")
    assert "In-Reply-To" not in parsed
    assert parsed.get_content().replace("\r\n", "\n") == "I am away\n"
