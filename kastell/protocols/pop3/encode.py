"""A stored message in the POP3 multi-line form (RFC 1939 §3), chunk by chunk.

:class:`MultilineEncoder` is sans-I/O: ``feed`` any split of the source and it
returns the bytes to send, ``finish`` returns the termination. It does two
things on the fly, with the little state a chunk boundary needs (the last byte
seen, and whether the output is at a line start):

* line ends become CRLF: a bare LF gets its CR (RFC 1939 §3 multi-line
  responses are CRLF-terminated lines; messages stored from mbox may have LF;
  ``formats.mime.to_crlf``, the conversion IMAP uses too);
* a line that begins with "." gets another "." (byte-stuffing, RFC 1939 §3).

The termination is "." on a line of its own, after a CRLF if the message did
not end with one. The encoder never holds more than one chunk, so a large RETR
streams in constant memory.
"""

from __future__ import annotations

import re

from kastell.formats.mime import to_crlf

_DOT_AFTER_LF = re.compile(rb"(?<=\n)\.")


class MultilineEncoder:
    def __init__(self) -> None:
        self._last = b""  # the last source byte fed (is an LF at the next chunk's start bare?)
        self._at_line_start = True

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        # A CRLF split between two chunks: an LF first is not bare.
        split = chunk[:1] == b"\n" and self._last == b"\r"
        out = b"\n" + to_crlf(chunk[1:]) if split else to_crlf(chunk)
        out = _DOT_AFTER_LF.sub(b"..", out)
        if self._at_line_start and out[:1] == b".":
            out = b"." + out
        self._last = chunk[-1:]
        self._at_line_start = out.endswith(b"\n")
        return out

    def finish(self) -> bytes:
        return b".\r\n" if self._at_line_start else b"\r\n.\r\n"


def encode(source: bytes) -> bytes:
    """The whole multi-line body of ``source`` (for TOP and tests)."""
    encoder = MultilineEncoder()
    return encoder.feed(source) + encoder.finish()


def top(source: bytes, lines: int) -> bytes:
    """The header, the blank line and the first ``lines`` lines of the body (RFC 1939 §7 TOP).

    The header ends at the first empty line (CRLF CRLF or LF LF); a message
    without one is all header.
    """
    crlf = source.find(b"\r\n\r\n")
    lf = source.find(b"\n\n")
    candidates = [(crlf, 4), (lf, 2)]
    found = [(pos, width) for pos, width in candidates if pos >= 0]
    if not found:
        return source
    pos, width = min(found)
    end = pos + width
    body = source[end:]
    cut = 0
    for _ in range(lines):
        nl = body.find(b"\n", cut)
        if nl < 0:
            cut = len(body)
            break
        cut = nl + 1
    return source[:end] + body[:cut]
