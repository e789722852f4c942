"""Line ends as the mail protocols send them: CRLF (RFC 5322 §2.1).

Kastell stores a message's bytes exactly as received, bare LFs included
(messages from mbox files and Unix tools); IMAP and POP3 send each LF that no
CR precedes as CRLF, as Dovecot does.  This is the one conversion they share.
"""

from __future__ import annotations

__all__ = ["has_bare_lf", "to_crlf"]


def has_bare_lf(data: bytes) -> bool:
    """True when some LF in ``data`` has no CR before it."""
    lf = data.count(b"\n")
    return lf != 0 and lf != data.count(b"\r\n")


def to_crlf(data: bytes) -> bytes:
    """``data`` with CR put before every LF that has none (other bytes, stray
    CRs included, unchanged).  Returns ``data`` itself when nothing changes."""
    if not has_bare_lf(data):
        return data
    # Two C-level passes instead of a regex: CRLF -> LF, then every LF -> CRLF.
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
