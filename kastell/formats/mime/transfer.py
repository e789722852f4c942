"""Content-Transfer-Encoding decoders (RFC 2045 §6) that tolerate damage.

Broken base64 is common (truncated attachments, stray characters, several
base64 streams concatenated with their own padding); we decode as much as we
can instead of failing, because a half-readable attachment beats an error.
"""

from __future__ import annotations

import binascii
import re

__all__ = ["b64decode", "qpdecode", "transfer_decode"]

_NOT_B64 = re.compile(rb"[^A-Za-z0-9+/]+")
_B64_CHAR = re.compile(rb"[A-Za-z0-9+/]")
_PADDING = re.compile(rb"=+")


def _b64_segment(seg: bytes) -> bytes:
    clean = _NOT_B64.sub(b"", seg)
    rem = len(clean) % 4
    if rem == 1:
        clean = clean[:-1]  # a lone sextet carries no whole byte
    elif rem:
        clean += b"=" * (4 - rem)
    try:
        return binascii.a2b_base64(clean)
    except (binascii.Error, ValueError):  # pragma: no cover - clean input
        return b""


def b64decode(data: bytes) -> bytes:
    """Decode base64, ignoring junk, fixing padding, joining padded streams.

    Never raises.  Fast path: one binascii call for well-formed input.
    """
    eq = data.find(b"=")
    # binascii stops at the first padding; if base64 continues after it the
    # body is several concatenated streams, which we decode one by one.
    if eq < 0 or _B64_CHAR.search(data, eq) is None:
        try:
            return binascii.a2b_base64(data)
        except (binascii.Error, ValueError):
            pass
        return _b64_segment(data)
    return b"".join(_b64_segment(seg) for seg in _PADDING.split(data))


def qpdecode(data: bytes, header: bool = False) -> bytes:
    """Decode quoted-printable (RFC 2045 §6.7; ``header`` for RFC 2047 Q).

    binascii keeps malformed ``=XY`` escapes literally, which is the
    tolerant behaviour we want.
    """
    try:
        return binascii.a2b_qp(data, header=header)
    except (binascii.Error, ValueError):  # pragma: no cover - a2b_qp is lenient
        return data


def transfer_decode(data: bytes, encoding: str) -> bytes:
    """Undo ``encoding`` (lower-case CTE); identity for 7bit/8bit/binary and
    for encodings we do not know (the bytes are returned unchanged)."""
    if encoding == "base64":
        return b64decode(data)
    if encoding == "quoted-printable":
        return qpdecode(data)
    return data
