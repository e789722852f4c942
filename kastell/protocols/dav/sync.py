"""sync-collection (RFC 6578): the folder's change clock is the token.

A token is ``SYNC_PREFIX + n`` where n is a change number of the mailbox clock
(the collection's ``content_change`` when it was handed out). The answer to a
token n is ``changes_since(n, folder)``: changed members as propstat responses,
removed ones (tombstones) as 404 responses (§3.5.2). A token that is not ours,
from the future, or older than the tombstones kept (``store.tombstone_days``) is
403 ``valid-sync-token`` (§3.2), and the client starts over.
"""

from __future__ import annotations

from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.common import xml_response
from kastell.protocols.dav.context import SYNC_PREFIX, Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods.propfind import collect
from kastell.protocols.dav.xml import DAV, Element, multistatus, propstat_response, qn, status_response, sub
from kastell.store import calendar

_EXT = {"calendars": "ics", "addressbooks": "vcf", "files": "bin"}


def parse_token(text: str) -> int:
    if not text.startswith(SYNC_PREFIX):
        raise DavError(403, qn(DAV, "valid-sync-token"), "unknown sync-token")
    try:
        value = int(text[len(SYNC_PREFIX) :])
    except ValueError as exc:
        raise DavError(403, qn(DAV, "valid-sync-token"), "unknown sync-token") from exc
    if value < 0:
        raise DavError(403, qn(DAV, "valid-sync-token"), "unknown sync-token")
    return value


async def sync_collection(ctx: Context, res: r.Resource, root: Element) -> Response:
    if res.kind != r.COLLECTION or res.folder is None:
        raise DavError(403, qn(DAV, "supported-report"), "sync-collection needs a collection with a change clock")
    level = (root.findtext(qn(DAV, "sync-level")) or "1").strip()
    if level != "1":
        raise DavError(403, qn(DAV, "supported-report"), "only sync-level 1 (collections do not nest)")
    prop = root.find(qn(DAV, "prop"))
    names = [c.tag for c in prop if isinstance(c.tag, str)] if prop is not None else [qn(DAV, "getetag")]
    token_text = (root.findtext(qn(DAV, "sync-token")) or "").strip()
    folder = await ctx.mailbox.folder(res.folder.id)  # fresh: its content clock is the new token
    res.folder = folder
    ms = multistatus()
    if not token_text:
        members = [r.member(res, item) for item in await calendar.listing(ctx.mailbox, folder.id)]
    else:
        since = parse_token(token_text)
        if since > await ctx.mailbox.last_change():
            raise DavError(403, qn(DAV, "valid-sync-token"), "sync-token from the future")
        changes = await ctx.mailbox.changes_since(since, folder.id)
        if not changes.complete:
            # Its deletions are older than the tombstones kept (store.tombstone_days).
            raise DavError(403, qn(DAV, "valid-sync-token"), "sync-token expired")
        members = [r.member(res, item) for item in changes.items]
        live = {m.name for m in members}
        for tomb in changes.removed:
            name = tomb.name or f"kastell-{tomb.object_id}.{_EXT.get(res.space or '', 'bin')}"
            if name not in live:
                live.add(name)
                status_response(ms, res.path + r.seg(name), 404)
    for member in members:
        found, missing = await collect(ctx, member, names)
        propstat_response(ms, member.path, found, missing)
    sub(ms, qn(DAV, "sync-token"), f"{SYNC_PREFIX}{folder.content_change}")
    return xml_response(ms)
