"""Everything administration adds to the one ASGI app: ``/api/v1``, ``/admin``, ``/account``, ``/metrics``, ``/healthz``.

``kastell.web.app`` lists ``*admin_routes(kastell)`` first in its routes;
the paths are those of CONTRACT.md.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from kastell import __version__
from kastell.api import PREFIX, build_api
from kastell.ops import metrics

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.admin")
HEALTH_TIMEOUT = 2.0  # seconds; a database slower than this is as good as down for a load balancer


def _mount(prefix: str, app: ASGIApp) -> Mount:
    """A Mount whose pattern also matches paths with a newline (``%0A``) in them.

    Starlette compiles ``{path:path}`` as ``.*`` without DOTALL, so such a path
    would miss the mount and get the outer app's plain-text 404 instead of the
    API's JSON error body.
    """
    mount = Mount(prefix, app=app)
    mount.path_regex = re.compile(mount.path_regex.pattern, re.DOTALL)
    return mount


def admin_routes(kastell: Kastell) -> list[BaseRoute]:
    from kastell.admin.console import ConsoleApp, build_console
    from kastell.admin.selfservice import build_selfservice

    console = ConsoleApp(kastell)

    async def healthz(_request: Request) -> Response:
        """Liveness: the process answers and its database does (503 otherwise)."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), kastell.db.read() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not healthy"; say which
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "unavailable", "version": __version__, "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "database": "ok"})

    async def scrape(_request: Request) -> Response:
        return Response(await metrics.exposition(kastell), media_type=CONTENT_TYPE_LATEST)

    return [
        _mount(PREFIX, build_api(kastell)),
        _mount("/admin", build_console(kastell, console)),
        _mount("/account", build_selfservice(kastell, console)),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/metrics", scrape, methods=["GET"]),
    ]
