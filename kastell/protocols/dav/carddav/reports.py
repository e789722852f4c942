"""CardDAV reports: addressbook-query (RFC 6352 §8.6) and addressbook-multiget (§8.7).

Filters run on a light line-level reading of each card (unfolded content lines,
property name, parameters, value) rather than a full vobject parse: a query over a
thousand cards stays cheap, and the text-match semantics of §10.5.4 need no more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.responses import Response

from kastell.formats import vcard
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.carddav import gal
from kastell.protocols.dav.common import sources, xml_response
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.multiget import multiget, requested_props, respond
from kastell.protocols.dav.xml import CARDDAV, Element, element, multistatus, qn

Line = tuple[str, dict[str, str], str]


def lines_of(body: bytes) -> list[Line]:
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    unfolded = text.replace("\n ", "").replace("\n\t", "")
    out: list[Line] = []
    for raw in unfolded.split("\n"):
        head, sep, value = raw.partition(":")
        if not sep:
            continue
        parts = head.split(";")
        name = parts[0].split(".")[-1].upper()  # drop a group prefix (item1.EMAIL)
        params = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            params[k.upper()] = v
        out.append((name, params, value))
    return out


@dataclass
class TextMatch:
    text: str
    negate: bool
    match_type: str
    octet: bool

    def matches(self, value: str) -> bool:
        a, b = (value, self.text) if self.octet else (value.casefold(), self.text.casefold())
        hit = {
            "equals": a == b,
            "starts-with": a.startswith(b),
            "ends-with": a.endswith(b),
        }.get(self.match_type, b in a)
        return hit != self.negate


@dataclass
class PropFilter:
    name: str
    anyof: bool
    not_defined: bool
    texts: list[TextMatch] = field(default_factory=list)
    params: list[tuple[str, bool, TextMatch | None]] = field(default_factory=list)

    def matches(self, lines: list[Line]) -> bool:
        present = [ln for ln in lines if ln[0] == self.name]
        if self.not_defined:
            return not present
        if not present:
            return False
        tests = len(self.texts) + len(self.params)
        if tests == 0:
            return True
        for _, params, value in present:
            results = [t.matches(value) for t in self.texts]
            for pname, not_defined, text in self.params:
                pv = params.get(pname)
                if pv is None:
                    results.append(not_defined)
                else:
                    results.append(not not_defined and (text is None or text.matches(pv)))
            if any(results) if self.anyof else all(results):
                return True
        return False


def _text(el: Element | None) -> TextMatch | None:
    if el is None:
        return None
    collation = el.get("collation", "i;unicode-casemap")
    if collation not in ("i;unicode-casemap", "i;ascii-casemap", "i;octet"):
        raise DavError(403, qn(CARDDAV, "supported-collation"), collation)
    match_type = el.get("match-type", "contains")
    if match_type not in ("equals", "contains", "starts-with", "ends-with"):
        raise DavError(400, None, f"bad match-type {match_type}")
    return TextMatch(el.text or "", el.get("negate-condition", "no") == "yes", match_type, collation == "i;octet")


def parse_filter(el: Element | None) -> tuple[bool, list[PropFilter]]:
    if el is None:
        return False, []
    anyof = el.get("test", "anyof") == "anyof"
    out = []
    for pf in el.findall(qn(CARDDAV, "prop-filter")):
        f = PropFilter(
            (pf.get("name") or "").upper(),
            pf.get("test", "anyof") == "anyof",
            pf.find(qn(CARDDAV, "is-not-defined")) is not None,
        )
        for tm in pf.findall(qn(CARDDAV, "text-match")):
            t = _text(tm)
            assert t is not None
            f.texts.append(t)
        for param in pf.findall(qn(CARDDAV, "param-filter")):
            f.params.append(
                (
                    (param.get("name") or "").upper(),
                    param.find(qn(CARDDAV, "is-not-defined")) is not None,
                    _text(param.find(qn(CARDDAV, "text-match"))),
                )
            )
        out.append(f)
    return anyof, out


def renderer(data: Element | None) -> object:
    version = data.get("version") if data is not None else None

    async def render(ctx: Context, res: r.Resource, body: bytes) -> Element:
        if res.extra is not None:
            body = gal.card(res.extra)
        if version in ("3.0", "4.0") and vcard.card_version(body) != version:
            body = vcard.convert(body, version)
        return element(qn(CARDDAV, "address-data"), body.decode("utf-8", "replace"))

    return render


def _book(res: r.Resource) -> None:
    if res.kind != r.COLLECTION or res.ctype not in ("addressbook", "gal"):
        raise DavError(403, None, "not an address book")


async def addressbook_query(ctx: Context, res: r.Resource, root: Element) -> Response:
    _book(res)
    names, data, data_name = requested_props(root)
    anyof, prop_filters = parse_filter(root.find(qn(CARDDAV, "filter")))
    members = await r.children(ctx, res)
    if res.gal:
        bodies = [gal.card(m.extra) for m in members]
    else:
        bodies = await sources(ctx, [m.item for m in members if m.item is not None])
    chosen = []
    for member, body in zip(members, bodies, strict=True):
        if prop_filters:
            lines = lines_of(body)
            results = (f.matches(lines) for f in prop_filters)
            if not (any(results) if anyof else all(results)):
                continue
        chosen.append(member)
    limit = root.find(qn(CARDDAV, "limit"))
    if limit is not None:
        n = int(limit.findtext(qn(CARDDAV, "nresults")) or "0")
        chosen = chosen[:n] if n > 0 else chosen
    ms = multistatus()
    render = renderer(data)
    await respond(ctx, chosen, names, data_name, render, ms)  # type: ignore[arg-type]
    return xml_response(ms)


async def addressbook_multiget(ctx: Context, res: r.Resource, root: Element) -> Response:
    _book(res)
    _, data, _ = requested_props(root)
    return await multiget(ctx, res, root, renderer(data))  # type: ignore[arg-type]
