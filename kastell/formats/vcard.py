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
