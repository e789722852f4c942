"""vCard objects (RFC 6350, and 3.0) as the store keeps them: the cached columns of an item."""

from __future__ import annotations

from typing import Any

import vobject


def item_columns(source: bytes) -> dict[str, Any]:
    """Display name, UID and first e-mail address; empty when the card cannot be read."""
    try:
        card = vobject.readOne(source.decode("utf-8", errors="replace"))
    except Exception:  # the store never refuses what a protocol accepted
        return {}
    name = getattr(card, "fn", None)
    uid = getattr(card, "uid", None)
    email = getattr(card, "email", None)
    return {
        "subject": str(name.value)[:4000] if name is not None else "",
        "object_uid": str(uid.value)[:512] if uid is not None else None,
        "from_addr": str(email.value).lower()[:320] if email is not None else "",
    }


class InvalidCard(ValueError):
    """A vCard an address book must not store (RFC 6352 §5.1)."""


def validate(source: bytes) -> tuple[str, str]:
    """Check one vCard 3.0 or 4.0; ``(version, UID)``. Raises InvalidCard."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCard("not UTF-8") from exc
    if not text.lstrip().upper().startswith("BEGIN:VCARD"):
        raise InvalidCard("not a vCard")
    try:
        cards = list(vobject.readComponents(text))
    except Exception as exc:
        raise InvalidCard(f"unparsable vCard: {exc}") from exc
    if len(cards) != 1 or cards[0].name != "VCARD":
        raise InvalidCard("exactly one vCard expected")
    card = cards[0]
    version = getattr(card, "version", None)
    if version is None or str(version.value) not in ("3.0", "4.0"):
        raise InvalidCard("VERSION 3.0 or 4.0 required")
    uid = getattr(card, "uid", None)
    if uid is None or not str(uid.value).strip():
        raise InvalidCard("UID required")
    if getattr(card, "fn", None) is None:
        raise InvalidCard("FN required")
    return str(version.value), str(uid.value)


def convert(source: bytes, version: str) -> bytes:
    """The card as vCard ``version`` (3.0 or 4.0), for CardDAV content negotiation.

    A line-level conversion covering what clients differ on: VERSION, and the
    4.0 ``KIND``/3.0 ``X-ADDRESSBOOKSERVER-KIND`` pair. Values pass unchanged.
    """
    lines = source.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    out = []
    for line in lines:
        upper = line.upper()
        if upper.startswith("VERSION:"):
            out.append(f"VERSION:{version}")
        elif version == "3.0" and upper.startswith("KIND:"):
            out.append("X-ADDRESSBOOKSERVER-KIND:" + line[5:])
        elif version == "4.0" and upper.startswith("X-ADDRESSBOOKSERVER-KIND:"):
            out.append("KIND:" + line[len("X-ADDRESSBOOKSERVER-KIND:") :])
        else:
            out.append(line)
    return "\r\n".join(out).encode()


def card_version(source: bytes) -> str:
    head = source[:4096].upper()
    return "4.0" if b"VERSION:4.0" in head else "3.0"


def split_cards(source: bytes) -> list[tuple[str, bytes]]:
    """A .vcf with many cards as ``(UID, one card)`` pairs, for ``kastell import vcf``.

    Cards keep their bytes; a card without UID gets one, so each passes ``validate``.
    """
    import uuid

    text = source.decode("utf-8", errors="replace").replace("\r\n", "\n")
    out: list[tuple[str, bytes]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.upper().startswith("BEGIN:VCARD"):
            current = [line]
        elif current:
            current.append(line)
            if line.upper().startswith("END:VCARD"):
                uid = next((ln[4:].strip() for ln in current if ln.upper().startswith("UID:")), "")
                if not uid:
                    uid = str(uuid.uuid4())
                    current.insert(-1, f"UID:{uid}")
                out.append((uid, ("\r\n".join(current) + "\r\n").encode()))
                current = []
    return out
