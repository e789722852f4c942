"""COPY and MOVE (RFC 4918 §9.8, §9.9) within one user's space of the same type.

A member is copied by storing its source at the destination through the same
validation as PUT (so a calendar object keeps its UID rules); MOVE of a member is
that plus a DELETE. A collection moves by renaming its folder (its items keep their
ids and change clock) and is copied folder by folder (Depth 0 copies only the
collection and its properties).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.common import depth, sources
from kastell.protocols.dav.context import BASE, Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods import put
from kastell.store import folderprops
from kastell.store.errors import FolderExists
from kastell.store.model import Folder


def destination(ctx: Context) -> list[str]:
    header = ctx.request.headers.get("destination")
    if not header:
        raise DavError(400, None, "Destination header required")
    raw = urlsplit(header).path
    if not (raw == BASE or raw.startswith(BASE + "/")):
        raise DavError(502, None, "destination outside this server's DAV space")
    return r.split(raw[len(BASE) :])


def _target_path(res: r.Resource) -> str:
    assert res.name is not None
    if res.space == "files" and res.folder is not None:
        return f"{res.folder.path}/{res.name}"
    return res.name


async def _copy_folder(ctx: Context, src: Folder, path: str, deep: bool) -> None:
    new = await ctx.mailbox.create_folder(path, src.folder_class)
    bag = (await folderprops.folder_props(ctx.mailbox, [src.id]))[src.id]
    if bag:
        await folderprops.set_folder_props(ctx.mailbox, new.id, bag)
    if not deep:
        return
    from kastell.store.model import NewItem

    items = [item async for item in ctx.mailbox.iter_items(src.id)]
    bodies = await sources(ctx, items)
    for item, body in zip(items, bodies, strict=True):
        props = await ctx.mailbox.props(item.id)
        await ctx.mailbox.append(new.id, NewItem(body, kind=item.kind, name=r.item_name(item), props=props or None))
    prefix = src.path + "/"
    for child in await ctx.mailbox.folders():
        if child.path.startswith(prefix) and "/" not in child.path[len(prefix) :]:
            await _copy_folder(ctx, child, path + "/" + child.name, deep)


async def _remove(ctx: Context, res: r.Resource) -> None:
    if res.kind == r.COLLECTION and res.folder is not None:
        await ctx.mailbox.delete_folder(res.folder.id, recursive=True)
    elif res.item is not None:
        await ctx.mailbox.remove(res.item.id)


async def handle(ctx: Context, segments: list[str]) -> Response:
    move = ctx.request.method == "MOVE"
    level = depth(ctx, "infinity")
    if move and level != "infinity":
        raise DavError(400, None, "MOVE of a collection needs Depth: infinity")
    dest_segments = destination(ctx)
    overwrite = ctx.request.headers.get("overwrite", "T").strip().upper() != "F"
    src = await r.resolve(ctx, segments)
    if not src.exists:
        raise DavError(404)
    if src.gal or src.kind not in (r.COLLECTION, r.OBJECT):
        raise DavError(403, None, "cannot copy or move this")
    dst = await r.resolve(ctx, dest_segments)
    if dst.path.rstrip("/") == src.path.rstrip("/"):
        raise DavError(403, None, "source and destination are the same")
    if dst.space != src.space or dst.gal or dst.kind not in (r.COLLECTION, r.OBJECT):
        raise DavError(403, None, "destination is of another kind")
    existed = dst.exists
    if existed and not overwrite:
        raise DavError(412, None, "destination exists")
    if src.kind == r.COLLECTION:
        assert src.folder is not None
        if src.folder.role is not None and move:
            raise DavError(403, None, "default collections cannot be moved")
        if existed:
            await _remove(ctx, dst)
            dst = await r.resolve(ctx, dest_segments)
        if dst.name is None:
            raise DavError(409, None, "no parent collection")
        target = _target_path(dst)
        if target.startswith(src.folder.path + "/"):
            raise DavError(403, None, "cannot copy a collection into itself")
        try:
            if move:
                await ctx.mailbox.rename_folder(src.folder.id, target)
            else:
                await _copy_folder(ctx, src.folder, target, level == "infinity")
        except FolderExists as exc:
            raise DavError(412, None, "destination exists") from exc
        return Response(b"", 204 if existed else 201)
    assert src.item is not None
    if dst.kind == r.COLLECTION:
        await _remove(ctx, dst)
        dst = await r.resolve(ctx, dest_segments)
    body = await ctx.mailbox.source(src.item)
    props = await ctx.mailbox.props(src.item.id) if src.space == "files" else {}
    await put.store(ctx, dst, body, props.get("content-type"), props)
    if move:
        await ctx.mailbox.remove(src.item.id)
    return Response(b"", 204 if existed else 201)
