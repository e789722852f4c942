"""The one ASGI application: protocol routes, admin API and UI, metrics and health.

Protocol packages contribute their routes here as they land; this module only
mounts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from kastell import __version__
from kastell.admin.mount import admin_routes
from kastell.protocols import dav

if TYPE_CHECKING:
    from kastell.app import Kastell


def build_app(kastell: Kastell) -> Starlette:
    registry = CollectorRegistry()
    subscribers = Gauge(
        "kastell_change_subscribers", "clients waiting for mailbox changes", registry=registry
    )
    subscribers.set_function(kastell.events.subscriber_count)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def metrics(_request: Request) -> Response:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            *admin_routes(kastell),  # /api/v1, /admin, and /healthz, /metrics (first: they win)
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics, methods=["GET"]),
            *dav.WELL_KNOWN, Mount("/dav", app=dav.build_dav_app(kastell)),
        ]
    )
