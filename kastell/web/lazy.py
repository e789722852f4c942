"""An ASGI app built on its first request.

The admin console, the admin API and DAV each pull in large libraries
(FastAPI's model machinery, lxml, icalendar); an idle server that nobody has
asked for them yet need not hold them in memory (the idle-RSS target of
bench/import.py). Building is synchronous and happens once.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send


class LazyApp:
    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build: Callable[[], ASGIApp] | None = build
        self._app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            assert self._build is not None
            self._app, self._build = self._build(), None
        await self._app(scope, receive, send)
