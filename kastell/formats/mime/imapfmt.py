"""IMAP ENVELOPE and BODY/BODYSTRUCTURE serialisation (RFC 9051 §7.5.2).

Output matches Dovecot's layout (every extension field present in
BODYSTRUCTURE, ``("charset" "us-ascii")`` added to text parts without a
charset) so that clients which cached Dovecot's answers see the same shapes.
Type, subtype, transfer encoding and disposition go out as written
(``BodyPart.imap_names``; the model keeps them lower-case), except
``"message" "rfc822"`` and a message root that is plain 7-bit text, which
Dovecot writes in a canned lower-case form (``_plain_7bit``).

Strings are quoted when every byte is a 7-bit TEXT-CHAR (quote and
backslash escaped, RFC 9051 §4.3); anything with CR, LF or 8-bit bytes is
sent as a literal.  NUL cannot appear in either form: it becomes U+FFFD, as
Dovecot writes it.
Parameters are sent as Dovecot sends them: undecoded, RFC 2231 sections
merged but not decoded, names as written (``BodyPart.imap_params``, computed
by ``params.imap_params``); 8-bit bytes go out as they are, in a literal.
Structures cached before that form existed only have the decoded values:
those that are not ASCII are then re-encoded as RFC 2231
``name*=utf-8''...``, which every client that understands RFC 2231 accepts.
"""

from __future__ import annotations

from urllib.parse import quote

from .model import Address, BodyPart, Envelope, Params

__all__ = ["RENDER_VERSION", "imap_bodystructure", "imap_envelope", "imap_string"]

#: The store keeps ENVELOPE and BODYSTRUCTURE as rendered at ingest, tagged
#: with this number; copies with another number are rendered again on demand.
#: Bump it whenever :func:`imap_envelope` or :func:`imap_bodystructure`
#: answers differently for some message (tests/unit/test_mime_imap.py pins
#: a digest of the corpus' renderings to it).
RENDER_VERSION = 7

# A bytes.translate() deletion table instead of a regex per string (ENVELOPE
# renders ~30 strings per message): deleting every TEXT-CHAR but the two that
# need escaping leaves b"" for the usual value, only quote/backslash for a
# value that needs escaping, and anything else means a literal.
_PLAIN = bytes(c for c in range(1, 0x80) if c not in b'\r\n"\\')
_ESCAPED = b'"\\'
# RFC 2231 attribute-char minus "%", "'" and "*".
_ATTR_SAFE = "!#$&+-.^_`|~"


def imap_string(value: bytes | None) -> bytes:
    """``value`` as an IMAP nstring: NIL, a quoted string or a literal."""
    if value is None:
        return b"NIL"
    rest = value.translate(None, _PLAIN)
    if not rest:
        return b'"' + value + b'"'
    if not rest.translate(None, _ESCAPED):
        return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    if b"\x00" in value:
        value = value.replace(b"\x00", "\ufffd".encode())
    return b"{%d}\r\n" % len(value) + value


# Names, hosts, MIME types, parameter names and values repeat from message to
# message; a bounded memo of their rendering skips the encode and the scan.
_STR_MEMO: dict[str, bytes] = {}
_STR_MEMO_MAX = 4096


def _str(value: str | None) -> bytes:
    if value is None:
        return b"NIL"
    out = _STR_MEMO.get(value)
    if out is None:
        try:
            # Wire-form parameters keep 8-bit bytes as surrogate escapes.
            data = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            data = value.encode("utf-8", "replace")
        out = imap_string(data)
        if len(value) <= 200:
            if len(_STR_MEMO) >= _STR_MEMO_MAX:
                _STR_MEMO.clear()
            _STR_MEMO[value] = out
    return out


def _address(a: Address) -> bytes:
    if a.host is None:
        if a.mailbox is None:
            return b"(NIL NIL NIL NIL)"  # end of group
        group = a.raw_name if a.raw_name is not None else a.mailbox.encode("utf-8", "replace")
        return b"(NIL NIL " + imap_string(group) + b" NIL)"  # start of group
    return b"(%s NIL %s %s)" % (imap_string(a.raw_name), _str(a.mailbox), _str(a.host))


def _addresses(addrs: tuple[Address, ...]) -> bytes:
    if not addrs:
        return b"NIL"
    return b"(" + b"".join(_address(a) for a in addrs) + b")"


def imap_envelope(env: Envelope) -> bytes:
    """The parenthesised ENVELOPE (RFC 9051 §7.5.2).  Sender and Reply-To
    default to From when absent or empty, as the RFC requires."""
    sender = env.sender or env.from_
    reply_to = env.reply_to or env.from_
    return b"(%s %s %s %s %s %s %s %s %s %s)" % (
        imap_string(env.date),
        imap_string(env.subject),
        _addresses(env.from_),
        _addresses(sender),
        _addresses(reply_to),
        _addresses(env.to),
        _addresses(env.cc),
        _addresses(env.bcc),
        imap_string(env.in_reply_to),
        imap_string(env.message_id),
    )


