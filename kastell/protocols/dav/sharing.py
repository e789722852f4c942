"""Sharing a calendar or address book with other users of the organisation.

The owner POSTs Apple's CalendarServer ``share`` request to the collection
(``CS:set`` with ``CS:read`` or ``CS:read-write``, ``CS:remove``); the grants are
kept in the folder's property bag under ``folderprops.SHARES``. A sharee sees the
collection in their own home listing, at the owner's URL, and reaches it there:
``resources.resolve`` lets them in with the granted access (read-only sharees get
403 ``need-privileges`` for every write). Invitations are accepted implicitly.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kastell.formats import ical
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.props import register
from kastell.protocols.dav.xml import CS, DAV, Element, element, qn, sub
from kastell.store import folderprops


async def handle_share(ctx: Context, res: r.Resource, root: Element) -> Response:
    if res.kind != r.COLLECTION or res.folder is None or res.gal or res.space not in ("calendars", "addressbooks"):
        raise DavError(403, None, "only calendars and address books can be shared")
    if ctx.access != "owner":
        raise DavError(403, "{DAV:}need-privileges", "only the owner shares a collection")
    shares: dict[str, Any] = dict(res.props.get(folderprops.SHARES) or {})
    from kastell.protocols.dav.caldav.scheduling import peer

    for action in root:
        address = ical.address_of(action.findtext(qn(DAV, "href")) or "")
        if action.tag == qn(CS, "set"):
            if address == ctx.account.address.lower() or await peer(ctx, address) is None:
                raise DavError(403, None, f"{address} is not a user of this organisation")
            shares[address] = "read-write" if action.find(qn(CS, "read-write")) is not None else "read"
        elif action.tag == qn(CS, "remove"):
            shares.pop(address, None)
    await folderprops.set_folder_props(ctx.mailbox, res.folder.id, {folderprops.SHARES: shares or None})
    return Response(b"", 200)


@register(qn(CS, "invite"))
async def _invite(ctx: Context, res: r.Resource) -> Element | None:
    """Who the collection is shared with (CalendarServer sharing)."""
    if res.kind != r.COLLECTION or res.folder is None:
        return None
    el = element(qn(CS, "invite"))
    for address, level in (res.props.get(folderprops.SHARES) or {}).items():
        user = sub(el, qn(CS, "user"))
        sub(user, qn(DAV, "href"), f"mailto:{address}")
        sub(sub(user, qn(CS, "access")), qn(CS, "read-write" if level == "read-write" else "read"))
        sub(user, qn(CS, "invite-accepted"))
    return el


@register(qn(CS, "allowed-sharing-modes"))
async def _modes(ctx: Context, res: r.Resource) -> Element | None:
    if res.kind != r.COLLECTION or res.folder is None or res.space not in ("calendars", "addressbooks"):
        return None
    el = element(qn(CS, "allowed-sharing-modes"))
    sub(el, qn(CS, "can-be-shared"))
    return el
