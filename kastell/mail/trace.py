"""Trace and submission headers: ``Received:`` (RFC 5321 4.4), ``Return-Path:``, Date/Message-ID.

Received has no ``for <recipient>`` clause on purpose: every local recipient
gets the same bytes, and the blob store keeps them once.
"""

from __future__ import annotations

import email.utils
import re
import secrets

_NAME = re.compile(r"[^A-Za-z0-9.\-:\[\]_]")


def _safe(text: str, limit: int = 100) -> str:
    """A HELO name or address as it may appear in a header: no CR/LF, no comment breakers."""
    return _NAME.sub("?", text)[:limit] or "unknown"


def received(*, helo: str | None, client_ip: str | None, by: str, protocol: str, queue_id: str | None = None) -> bytes:
    """``protocol`` per RFC 3848: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, LMTP, LMTPS…"""
    ident = queue_id or secrets.token_hex(8)
    source = f"from {_safe(helo or 'unknown')} ([{_safe(client_ip or 'local')}])"
    stamp = email.utils.formatdate(localtime=False)
    return f"Received: {source}\r\n\tby {_safe(by)} (Kastell) with {protocol} id {ident};\r\n\t{stamp}\r\n".encode()


def return_path(sender: str) -> bytes:
    sender = "" if sender == "<>" else sender
    return b"Return-Path: <" + sender.replace("\r", "").replace("\n", "").encode("utf-8", "surrogateescape") + b">\r\n"


def header_block(message: bytes) -> bytes:
    end = message.find(b"\r\n\r\n")
    return message if end < 0 else message[: end + 2]


def has_header(message: bytes, name: bytes) -> bool:
    return re.search(rb"(?im)^" + re.escape(name) + rb"[ \t]*:", header_block(message)) is not None


def complete_submission(message: bytes, hostname: str) -> bytes:
    """Add Date and Message-ID when the client left them out (RFC 6409 8.2, 8.3)."""
    added = b""
    if not has_header(message, b"date"):
        added += f"Date: {email.utils.formatdate(localtime=False)}\r\n".encode()
    if not has_header(message, b"message-id"):
        added += f"Message-ID: <{secrets.token_hex(16)}@{_safe(hostname)}>\r\n".encode()
    return added + message if added else message
