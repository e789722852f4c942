"""The global address list: a read-only address book built from the directory.

Every active user, shared mailbox, room and equipment of the caller's organisation
is one vCard 4.0 (``<address>.vcf``), and every group one ``KIND:group`` card with
its members; the cards are generated on the fly and the ETag follows the
directory's timestamps. There is no change clock for the directory, so the GAL
offers no sync-collection; clients fall back to ctag/ETag comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from kastell.directory.records import Account
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import Context

_KINDS = {"user": "individual", "shared": "group", "room": "location", "equipment": "application"}


@dataclass(frozen=True, slots=True)
class Entry:
    uid: str
    address: str
    name: str
    kind: str  # vCard 4.0 KIND
    stamp: int  # changes when the directory entry changes (the ETag)
    members: tuple[str, ...] = ()

    # The ETag helper reads ``updated``/``id`` of a GAL entry.
    @property
    def updated(self) -> int:
        return self.stamp

    @property
    def id(self) -> str:
        return self.uid.rsplit(":", 1)[-1]


async def accounts(ctx: Context) -> list[Account]:
    """Active accounts of the caller's organisation (also principal-property-search)."""
    if "gal" not in ctx.cache:
        found = [a async for a in ctx.kastell.directory.iter_accounts() if a.org_id == ctx.account.org_id and a.active]
        ctx.cache["gal"] = found
    result: list[Account] = ctx.cache["gal"]
    return result


async def entries(ctx: Context) -> list[Entry]:
    out = [
        Entry(f"urn:kastell:account:{a.org_id}:{a.id}", a.address, a.name or a.address, _KINDS.get(a.kind, "individual"), a.updated)
        for a in await accounts(ctx)
    ]  # fmt: skip
    for g in await ctx.kastell.directory.list_groups():
        if g.org_id == ctx.account.org_id:
            stamp = g.created + len(g.members)  # no update stamp on groups: membership size stands in
            out.append(
                Entry(f"urn:kastell:group:{g.org_id}:{g.id}", g.address, g.name or g.address, "group", stamp, g.members)
            )
    return out


def card(entry: Entry) -> bytes:
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")

    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"UID:{entry.uid}",
        f"FN:{esc(entry.name)}",
        f"N:{esc(entry.name)};;;;",
        f"KIND:{entry.kind}",
        f"EMAIL;TYPE=work:{entry.address}",
        *(f"MEMBER:mailto:{m}" for m in entry.members),
        "END:VCARD",
        "",
    ]
    return "\r\n".join(lines).encode()


async def members(ctx: Context, res: r.Resource) -> list[r.Resource]:
    return [
        r.Resource(
            r.OBJECT,
            res.path + r.seg(e.address + ".vcf"),
            res.space,
            res.owner,
            name=e.address + ".vcf",
            gal=True,
            extra=e,
        )
        for e in await entries(ctx)
    ]


async def lookup(ctx: Context, res: r.Resource) -> r.Resource:
    """Fill ``extra`` of a GAL object resource (``exists`` false when no such entry)."""
    if res.name and res.name.endswith(".vcf"):
        address = res.name[:-4].lower()
        for e in await entries(ctx):
            if e.address == address:
                res.extra = e
    return res
