"""Helpers shared by the method modules: preconditions, sources, responses."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.responses import Response

from kastell.protocols.dav import props as p
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import Element, tostring
from kastell.store.model import Item

XML_TYPE = "application/xml; charset=utf-8"


def xml_response(root: Element, status: int = 207) -> Response:
    return Response(tostring(root), status, media_type=XML_TYPE)


def check_preconditions(ctx: Context, res: r.Resource) -> None:
    """If-Match / If-None-Match (RFC 9110 §13.1): 412 rather than a silent overwrite."""
    current = p.etag(res)
    if_match = ctx.request.headers.get("if-match")
    if if_match is not None:
        tags = [t.strip() for t in if_match.split(",")]
        if current is None or ("*" not in tags and current not in tags and f"W/{current}" not in tags):
            raise DavError(412, None, "If-Match failed")
    if_none = ctx.request.headers.get("if-none-match")
    if if_none is not None:
        tags = [t.strip() for t in if_none.split(",")]
        if current is not None and ("*" in tags or current in tags):
            if ctx.request.method in ("GET", "HEAD"):
                raise DavError(304, None, "not modified")
            raise DavError(412, None, "If-None-Match failed")


async def sources(ctx: Context, items: Sequence[Item]) -> list[bytes]:
    """The sources of many items in one trip to the blob thread (not one hop per item)."""
    if not items:
        return []
    blobs = ctx.kastell.blobs
    ids = [item.blob_id for item in items]
    return await asyncio.to_thread(lambda: [blobs.get_sync(blob) for blob in ids])


def depth(ctx: Context, default: str = "1") -> str:
    value = ctx.request.headers.get("depth", default).strip().lower()
    if value not in ("0", "1", "infinity"):
        raise DavError(400, None, "Depth must be 0, 1 or infinity")
    return value