def _params(params: Params, wire: Params | None, text: bool) -> bytes:
    """body-fld-param; a text part without a ``charset`` (any case) gets
    ``"charset" "us-ascii"`` at the end (RFC 2045 §5.2's default, as Dovecot
    writes it)."""
    if wire is not None:
        items = list(wire)
        if text and not any(k.lower() == "charset" for k, _ in items):
            items.append(("charset", "us-ascii"))
        if not items:
            return b"NIL"
        return b"(" + b" ".join(_str(key) + b" " + _str(value) for key, value in items) + b")"
    items = list(params)
    if text and not any(k == "charset" for k, _ in items):
        items.append(("charset", "us-ascii"))
    if not items:
        return b"NIL"
    out = []
    for key, value in items:
        if not value.isascii():  # a structure cached without the wire form
            key, value = key + "*", "utf-8''" + quote(value.encode("utf-8", "replace"), safe=_ATTR_SAFE)
        out.append(_str(key) + b" " + _str(value))
    return b"(" + b" ".join(out) + b")"


def _extension(part: BodyPart, disposition: str | None) -> bytes:
    """body-fld-dsp SP body-fld-lang SP body-fld-loc."""
    if disposition is None:
        dsp = b"NIL"
    else:
        dsp = (
            b"(" + _str(disposition) + b" "
            + _params(part.disposition_params, part.imap_disposition_params, False) + b")"
        )  # fmt: skip
    lang = b"(" + b" ".join(_str(x) for x in part.language) + b")" if part.language else b"NIL"
    return dsp + b" " + lang + b" " + _str(part.location)


# Dovecot's stand-in for the parts of a multipart that has none (no boundary,
# or one that never occurs): RFC 9051's grammar needs at least one.
_EMPTY_PART = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'
# Dovecot's BODYSTRUCTURE of a message that is one plain 7-bit text with no
# other Content-* detail (``_plain_7bit``): its own canned string, lower-case
# whatever the header's case.
_PLAIN_7BIT = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" %d %d'


def _plain_7bit(part: BodyPart, main: str, sub: str, encoding: str, disposition: str | None) -> bool:
    """True for a message root that Dovecot sends as ``_PLAIN_7BIT``
    (message_part_data_is_plain_7bit): text/plain in any case, no parameter
    but at most ``charset=us-ascii`` (any case), encoding 7bit or none, and no
    id, description, MD5, disposition, language or location."""
    if main.lower() != "text" or sub.lower() != "plain" or part.children or encoding.lower() != "7bit":
        return False
    params = part.params if part.imap_params is None else part.imap_params
    if params and (len(params) > 1 or params[0][0].lower() != "charset" or params[0][1].lower() != "us-ascii"):
        return False
    return (
        part.id is None and part.description is None and part.md5 is None and disposition is None
        and not part.language and part.location is None
    )  # fmt: skip


def _write(part: BodyPart, ext: bool, out: list[bytes], root: bool = False) -> None:
    if part.imap_names is None:
        main, sub, encoding, disposition = part.type, part.subtype, part.encoding, part.disposition
    else:
        main, sub, encoding, disposition = part.imap_names
    if part.type == "multipart":
        out.append(b"(")
        if not part.children:  # only in the IMAP view (structure.py)
            out.append(_EMPTY_PART + (b" NIL NIL NIL NIL)" if ext else b")"))
        for child in part.children:
            _write(child, ext, out)
        out.append(b" " + _str(sub))
        if ext:
            out.append(b" " + _params(part.params, part.imap_params, False) + b" " + _extension(part, disposition))
        out.append(b")")
        return
    if root and _plain_7bit(part, main, sub, encoding, disposition):
        out.append(_PLAIN_7BIT % (part.body_end - part.body_start, part.lines))
        out.append(b" NIL NIL NIL NIL)" if ext else b")")
        return
    is_message = part.type == "message" and part.is_message
    if is_message and part.subtype == "rfc822":
        main, sub = "message", "rfc822"  # Dovecot writes these two lower-case, whatever the header says
    elif part.type == "message" and part.subtype in ("rfc822", "global") and not is_message:
        # Not parsed (beyond the limits, or encoded outside the IMAP view):
        # "message/rfc822" would oblige us to send an envelope and body we do not have.
        main, sub = "application", "octet-stream"
    text = main.lower() == "text"
    out.append(
        b"(%s %s %s %s %s %s %d"
        % (
            _str(main),
            _str(sub),
            _params(part.params, part.imap_params, text),
            _str(part.id),
            _str(part.description),
            _str(encoding),
            part.body_end - part.body_start,
        )
    )
    if text:
        out.append(b" %d" % part.lines)
    elif is_message and part.envelope is not None:
        out.append(b" " + imap_envelope(part.envelope) + b" ")
        _write(part.children[0], ext, out)
        out.append(b" %d" % part.lines)
    if ext:
        out.append(b" " + _str(part.md5) + b" " + _extension(part, disposition))
    out.append(b")")


def imap_bodystructure(part: BodyPart, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (``extensible=True``) or BODY (``False``) of ``part``,
    parenthesised, per RFC 9051 §7.5.2.

    body-fld-octets are ``body_end - body_start``: sizes of the bytes parsed.
    IMAP sends messages with CRLF line ends, so for a message with bare LFs
    (or one whose parse says ``imap_differs``) pass the root of
    ``parse_imap_view(to_crlf(raw))``.  ``part`` is a message's root: a
    plain 7-bit text root is sent in Dovecot's canned lower-case form.
    """
    out: list[bytes] = []
    _write(part, extensible, out, True)
    return b"".join(out)
