"""FETCH and UID FETCH (RFC 9051 §6.4.5, BINARY RFC 3516, CONDSTORE/QRESYNC RFC 7162).

ENVELOPE and BODYSTRUCTURE are sent as rendered at ingest (migration 0012);
rows without a current copy, and BODY and sections, use the structure cached
at ingest (``formats.mime.loads``); the source is read from the blob store
only when a body section is asked for.  Messages are sent as Dovecot sends
them: a source stored with bare LFs goes out with CRLF (RFC822.SIZE is
``items.imap_size``, migration 0014), and such messages and those whose
structure says ``imap_differs`` are parsed again, as IMAP shows them
(``formats.mime.imap_view``), for BODY and sections.  Responses are written as each message is done and
the socket is drained every :data:`FLUSH_BYTES`, so ``FETCH 1:*`` of a
250,000-message folder never sits in memory.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kastell.formats import mime
from kastell.formats.mime.section import resolve_part
from kastell.protocols.imap.args import atom_arg, list_arg, number_arg, text_arg
from kastell.protocols.imap.errors import Bad
from kastell.protocols.imap.parser import Atom, Command, Token
from kastell.protocols.imap.responses import compress_set, flag_list, internal_date, untagged
from kastell.protocols.imap.selected import format_ranges, missing
from kastell.store.flags import Flag
from kastell.store.mailbox import ItemRow, Rendered

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

FLUSH_BYTES = 256 * 1024
BATCH_BYTES = 32 * 1024
MACROS = {
    "ALL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
    "FAST": ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
    "FULL": ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
}
SIMPLE = {
    "UID",
    "FLAGS",
    "INTERNALDATE",
    "RFC822.SIZE",
    "ENVELOPE",
    "BODY",
    "BODYSTRUCTURE",
    "MODSEQ",
    "RFC822",
    "RFC822.HEADER",
    "RFC822.TEXT",
}
_SECTION = re.compile(
    r"(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[(.*)\](?:<(\d{1,10})(?:\.(\d{1,10}))?>)?\Z", re.I | re.S
)
_BINARY_SPEC = re.compile(r"[1-9][0-9]*(\.[1-9][0-9]*)*\Z|\Z")


@dataclass(frozen=True, slots=True)
class Att:
    name: str  # UID, FLAGS, ..., or BODY / BINARY / BINARY.SIZE for sections
    section: str = ""
    peek: bool = False
    origin: int | None = None
    octets: int | None = None

    @property
    def needs_source(self) -> bool:
        return self.name in ("BODY[]", "BINARY", "BINARY.SIZE", "RFC822", "RFC822.HEADER", "RFC822.TEXT")

    @property
    def sets_seen(self) -> bool:
        return self.name in ("BODY[]", "BINARY", "RFC822", "RFC822.TEXT") and not self.peek


def parse_atts(token: Token) -> list[Att]:
    """The FETCH attribute list (one attribute, a macro, or a parenthesised list)."""
    tokens = token if isinstance(token, list) else [token]
    if not isinstance(token, list) and isinstance(token, Atom) and token.upper() in MACROS:
        return [Att(name) for name in MACROS[token.upper()]]
    atts: list[Att] = []
    for tok in tokens:
        if not isinstance(tok, Atom):
            raise Bad("Invalid FETCH attribute")
        upper = tok.upper()
        if upper in SIMPLE:
            atts.append(Att(upper))
            continue
        m = _SECTION.match(tok)
        if m is None:
            raise Bad(f"Invalid FETCH attribute {tok[:40]}")
        kind = m.group(1).upper()
        spec = m.group(2)
        origin = int(m.group(3)) if m.group(3) is not None else None
        octets = int(m.group(4)) if m.group(4) is not None else None
        if kind.startswith("BINARY"):
            if not _BINARY_SPEC.match(spec):
                raise Bad("Invalid BINARY section")
            name = "BINARY.SIZE" if kind == "BINARY.SIZE" else "BINARY"
        else:
            name = "BODY[]"
            spec = _normalise_spec(spec)
        atts.append(Att(name, spec, kind.endswith(".PEEK"), origin, octets))
    return atts


def _normalise_spec(spec: str) -> str:
    """Upper-case keywords as Dovecot does; validate through the MIME section resolver."""
    upper = spec.upper()
    try:
        mime.section(b"\r\n", _EMPTY, upper)
    except ValueError:
        raise Bad(f"Invalid section {spec[:40]}") from None
    return upper


_EMPTY = mime.parse_message(b"\r\n")


async def handle_fetch(session: Session, command: Command) -> str:
    selected = session.require_selected()
    mailbox = session.require_mailbox()
    uid_mode = command.name == "UID FETCH"
    if len(command.args) < 2:
        raise Bad("FETCH needs a sequence set and attributes")
    ranges = selected.ranges(text_arg(command.args[0]), uid_mode)
    atts = parse_atts(command.args[1])
    changed_since: int | None = None
    vanished = False
    if len(command.args) > 2:
        modifiers = list_arg(command.args[2])
        i = 0
        while i < len(modifiers):
            name = atom_arg(modifiers[i])
            if name == "CHANGEDSINCE" and i + 1 < len(modifiers):
                changed_since = number_arg(modifiers[i + 1])
                session.enabled.add("CONDSTORE")
                i += 2
            elif name == "VANISHED" and uid_mode and session.qresync:
                vanished = True
                i += 1
            else:
                raise Bad(f"Invalid FETCH modifier {name[:30]}")
        if vanished and changed_since is None:
            raise Bad("VANISHED needs CHANGEDSINCE")
    names = {a.name for a in atts}
    if uid_mode and "UID" not in names:
        atts.insert(0, Att("UID"))
    if (changed_since is not None or "MODSEQ" in names) and "MODSEQ" not in names:
        atts.append(Att("MODSEQ"))
    if vanished and changed_since is not None:
        changes = await mailbox.folder_changes(changed_since, selected.folder.id, limit=1_000_000)
        if changes.complete:
            gone = sorted(
                {t.uid for t in changes.removed if t.uid is not None and any(lo <= t.uid <= hi for lo, hi in ranges)}
            )
            gone = [u for u in gone if not selected.seq_of(u)]
            if gone:
                session.send(untagged("VANISHED (EARLIER) " + compress_set(gone)))
        else:  # tombstones pruned: every UID asked for that is not here
            gaps = missing(ranges, selected.uids)
            if gaps:
                session.send(untagged("VANISHED (EARLIER) " + format_ranges(gaps)))
    seen_now: set[int] = set()
    recent = set() if session.rev2 else selected.recent  # \Recent is rev1 only
    if any(a.sets_seen for a in atts) and not selected.read_only:
        # RFC 9051 §6.4.5: fetching a body sets \Seen; do it first so FLAGS below are current.
        changed, _ = await mailbox.store_flags(selected.folder.id, ranges, "add", int(Flag.SEEN))
        seen_now.update(change.uid for change in changed)
        selected.absorb_own(changed)
    rendered: list[Rendered] = []
    if "ENVELOPE" in names:
        rendered.append("envelope")
    if "BODYSTRUCTURE" in names:
        rendered.append("bodystructure")
    with_structure = bool(names & {"BODY", "BODY[]", "BINARY", "BINARY.SIZE"})
    needs_source = any(a.needs_source for a in atts)
    out = _Batched(session)
    rows = mailbox.iter_rows(
        selected.folder.id, ranges, with_structure=with_structure, rendered=rendered, changed_since=changed_since
    )
    async for item in rows:
        seq = selected.seq_of(item.uid)
        if not seq:
            continue
        raw = await mailbox.source(item) if needs_source else b""
        parsed: mime.ParsedMessage | None = None
        if with_structure or _unrendered(item, rendered):
            parsed = _parsed(item, raw)
            if _needs_view(item, parsed):
                raw, parsed = _view(item, raw or await mailbox.source(item), parsed)
        elif item.imap_size is not None and raw:
            raw = mime.to_crlf(raw)  # RFC822: sent with CRLF line ends, as its size says
        if needs_source:
            # Message content: each data item goes out before the next is made.
            separator = b"* %d FETCH (" % seq
            for part in _render(item, atts, raw, parsed, seen_now, recent):
                out.add(separator)
                out.add(part)
                separator = b" "
                await out.flush_if_full()
            out.add(b")\r\n")
        else:
            out.add(b"* %d FETCH (%s)\r\n" % (seq, b" ".join(_render(item, atts, raw, parsed, seen_now, recent))))
        await out.flush_if_full()
    out.close()
    return f"{command.name} completed"


class _Batched:
    """FETCH output handed to the transport in batches (one write per line costs a
    system call per message: FETCH 1:* FLAGS of a 250,000-message folder), the
    socket drained every :data:`FLUSH_BYTES`."""

    __slots__ = ("session", "parts", "size", "written")

    def __init__(self, session: Session) -> None:
        self.session = session
        self.parts: list[bytes] = []
        self.size = self.written = 0

    def add(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)

    async def flush_if_full(self) -> None:
        if self.size < BATCH_BYTES:
            return
        self.close()
        self.written += self.size
        self.size = 0
        if self.written >= FLUSH_BYTES:
            self.written = 0
            await self.session.io.drain()

    def close(self) -> None:
        """Hand over what is batched (the session drains at the end of the command)."""
        if self.parts:
            self.session.send(b"".join(self.parts))
            self.parts.clear()


# ENVELOPE and BODYSTRUCTURE are pure functions of the stored bytes, and a blob id
# names those bytes: for rows without copies rendered at ingest (stored before
# migration 0012 or by an older renderer), a bounded LRU of the rendered answers
# (~1 KB each) serves the usual client pattern (ENVELOPE in one FETCH,
# BODYSTRUCTURE in the next, the same again after a reconnect) without decoding
# the cached structure again.
_RENDERED: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
RENDERED_MAX = 10_000


def _remember(blob_id: str, rendered: tuple[bytes, bytes]) -> None:
    _RENDERED[blob_id] = rendered
    if len(_RENDERED) > RENDERED_MAX:
        _RENDERED.popitem(last=False)


def _unrendered(item: ItemRow, rendered: list[Rendered]) -> bool:
    """A rendering asked for is not stored with the row (then it is rendered from the structure)."""
    return ("envelope" in rendered and item.envelope is None) or (
        "bodystructure" in rendered and item.bodystructure is None
    )


def _needs_view(item: ItemRow, parsed: mime.ParsedMessage) -> bool:
    """IMAP shows this message otherwise than the cached model: its source has
    bare LFs, sent as CRLF (``imap_size`` set at ingest), or see
    formats/mime/structure.py ("IMAP view")."""
    return item.imap_size is not None or parsed.imap_differs


def _view(item: ItemRow, raw: bytes, parsed: mime.ParsedMessage) -> tuple[bytes, mime.ParsedMessage]:
    """The source as IMAP sends it and its parse as IMAP shows it (``raw``: the
    stored source); costs a parse, so only for messages :func:`_needs_view`."""
    return mime.imap_view(raw, parsed)


def _parsed(item: ItemRow, raw: bytes) -> mime.ParsedMessage:
    if item.structure is not None:
        try:
            return mime.loads(item.structure)
        except ValueError:
            pass
    return mime.parse_message(raw) if raw else _EMPTY


def _literal(data: bytes, binary: bool = False) -> bytes:
    if b"\x00" in data:
        if binary:
            return b"~{%d}\r\n" % len(data) + data  # literal8 (RFC 3516 §4.2)
        # NUL may not appear in a literal (RFC 9051 §4.3); like Dovecot, send 0x80 (same length).
        data = data.replace(b"\x00", b"\x80")
    return b"{%d}\r\n" % len(data) + data


def _render(
    item: ItemRow,
    atts: list[Att],
    raw: bytes,
    parsed: mime.ParsedMessage | None,
    seen_now: set[int],
    recent: set[int],
) -> Iterator[bytes]:
    """The FETCH data items of one message; ``raw`` and ``parsed`` as IMAP shows
    the message (``parsed`` is loaded from the row when None). A generator: the
    caller writes each item out before the next is made, so a FETCH of many
    sections of a large message holds one of them at a time."""
    has_flags = any(a.name == "FLAGS" for a in atts)
    for att in atts:
        name = att.name
        if name == "UID":
            yield b"UID %d" % item.uid
        elif name == "FLAGS":
            yield b"FLAGS " + flag_list(item.flags, item.keywords, item.uid in recent)
        elif name == "INTERNALDATE":
            yield b"INTERNALDATE " + internal_date(item.internal_date, item.internal_tz)
        elif name == "RFC822.SIZE":
            yield b"RFC822.SIZE %d" % (item.size if item.imap_size is None else item.imap_size)
        elif name == "MODSEQ":
            yield b"MODSEQ (%d)" % item.change_num
        elif name == "ENVELOPE" and item.envelope is not None:
            yield b"ENVELOPE " + item.envelope
        elif name == "BODYSTRUCTURE" and item.bodystructure is not None:
            yield b"BODYSTRUCTURE " + item.bodystructure
        elif name in ("ENVELOPE", "BODYSTRUCTURE"):
            rendered = _RENDERED.get(item.blob_id)
            if rendered is not None:
                _RENDERED.move_to_end(item.blob_id)
            else:
                parsed = parsed or _parsed(item, raw)
                rendered = (mime.imap_envelope(parsed.envelope), mime.imap_bodystructure(parsed.root, True))
                _remember(item.blob_id, rendered)
            yield b"ENVELOPE " + rendered[0] if name == "ENVELOPE" else b"BODYSTRUCTURE " + rendered[1]
        elif name == "BODY":
            parsed = parsed or _parsed(item, raw)
            yield b"BODY " + mime.imap_bodystructure(parsed.root, False)
        elif name == "RFC822":
            yield b"RFC822 " + _literal(raw)
        elif name in ("RFC822.HEADER", "RFC822.TEXT"):
            parsed = parsed or _parsed(item, raw)
            text = mime.section(raw, parsed, "HEADER" if name == "RFC822.HEADER" else "TEXT") or b""
            yield name.encode() + b" " + _literal(text)
        elif name == "BODY[]":
            parsed = parsed or _parsed(item, raw)
            body = mime.section(raw, parsed, att.section)
            yield _section_response(b"BODY[" + att.section.encode() + b"]", body, att)
        else:
            parsed = parsed or _parsed(item, raw)
            decoded = _binary(raw, parsed, att.section)
            label = b"[" + att.section.encode() + b"]"
            if name == "BINARY.SIZE":
                yield b"BINARY.SIZE" + label + b" %d" % (len(decoded) if decoded is not None else 0)
            else:
                yield _section_response(b"BINARY" + label, decoded, att, binary=True)
    if item.uid in seen_now and not has_flags:
        yield b"FLAGS " + flag_list(item.flags, item.keywords, item.uid in recent)


def _section_response(label: bytes, data: bytes | None, att: Att, binary: bool = False) -> bytes:
    if data is None:
        data = b""  # a part that does not exist reads as empty (Dovecot does the same)
    if att.origin is not None:
        data = data[att.origin : att.origin + att.octets if att.octets is not None else None]
        label += b"<%d>" % att.origin
    return label + b" " + _literal(data, binary)


def _binary(raw: bytes, parsed: mime.ParsedMessage, spec: str) -> bytes | None:
    """RFC 3516 BINARY[section]: the part with its content-transfer-encoding removed."""
    if not spec:
        return raw
    part = resolve_part(parsed.root, [int(n) for n in spec.split(".")])
    if part is None:
        return None
    if part.is_multipart or part.is_message:
        return raw[part.body_start : part.body_end]
    return mime.decode_body(raw, part)
