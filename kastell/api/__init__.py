"""The admin REST API, mounted at ``/api/v1`` (its OpenAPI document at ``/api/v1/openapi.json``).

``build_api(kastell)`` makes the FastAPI application. Module map:

- ``auth``: credentials → ``Principal`` (token, Basic, console session), scope;
- ``actions``: scoped, audited operations shared with the console;
- ``models``: request/response bodies; ``errors``: the one error body;
- ``routes_directory``, ``routes_system``, ``routes_ops`` (queue, sessions): the HTTP surface;
- ``dns``: the DNS records a domain needs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from starlette.responses import Response

from kastell import __version__
from kastell.api import errors, routes_directory, routes_ldap, routes_ops, routes_system
from kastell.api.models import ErrorBody
from kastell.ops import metrics

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.api")
PREFIX = "/api/v1"

_ERRORS = {
    400: {"model": ErrorBody, "description": "the body could not be parsed (not JSON, not UTF-8)"},
    401: {"model": ErrorBody, "description": "no or wrong credentials"},
    403: {"model": ErrorBody, "description": "not allowed for this administrator (read-only, not system)"},
    404: {"model": ErrorBody, "description": "no such object (or outside this administrator's scope)"},
    409: {"model": ErrorBody, "description": "exists already, or still in use"},
    422: {"model": ErrorBody, "description": "invalid input; error.field names the field"},
    429: {"model": ErrorBody, "description": "too many failed logins; see Retry-After"},
}


def build_api(kastell: Kastell) -> FastAPI:
    api = FastAPI(
        title="Kastell admin API",
        version=__version__,
        description="Administration of a Kastell server: organisations, domains, users, groups, "
        "administrators, API tokens, audit log, mail queue, live sessions, statistics and health.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        servers=[{"url": PREFIX}],
        root_path_in_servers=False,
        responses=_ERRORS,  # type: ignore[arg-type]
    )
    api.state.kastell = kastell
    errors.install(api)
    api.include_router(routes_directory.router)
    api.include_router(routes_system.router)
    api.include_router(routes_ops.router)
    api.include_router(routes_ldap.router)

    async def internal_error(request: Request, exc: Exception) -> Response:
        # A bug: log it with the traceback, answer the one error body without it.
        log.exception("admin API failure on %s %s", request.method, request.url.path, exc_info=exc)
        return errors.error_response(errors.ApiError(500, "internal", "internal error; see the server log"))

    api.add_exception_handler(Exception, internal_error)

    @api.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        metrics.HTTP_REQUESTS.labels("api", str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels("api").observe(time.perf_counter() - started)
        return response

    return api


__all__ = ["PREFIX", "build_api"]
