"""MKCOL (RFC 4918 §9.3), extended MKCOL (RFC 5689) and MKCALENDAR (RFC 4791 §5.3.1).

A new calendar becomes a folder of class IPF.Appointment (IPF.Task when it takes
only VTODO, IPF.StickyNote for only VJOURNAL); an address book IPF.Contact; a plain
collection under /dav/files/ IPF.Files. Properties set in the request body go to
the folder's property bag in the same request.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.caldav.props import COMPONENTS_PROP
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods.proppatch import value_of
from kastell.protocols.dav.xml import CALDAV, CARDDAV, DAV, parse, qn
from kastell.store import folderprops
from kastell.store.errors import FolderExists, InvalidFolderName

_CLASS_OF_COMPONENTS = {("VTODO",): "IPF.Task", ("VJOURNAL",): "IPF.StickyNote"}


def _body_props(ctx: Context) -> tuple[set[str], dict[str, Any]]:
    """(resourcetype children, other properties) from an MKCOL/MKCALENDAR body."""
    if ctx.body.strip() and "xml" not in ctx.request.headers.get("content-type", "xml"):
        raise DavError(415, None, "MKCOL body must be XML")
    root = parse(ctx.body)
    types: set[str] = set()
    values: dict[str, Any] = {}
    if root is None:
        return types, values
    if root.tag not in (qn(DAV, "mkcol"), qn(CALDAV, "mkcalendar")):
        raise DavError(415 if ctx.request.method == "MKCOL" else 400, None, "mkcol or mkcalendar expected")
    for prop in root.iter(qn(DAV, "prop")):
        for el in prop:
            if not isinstance(el.tag, str):
                continue
            if el.tag == qn(DAV, "resourcetype"):
                types |= {c.tag for c in el if isinstance(c.tag, str)}
            elif el.tag == COMPONENTS_PROP:
                values[COMPONENTS_PROP] = sorted({str(c.get("name", "")).upper() for c in el if c.get("name")}) or None
            else:
                values[el.tag] = value_of(el.tag, el)
    return types, values


async def handle(ctx: Context, segments: list[str]) -> Response:
    calendar_method = ctx.request.method == "MKCALENDAR"
    types, values = _body_props(ctx)
    res = await r.resolve(ctx, segments)
    if res.exists:
        raise DavError(405, None, "the resource exists already")
    if res.gal or res.space is None or res.name is None:
        raise DavError(403, None, "cannot create a collection here")
    if res.folder is not None and res.space != "files":
        raise DavError(403, None, "calendars and address books do not nest")
    if res.space == "calendars":
        if not calendar_method and types and qn(CALDAV, "calendar") not in types:
            raise DavError(403, "{DAV:}valid-resourcetype", "only calendars live here")
        comps = tuple(values.get(COMPONENTS_PROP) or ("VEVENT", "VTODO"))
        folder_class = _CLASS_OF_COMPONENTS.get(comps, "IPF.Appointment")
        if COMPONENTS_PROP not in values:
            values[COMPONENTS_PROP] = list(comps)
        path = res.name
    elif res.space == "addressbooks":
        if calendar_method or (types and qn(CARDDAV, "addressbook") not in types):
            raise DavError(403, "{DAV:}valid-resourcetype", "only address books live here")
        folder_class, path = "IPF.Contact", res.name
    else:
        if calendar_method:
            raise DavError(403, None, "calendars live under /dav/calendars/")
        folder_class = "IPF.Files"
        path = res.name if res.folder is None else f"{res.folder.path}/{res.name}"
    try:
        folder = await ctx.mailbox.create_folder(path, folder_class)
    except FolderExists as exc:
        # The folder tree is shared by every protocol: a mail folder or a calendar may
        # already hold this name though it is not visible in this DAV space.
        raise DavError(409, None, "a folder of that name exists (mail, calendar or contacts)") from exc
    except (InvalidFolderName, ValueError) as exc:
        raise DavError(403, None, str(exc)) from exc
    values = {k: v for k, v in values.items() if v is not None}
    if values:
        await folderprops.set_folder_props(ctx.mailbox, folder.id, values)
    return Response(b"", 201)
