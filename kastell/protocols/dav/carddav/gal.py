"""The global address list: a read-only address book built from the directory.

Every active user, shared mailbox, room and equipment of the caller's organisation
is one vCard 4.0 (``<address>.vcf``), generated on the fly; the ETag follows the
account's ``updated`` stamp. There is no change clock for the directory, so the
GAL offers no sync-collection; clients fall back to ctag/ETag comparison.
"""

from __future__ import annotations

from kastell.directory.records import Account
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import Context


async def accounts(ctx: Context) -> list[Account]:
    if "gal" not in ctx.cache:
        found = [a async for a in ctx.kastell.directory.iter_accounts() if a.org_id == ctx.account.org_id and a.active]
        ctx.cache["gal"] = found
    result: list[Account] = ctx.cache["gal"]
    return result


def card(account: Account) -> bytes:
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")

    name = account.name or account.address
    kind = {"user": "individual", "shared": "group", "room": "location", "equipment": "application"}.get(
        account.kind, "individual"
    )
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"UID:urn:kastell:account:{account.org_id}:{account.id}",
        f"FN:{esc(name)}",
        f"N:{esc(name)};;;;",
        f"KIND:{kind}",
        f"EMAIL;TYPE=work:{account.address}",
        "END:VCARD",
        "",
    ]
    return "\r\n".join(lines).encode()


async def members(ctx: Context, res: r.Resource) -> list[r.Resource]:
    return [
        r.Resource(
            r.OBJECT,
            res.path + r.seg(a.address + ".vcf"),
            res.space,
            res.owner,
            name=a.address + ".vcf",
            gal=True,
            extra=a,
        )
        for a in await accounts(ctx)
    ]


async def lookup(ctx: Context, res: r.Resource) -> r.Resource:
    """Fill ``extra`` of a GAL object resource (``exists`` false when no such entry)."""
    if res.name and res.name.endswith(".vcf"):
        address = res.name[:-4].lower()
        for a in await accounts(ctx):
            if a.address == address:
                res.extra = a
    return res
