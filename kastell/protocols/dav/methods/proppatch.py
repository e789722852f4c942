"""PROPPATCH (RFC 4918 §9.2): all instructions succeed together or none does.

Live properties the server computes are protected (403 with
cannot-modify-protected-property); dead properties are stored whole, as XML.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from starlette.responses import Response

from kastell.protocols.dav import props as p
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.common import xml_response
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import DAV, Element, multistatus, parse, propstat_response, qn
from kastell.store import folderprops

_TEXT_PROPS = {
    qn(DAV, "displayname"),
    "{urn:ietf:params:xml:ns:caldav}calendar-description",
    "{urn:ietf:params:xml:ns:caldav}calendar-timezone",
    "{http://apple.com/ns/ical/}calendar-color",
    "{http://apple.com/ns/ical/}calendar-order",
    "{urn:ietf:params:xml:ns:carddav}addressbook-description",
}


def instructions(root: Element | None) -> list[tuple[str, Element, bool]]:
    """(name, element, remove) in document order (RFC 4918 §14.19)."""
    if root is None or root.tag != qn(DAV, "propertyupdate"):
        raise DavError(400, None, "propertyupdate element expected")
    out = []
    for action in root:
        if action.tag not in (qn(DAV, "set"), qn(DAV, "remove")):
            continue
        prop = action.find(qn(DAV, "prop"))
        if prop is None:
            raise DavError(400, None, "prop element expected")
        for el in prop:
            if isinstance(el.tag, str):
                out.append((el.tag, el, action.tag == qn(DAV, "remove")))
    return out


def value_of(name: str, el: Element) -> Any:
    if name in _TEXT_PROPS:
        return el.text or ""
    return {"xml": etree.tostring(el, encoding="unicode")}


async def apply(ctx: Context, res: r.Resource, changes: list[tuple[str, Element, bool]]) -> dict[str, int]:
    """Check and store; the status of each property name."""
    status: dict[str, int] = {}
    values: dict[str, Any] = {}
    for name, el, remove in changes:
        prop = p.REGISTRY.get(name)
        if prop is not None and not prop.writable:
            status[name] = 403
            continue
        status[name] = 200
        values[name] = None if remove else value_of(name, el)
    if any(code != 200 for code in status.values()):
        return {name: code if code != 200 else 424 for name, code in status.items()}
    if values:
        if res.kind == r.COLLECTION and res.folder is not None and not res.gal:
            await folderprops.set_folder_props(ctx.mailbox, res.folder.id, values)
        elif res.item is not None:
            await ctx.mailbox.set_props(res.item.id, values)
        else:
            return {name: 403 for name in status}
    return status


async def handle(ctx: Context, segments: list[str]) -> Response:
    changes = instructions(parse(ctx.body))
    res = await r.resolve(ctx, segments)
    if not res.exists:
        raise DavError(404)
    status = await apply(ctx, res, changes)
    ms = multistatus()
    by_code: dict[int, list[str]] = {}
    for name, code in status.items():
        by_code.setdefault(code, []).append(name)
    ok = [etree.Element(n) for n in by_code.pop(200, [])]
    response = propstat_response(ms, res.path, ok, [], by_code)
    if 403 in by_code:
        desc = etree.SubElement(response, qn(DAV, "responsedescription"))
        desc.text = "protected property"
    return xml_response(ms)
