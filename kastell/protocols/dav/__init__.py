"""WebDAV (RFC 4918) with CalDAV (RFC 4791) and CardDAV (RFC 6352) over the mailbox store.

``build_dav_app(kastell)`` is the ASGI app mounted at ``/dav``; ``WELL_KNOWN`` the
routes for ``/.well-known/caldav`` and ``/.well-known/carddav`` (RFC 6764).
Layout: the generic WebDAV core (``xml``, ``props``, ``resources``, ``methods/``,
``sync``) imports nothing from ``caldav/`` or ``carddav/`` except through the
report table and property registration; see docs/dav.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.protocols.dav.app import DavApp


def well_known(_request: Request) -> Response:
    """RFC 6764 §5: the context path; clients continue with principal discovery."""
    return RedirectResponse("/dav/", status_code=301)


_WELL_KNOWN_METHODS = ["GET", "HEAD", "PROPFIND", "OPTIONS", "POST"]
WELL_KNOWN = [
    Route("/.well-known/caldav", well_known, methods=_WELL_KNOWN_METHODS),
    Route("/.well-known/carddav", well_known, methods=_WELL_KNOWN_METHODS),
    Route("/dav", well_known, methods=_WELL_KNOWN_METHODS),
]


def build_dav_app(kastell: Kastell) -> DavApp:
    # Imported here: the DAV machinery (lxml, icalendar, recurrence) loads on first use.
    from kastell.protocols.dav.app import DavApp

    return DavApp(kastell)


__all__ = ["WELL_KNOWN", "build_dav_app"]
