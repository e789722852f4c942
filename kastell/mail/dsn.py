"""Delivery status notifications (RFC 3464): bounces and delay warnings.

``build_dsn`` makes a ``multipart/report; report-type=delivery-status`` message
(RFC 6522) with three parts: a human-readable explanation, the
``message/delivery-status`` fields (one per-message block, one block per
recipient: RFC 3464 2.2 and 2.3), and the original message's header
(``text/rfc822-headers``; the whole message is not returned, which keeps
bounces small and does not reflect large payloads back).

A DSN is sent with the null reverse-path (RFC 5321 4.5.5), so a DSN is never
answered by another DSN.
"""

from __future__ import annotations

import email.utils
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded (RFC 3464 2.3.3)
    status: str  # x.y.z (RFC 3463)
    diagnostic: str = ""  # the remote server's reply, as "smtp; 550 5.1.1 ..."
    remote: str = ""  # the remote MTA's name
    last_attempt: int | None = None


def _header_of(original: bytes, limit: int = 64 * 1024) -> bytes:
    end = original.find(b"\r\n\r\n")
    head = original[: end + 2] if end >= 0 else original[:limit]
    return head[:limit]


def _clean(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())[:900]


def build_dsn(
    *,
    reporting_mta: str,
    to: str,
    original: bytes,
    statuses: Sequence[RecipientStatus],
    envid: str | None = None,
    arrival: int | None = None,
) -> bytes:
    """The DSN's RFC 5322 bytes, CRLF line ends."""
    delayed = all(s.action == "delayed" for s in statuses)
    boundary = "kastell-dsn-" + secrets.token_hex(12)
    now = email.utils.formatdate(localtime=False)
    subject = "Delayed Mail (still being retried)" if delayed else "Undelivered Mail Returned to Sender"
    lines = [
        f"From: Mail Delivery System <MAILER-DAEMON@{reporting_mta}>",
        f"To: <{to}>",
        f"Subject: {subject}",
        f"Date: {now}",
        f"Message-ID: <{secrets.token_hex(16)}@{reporting_mta}>",
        "Auto-Submitted: auto-replied",  # RFC 3834 5
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Description: Notification",
        "",
    ]
    if delayed:
        lines.append(f"This is the mail system at {reporting_mta}. Your message has not been delivered yet;")
        lines.append("it is still being retried. You do not need to send it again.")
    else:
        lines.append(f"This is the mail system at {reporting_mta}. Your message could not be delivered")
        lines.append("to one or more recipients; it has been given up on.")
    lines.append("")
    for status in statuses:
        reason = f": {_clean(status.diagnostic)}" if status.diagnostic else ""
        lines.append(f"<{status.recipient}>{reason}")
    lines += ["", f"--{boundary}", "Content-Type: message/delivery-status", "", f"Reporting-MTA: dns; {reporting_mta}"]
    if envid:
        lines.append(f"Original-Envelope-Id: {_clean(envid)}")
    if arrival:
        lines.append(f"Arrival-Date: {email.utils.formatdate(arrival)}")
    for status in statuses:
        lines += [
            "",
            f"Final-Recipient: rfc822; {status.recipient}",
            f"Action: {status.action}",
            f"Status: {status.status}",
        ]
        if status.remote:
            lines.append(f"Remote-MTA: dns; {status.remote}")
        if status.diagnostic:
            lines.append(f"Diagnostic-Code: {_clean(status.diagnostic)}")
        if status.last_attempt:
            lines.append(f"Last-Attempt-Date: {email.utils.formatdate(status.last_attempt)}")
        if delayed:
            lines.append(f"Will-Retry-Until: {email.utils.formatdate(time.time() + 86400)}")
    lines += ["", f"--{boundary}", "Content-Type: text/rfc822-headers", "", ""]
    text = "\r\n".join(lines).encode("utf-8")
    head = _header_of(original)
    tail = f"\r\n--{boundary}--\r\n".encode()
    return text.removesuffix(b"\r\n") + b"\r\n" + head + tail


def status_of(code: int, text: str) -> str:
    """The RFC 3463 status of an SMTP reply: its enhanced code when it gives one."""
    first = text.split(" ", 1)[0]
    parts = first.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and parts[0] in ("2", "4", "5"):
        return first
    return {2: "2.0.0", 4: "4.0.0", 5: "5.0.0"}.get(code // 100, "4.0.0")
