"""PROPFIND (RFC 4918 §9.1): Depth 0 or 1; infinity is refused (§9.1, propfind-finite-depth)."""

from __future__ import annotations

from starlette.responses import Response

from kastell.protocols.dav import props as p
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.common import depth, xml_response
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import DAV, Element, element, multistatus, parse, propstat_response, qn


async def collect(
    ctx: Context, res: r.Resource, names: list[str], overrides: dict[str, Element] | None = None
) -> tuple[list[Element], list[str]]:
    """The requested properties of ``res``: (found elements, missing names)."""
    found: list[Element] = []
    missing: list[str] = []
    for name in names:
        if overrides is not None and name in overrides:
            found.append(overrides[name])
            continue
        prop = p.REGISTRY.get(name)
        value = await prop.get(ctx, res) if prop is not None else p.stored(res, name)
        if value is None:
            missing.append(name)
        else:
            found.append(value)
    return found, missing


def all_names(res: r.Resource) -> list[str]:
    names = [name for name, prop in p.REGISTRY.items() if prop.allprop] + p.dead_names(res)
    if res.kind != r.OBJECT:
        # Clients that follow the /.well-known 301 lose the PROPFIND body on the way
        # (urllib3, python-caldav) and ask for allprop: let them find the principal.
        names.append(qn(DAV, "current-user-principal"))
    return names


def requested(root: Element | None) -> tuple[str, list[str]]:
    """(mode, names) of a propfind body: allprop, propname or prop (RFC 4918 §14.20)."""
    if root is None:
        return "allprop", []
    if root.tag != qn(DAV, "propfind"):
        raise DavError(400, None, "propfind element expected")
    children = [c for c in root if isinstance(c.tag, str)]
    if not children:
        return "allprop", []
    first = children[0]
    if first.tag == qn(DAV, "prop"):
        return "prop", [c.tag for c in first if isinstance(c.tag, str)]
    if first.tag == qn(DAV, "propname"):
        return "propname", []
    if first.tag == qn(DAV, "allprop"):
        include = root.find(qn(DAV, "include"))
        extra = [c.tag for c in include if isinstance(c.tag, str)] if include is not None else []
        return "allprop", extra
    raise DavError(400, None, "prop, propname or allprop expected")


async def handle(ctx: Context, segments: list[str]) -> Response:
    level = depth(ctx)
    if level == "infinity":
        raise DavError(403, qn(DAV, "propfind-finite-depth"), "Depth: infinity is not supported")
    mode, names = requested(parse(ctx.body))
    res = await r.resolve(ctx, segments)
    if not res.exists:
        raise DavError(404)
    targets = [res]
    if level == "1" and res.is_collection:
        targets += await r.children(ctx, res)
    ms = multistatus()
    for target in targets:
        if mode == "propname":
            found = []
            for name in all_names(target) + list(p.REGISTRY):
                prop = p.REGISTRY.get(name)
                if prop is None or await prop.get(ctx, target) is not None:
                    found.append(element(name))
            propstat_response(ms, target.path, found, [])
            continue
        wanted = names if mode == "prop" else all_names(target) + names
        found, missing = await collect(ctx, target, wanted)
        propstat_response(ms, target.path, found, missing if mode == "prop" else [])
    return xml_response(ms)
