"""DELETE (RFC 4918 §9.6): a member (tombstoned, so sync-collection reports it) or a collection."""

from __future__ import annotations

from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.caldav import scheduling
from kastell.protocols.dav.common import check_preconditions
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError


async def handle(ctx: Context, segments: list[str]) -> Response:
    res = await r.resolve(ctx, segments)
    if not res.exists:
        raise DavError(404)
    if res.gal or res.kind in (r.ROOT, r.PRINCIPALS, r.PRINCIPAL, r.SPACE, r.HOME):
        raise DavError(403, "{DAV:}need-privileges", "cannot delete this")
    check_preconditions(ctx, res)
    if res.kind == r.COLLECTION:
        assert res.folder is not None
        if res.folder.role is not None:
            # The default calendar/address book is provisioned with the mailbox.
            raise DavError(403, "{DAV:}need-privileges", "the default collection cannot be deleted")
        await ctx.mailbox.delete_folder(res.folder.id, recursive=True)
        return Response(b"", 204)
    assert res.item is not None
    old = await ctx.mailbox.source(res.item) if res.ctype == "calendar" and ctx.access == "owner" else b""
    await ctx.mailbox.remove(res.item.id)
    if b"ORGANIZER" in old:
        await scheduling.after_delete(ctx, old)
    return Response(b"", 204)
