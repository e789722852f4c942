"""Everything administration adds to the one ASGI app: ``/api/v1``, ``/admin``, ``/account``.

``kastell.web.app`` lists ``*admin_routes(kastell)`` first in its routes;
the paths are those of CONTRACT.md.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp

from kastell.api import PREFIX, build_api

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

    return [
        _mount(PREFIX, build_api(kastell)),
        _mount("/admin", build_console(kastell, console)),
        _mount("/account", build_selfservice(kastell, console)),
    ]
