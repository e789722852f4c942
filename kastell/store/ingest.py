"""Turning a source into the cached columns of an item: parse once, at ingest."""

from __future__ import annotations

from typing import Any

from kastell.formats import mime
from kastell.store import fulltext


def message_columns_and_text(source: bytes) -> tuple[dict[str, Any], str]:
    """The ``items`` columns and the full-text index text of a message (never raises).

    Both come from one parse: the text extract reuses the parsed structure's part
    offsets instead of parsing the source a second time (see store/fulltext.py).
    """
    parsed = mime.parse_message(source)
    # IMAP shows some messages otherwise than the model: line ends CRLF, and see
    # formats/mime/structure.py. ENVELOPE, BODYSTRUCTURE and the size are those IMAP sends.
    imap_source, view = mime.imap_view(source, parsed)
    columns = {
        "sent_date": int(parsed.date.timestamp()) if parsed.date is not None else None,
        "subject": _clip(parsed.subject, 4000),
        "from_addr": _clip(parsed.from_addr, 320),
        "from_name": _clip(parsed.from_name, 1000),
        "to_addrs": _clip(",".join(parsed.to_addrs), 20000),
        "cc_addrs": _clip(",".join(parsed.cc_addrs), 20000),
        "message_id": _clip(parsed.message_id, 998) if parsed.message_id else None,
        "in_reply_to": _clip(" ".join(parsed.in_reply_to), 20000),
        "refs": _clip(" ".join(parsed.references), 50000),
        "has_attachments": parsed.has_attachments,
        "preview": parsed.preview,
        "structure": mime.dumps(parsed),
        # What FETCH ENVELOPE / BODYSTRUCTURE send, so that they need not decode
        # the structure (about 10 us here, against a parse of ~100 us or more).
        "imap_envelope": mime.imap_envelope(view.envelope),
        "imap_bodystructure": mime.imap_bodystructure(view.root, True),
        "imap_render": mime.RENDER_VERSION,
        "imap_size": None if imap_source is source else len(imap_source),
    }
    return columns, fulltext.message_text(source, parsed)


def _clip(text: str, limit: int) -> str:
    # Hostile headers can be megabytes long; the source keeps them, the index need not.
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[:limit]


def columns_for(kind: str, source: bytes) -> tuple[dict[str, Any], str]:
    """The cached columns and the full-text index text of an item of any kind.

    A message is parsed as MIME (once, for both); an event/task/note as
    iCalendar, a contact as vCard (formats.ical / formats.vcard), with no index
    text. Every result has every column, so rows of mixed kinds insert together.
    """
    if kind == "message":
        columns, text = message_columns_and_text(source)
        return {**EMPTY_COLUMNS, **columns}, text
    if kind in ("event", "task", "note"):
        from kastell.formats import ical

        return {**EMPTY_COLUMNS, **ical.item_columns(source)}, ""
    if kind == "contact":
        from kastell.formats import vcard

        return {**EMPTY_COLUMNS, **vcard.item_columns(source)}, ""
    return dict(EMPTY_COLUMNS), ""


EMPTY_COLUMNS: dict[str, Any] = {
    "sent_date": None,
    "subject": "",
    "from_addr": "",
    "from_name": "",
    "to_addrs": "",
    "cc_addrs": "",
    "message_id": None,
    "in_reply_to": "",
    "refs": "",
    "has_attachments": False,
    "preview": "",
    "structure": None,
    "imap_envelope": None,
    "imap_bodystructure": None,
    "imap_render": None,
    "imap_size": None,
    "object_uid": None,
    "start_time": None,
    "end_time": None,
}
