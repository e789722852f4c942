"""The MIME model: parse a stored message once, serve IMAP from the cache.

``parse_message`` turns the exact RFC 5322 bytes into a :class:`ParsedMessage`
(a tree of :class:`BodyPart` byte ranges plus the :class:`Envelope` and the
fields mailbox listings need).  ``dumps``/``loads`` cache it; the IMAP layer
then answers ENVELOPE (``imap_envelope``), BODY/BODYSTRUCTURE
(``imap_bodystructure``) and ``BODY[section]`` (``section``) without parsing
again, and the indexer uses ``extract_text``.

Where IMAP shows a message differently (Dovecot's view: line ends CRLF,
encoded messages parsed, broken multiparts kept as such), ``imap_differs``
or a bare LF says so, and ``parse_imap_view`` of the message as IMAP sends
it (``to_crlf``) gives that view; ``imap_view`` does both.

Contracts: parsing never raises on any input bytes; offsets always index the
bytes as given (bare-LF messages are not normalised); nothing here does I/O.

Module map: ``headers`` (header blocks), ``params`` (Content-* values,
RFC 2231), ``encoded_words`` (RFC 2047), ``charsets``, ``transfer``
(base64/QP), ``addresses`` (RFC 5322 address lists), ``envelope``,
``structure`` (the tree), ``message`` (parse_message, the IMAP view),
``lineends`` (bare LF to CRLF), ``text`` (decoding, preview, full-text
extract), ``section`` (BODY[...]), ``imapfmt`` (IMAP syntax), ``serial``
(cache format).
"""

from .headers import header_value
from .imapfmt import RENDER_VERSION, imap_bodystructure, imap_envelope
from .lineends import has_bare_lf, to_crlf
from .message import filename, imap_view, parse_imap_view, parse_message
from .model import Address, BodyPart, Envelope, ParsedMessage
from .section import section
from .serial import dumps, loads
from .text import decode_body, extract_text, iter_parts, part_text

__all__ = [
    "RENDER_VERSION",
    "Address",
    "BodyPart",
    "Envelope",
    "ParsedMessage",
    "decode_body",
    "dumps",
    "extract_text",
    "filename",
    "has_bare_lf",
    "header_value",
    "imap_bodystructure",
    "imap_envelope",
    "imap_view",
    "iter_parts",
    "loads",
    "parse_imap_view",
    "parse_message",
    "part_text",
    "section",
    "to_crlf",
]
