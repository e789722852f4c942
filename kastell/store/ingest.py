"""Turning a source into the cached columns of an item: parse once, at ingest."""

from __future__ import annotations

from typing import Any

from kastell.formats import mime


def message_columns(source: bytes) -> dict[str, Any]:
    """The ``items`` columns derived from an RFC 5322 message (never raises)."""
    parsed = mime.parse_message(source)
    return {
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
    }


def _clip(text: str, limit: int) -> str:
    # Hostile headers can be megabytes long; the source keeps them, the index need not.
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[:limit]


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
}
