"""The one ASGI application: protocol routes, admin API and UI, metrics and health.

Packages contribute their routes; this module only puts them together, with
the two operational endpoints every deployment probes: ``/healthz`` (liveness,
including the database) and ``/metrics`` (Prometheus).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from kastell import __version__
from kastell.admin.mount import admin_routes
from kastell.ops import metrics
from kastell.protocols import dav
from kastell.web import autoconfig
from kastell.web.autoconfig import CaseInsensitivePaths
from kastell.web.lazy import LazyApp

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.web")
HEALTH_TIMEOUT = 2.0  # seconds; a database slower than this is as good as down for a load balancer


def build_app(kastell: Kastell) -> Starlette:
    async def healthz(_request: Request) -> Response:
        """Liveness: the process answers and its database does (503 otherwise)."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT):
                await kastell.db.ping()
        except Exception as exc:  # any failure means "not healthy"; say which
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse({"status": "unavailable", "version": __version__, "database": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "database": "ok"})

    async def scrape(_request: Request) -> Response:
        return Response(await metrics.exposition(kastell), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/metrics", scrape, methods=["GET"]),
            *admin_routes(kastell),  # /api/v1, /admin, /account
            *dav.WELL_KNOWN,
            Mount("/dav", app=LazyApp(lambda: dav.build_dav_app(kastell))),
            *autoconfig.routes(kastell),
        ]
    )
    app.add_middleware(CaseInsensitivePaths, paths=autoconfig.PATHS)
    return app
