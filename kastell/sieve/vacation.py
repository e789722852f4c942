"""Vacation (RFC 5230): when a reply must not be sent, the default handle,
and the reply message itself (§5).

:func:`suppression` applies the RFC 5230 §4.5 / RFC 3834 §2 rules that
depend only on the message and the envelope; the "once per sender per
period" tracking is the caller's (it keys on ``Vacation.handle`` and
``Vacation.reply_to`` for ``Vacation.seconds``).
"""

from __future__ import annotations

import email.utils
import hashlib
import quopri
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from email.header import Header
from typing import TYPE_CHECKING

from kastell.formats.mime.addresses import parse_address_list
from kastell.formats.mime.charsets import header_str
from kastell.formats.mime.encoded_words import decode_words

from .actions import Vacation
from .addresses import strip_detail

if TYPE_CHECKING:
    from .message import MessageView

__all__ = ["compose_reply", "default_handle", "suppression"]

# RFC 3834 §2 / RFC 5230 §4.5: never answer these senders.
_SYSTEM_LOCALPARTS = re.compile(
    r"(mailer-daemon|listserv|majordomo|owner-.*|.*-request|.*-owner|postmaster|.*-bounces?(\+.*)?|noreply|no-reply|do-not-reply|donotreply)\Z",
    re.I,
)
_LIST_HEADERS = (
    "list-id",
    "list-help",
    "list-subscribe",
    "list-unsubscribe",
    "list-post",
    "list-owner",
    "list-archive",
)
_RECIPIENT_HEADERS = ("to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc")


def default_handle(reason: str, subject: str | None, from_address: str | None, mime: bool) -> str:
    """RFC 5230 §4.2: without :handle, replies with the same reason,
    subject, from and :mime share one handle."""
    data = "\0".join((reason, subject or "", from_address or "", "mime" if mime else ""))
    return "vacation-" + hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _norm(address: str) -> str:
    return address.strip().strip("<>").lower()


def suppression(message: MessageView, sender: str, own_addresses: Iterable[str]) -> str | None:
    """Why no reply may be sent to this message, or None."""
    if not sender.strip("<> "):
        return "null sender"
    own = {_norm(a) for a in own_addresses if a}
    own |= {strip_detail(a) for a in own}
    sender_n = _norm(sender)
    if sender_n in own or strip_detail(sender_n) in own:
        return "sender is the user's own address"
    local = sender_n.rpartition("@")[0] or sender_n
    if _SYSTEM_LOCALPARTS.match(local):
        return f"system sender {sender!r}"
    for value in message.headers("auto-submitted"):
        if value.split(";")[0].strip().lower() != "no":
            return "auto-submitted message"
    for name in _LIST_HEADERS:
        if message.has_header(name):
            return f"mailing list message ({name})"
    for value in message.headers("precedence"):
        if value.strip().lower() in ("bulk", "list", "junk"):
            return f"precedence {value.strip().lower()}"
    for value in message.headers("x-auto-response-suppress"):
        if {v.strip().lower() for v in value.split(",")} & {"all", "oof", "autoreply"}:
            return "X-Auto-Response-Suppress"
    recipients = set()
    for name in _RECIPIENT_HEADERS:
        for raw in message.raw_headers(name):
            for addr in parse_address_list(raw):
                if addr.addr:
                    recipients.add(addr.addr.lower())
                    recipients.add(strip_detail(addr.addr.lower()))
    if not recipients & own:
        return "user's address not in To/Cc/Bcc"
    return None


def _header_text(value: str) -> str:
    """A header value safe to emit: no line breaks, RFC 2047 when not ASCII."""
    value = re.sub(r"[\r\n]+", " ", value).strip()
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(maxlinelen=76).replace("\n", "\r\n")


def _address_header(value: str) -> str:
    value = re.sub(r"[\r\n]+", " ", value).strip()
    name, addr = email.utils.parseaddr(value)
    if not addr:
        return _header_text(value)
    if not name:
        return f"<{addr}>" if "<" in value else addr
    return email.utils.formataddr((name, addr), charset="utf-8")


def compose_reply(
    action: Vacation, original: bytes, *, from_address: str, now: datetime, message_id_domain: str
) -> bytes:
    """The RFC 5230 §5 reply to ``original`` as CRLF bytes ready for SMTP."""
    from .message import MessageView

    msg = MessageView(original)
    subject = action.subject
    if subject is None:
        orig_subject = msg.headers("subject")
        subject = "Auto: " + (orig_subject[0] if orig_subject else "")  # RFC 5230 §4.3
    raw_ids = msg.raw_headers("message-id")
    msgid = header_str(raw_ids[0]).strip() if raw_ids else ""
    references = [header_str(r).strip() for r in msg.raw_headers("references")][:1]
    lines = [
        f"From: {_address_header(action.from_address or from_address)}",
        f"To: <{action.reply_to.strip('<>')}>",
        f"Subject: {_header_text(decode_words(subject))}",
        f"Date: {email.utils.format_datetime(now)}",
        f"Message-ID: <{uuid.uuid4().hex}@{message_id_domain}>",
    ]
    if msgid and "\n" not in msgid and "\r" not in msgid:
        lines.append(f"In-Reply-To: {msgid}")
        refs = re.sub(r"[\r\n]+", " ", " ".join(r for r in (*references, msgid) if r))
        lines.append(f"References: {refs}")
    lines.append("Auto-Submitted: auto-replied")
    lines.append("MIME-Version: 1.0")
    head = "\r\n".join(lines) + "\r\n"
    reason = re.sub(r"\r?\n", "\r\n", action.reason)
    if action.mime:
        # The reason is a whole MIME entity: its header fields join ours.
        entity = reason.lstrip("\r\n")
        if "\r\n\r\n" not in entity and not entity.startswith("\r\n"):
            entity = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + entity
        return (head + entity + ("" if entity.endswith("\r\n") else "\r\n")).encode("utf-8")
    if not reason.endswith("\r\n"):
        reason += "\r\n"
    if reason.isascii() and all(len(line) <= 998 for line in reason.split("\r\n")):
        body = reason
        cte = "7bit"
    else:
        body = quopri.encodestring(reason.encode("utf-8")).decode("ascii")
        body = re.sub(r"(?<!\r)\n", "\r\n", body)
        cte = "quoted-printable"
    head += f"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    return (head + body).encode("utf-8")
