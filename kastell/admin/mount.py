"""Everything administration adds to the one ASGI app: ``/api/v1``, ``/admin``, ``/account``.

``kastell.web.app`` lists ``*admin_routes(kastell)`` first in its routes;
the paths are those of CONTRACT.md.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from kastell.web.lazy import LazyApp

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.admin")
API_PREFIX = "/api/v1"  # kastell.api.PREFIX, without importing FastAPI here


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
    """The API, console and self-service mounts; each is built on its first request."""
    shared: dict[str, Any] = {}

    def console() -> Any:
        # One ConsoleApp (sessions, login throttling) serves /admin and /account.
        if "console" not in shared:
            from kastell.admin.console import ConsoleApp

            shared["console"] = ConsoleApp(kastell)
        return shared["console"]

    def api() -> ASGIApp:
        from kastell.api import build_api

        return build_api(kastell)

    def admin() -> ASGIApp:
        from kastell.admin.console import build_console

        return build_console(kastell, console())

    def account() -> ASGIApp:
        from kastell.admin.selfservice import build_selfservice

        return build_selfservice(kastell, console())

    return [
        _mount(API_PREFIX, LazyApp(api)),
        _mount("/admin", LazyApp(admin)),
        _mount("/account", LazyApp(account)),
    ]
