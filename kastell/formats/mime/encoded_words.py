"""RFC 2047 encoded-word decoding for unstructured headers and phrases.

Deliberately more lenient than the RFC, like mainstream MUAs: words glued to
surrounding text are decoded too, and adjacent words in the same charset are
concatenated *before* charset decoding, because senders routinely split one
multi-byte character (or an ISO-2022-JP escape sequence) across two words.
"""

from __future__ import annotations

import re

from .charsets import decode_charset
from .transfer import b64decode, qpdecode

__all__ = ["decode_words"]

# encoded-word = "=?" charset ["*" language] "?" encoding "?" encoded-text "?="
# (RFC 2047 §2, RFC 2231 §5).  Encoded text may not contain "?"; we tolerate
# spaces in it because some senders emit them.
_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?]*)\?=")


def _decode_word(enc: str, text: str) -> bytes:
    data = text.encode("utf-8", "replace")
    if enc in "bB":
        return b64decode(data)
    return qpdecode(data, header=True)


def decode_words(value: str) -> str:
    """Replace RFC 2047 encoded words in ``value`` by their text.

    Whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2).
    Unknown charsets decode as UTF-8 with replacement characters.  Never
    raises.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    run: list[tuple[str, bytearray]] = []  # adjacent words, merged per charset
    pos = 0
    for m in _WORD.finditer(value):
        gap = value[pos : m.start()]
        if run and (not gap or gap.isspace()):
            pass  # adjacent to the previous word: drop the whitespace
        else:
            for cs, buf in run:
                out.append(decode_charset(bytes(buf), cs))
            run = []
            out.append(gap)
        charset = m.group(1).lower()
        data = _decode_word(m.group(2), m.group(3))
        if run and run[-1][0] == charset:
            run[-1][1].extend(data)
        else:
            run.append((charset, bytearray(data)))
        pos = m.end()
    for cs, buf in run:
        out.append(decode_charset(bytes(buf), cs))
    out.append(value[pos:])
    return "".join(out)
