"""The admin web console at ``/admin/``: server-rendered pages (Jinja2), progressively enhanced by htmx.

Every page works without JavaScript (plain links and forms, POST then
redirect); htmx only adds live search on the users page and a polling health
panel on the dashboard. All changes go through ``kastell.api.actions`` — the
same scope checks and audit entries as the REST API — and every POST must
carry the session's CSRF token (``session.py``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import kastell.admin.pages as pages
from kastell import __version__
from kastell.admin.ldap_page import ldap_page
from kastell.admin.session import Sessions, check_csrf, load_key
from kastell.api.actions import Actions
from kastell.api.auth import Principal, client_of, principal_for
from kastell.directory.audit import get_admin_by_name
from kastell.directory.errors import AuthFailed, AuthThrottled, NoSuchAdmin
from kastell.ops import metrics
from kastell.ops.history import HealthHistory

if TYPE_CHECKING:
    from kastell.app import Kastell

HERE = Path(__file__).parent
Handler = Callable[[Request, "Console"], Awaitable[Response]]


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


def _when(stamp: int | None) -> str:
    return "" if not stamp else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(stamp))


class Console:
    """One request's view of the console: the admin, its actions, and the template renderer."""

    def __init__(self, app: ConsoleApp, request: Request, principal: Principal, csrf: str) -> None:
        self.app = app
        self.request = request
        self.principal = principal
        self.csrf = csrf
        self.actions = Actions(app.kastell, principal)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self.app.render(template, status, admin=self.principal.admin, csrf=self.csrf, **context)

    async def form(self) -> dict[str, str]:
        data = await self.request.form()
        return {key: value for key, value in data.items() if isinstance(value, str)}


class ConsoleApp:
    def __init__(self, kastell: Kastell) -> None:
        self.kastell = kastell
        self.sessions = Sessions(load_key(kastell.settings.data_dir))
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), enable_async=False
        )
        self.env.filters["size"] = _size
        self.env.filters["when"] = _when
        self.env.filters["q"] = lambda value: quote(str(value), safe="@")
        self.env.globals["version"] = __version__
        self.history = HealthHistory(kastell)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)

    def page(self, handler: Handler, *, write: bool = False) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: a session is required (else to the login page); a POST needs the CSRF token."""

        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            session = self.sessions.read(request)
            admin = None
            if session is not None:
                try:
                    admin = await get_admin_by_name(self.kastell.db, session.admin)
                except NoSuchAdmin:
                    admin = None
            if session is None or admin is None:
                if request.method != "GET":
                    return self.render("message.html", 403, title="Not logged in", text="Please log in again.")
                response: Response = RedirectResponse(f"/admin/login?next={quote(request.url.path)}", status_code=303)
                return response
            if request.method == "POST":
                form = await request.form()
                token = form.get("csrf")
                if not check_csrf(session, request, token if isinstance(token, str) else None):
                    return self.render("message.html", 403, title="Refused", text="Missing or wrong CSRF token.")
            self.history.start()  # the dashboard's chart fills from the first console visit on
            principal = await principal_for(self.kastell, admin, "session", client_of(request))
            console = Console(self, request, principal, session.csrf)
            response = await handler(request, console)
            metrics.HTTP_REQUESTS.labels("console", str(response.status_code)).inc()
            metrics.HTTP_SECONDS.labels("console").observe(time.perf_counter() - started)
            return response

        return endpoint

    async def login(self, request: Request) -> Response:
        target = request.query_params.get("next", "/admin/")
        if not target.startswith("/admin/") or target.startswith("//"):
            target = "/admin/"  # never an open redirect
        if request.method == "GET":
            return self._login_page(request, target, None, "", 200)
        form = await request.form()
        name, password, token = (str(form.get(key, "")) for key in ("name", "password", "login_csrf"))
        if not self.sessions.check_login_token(request, token):
            return self.render(
                "message.html", 403, title="Refused", text="Missing or wrong CSRF token; reload the login page."
            )
        error, status = None, 200
        try:
            admin = await self.kastell.auth.authenticate_admin(name, password, client_ip=client_of(request) or None)
        except AuthThrottled as exc:
            error, status = f"Too many failed attempts; try again in {int(exc.retry_after) + 1} seconds.", 429
        except AuthFailed:
            await self.kastell.auth.delay_failure()
            error, status = "Wrong name or password.", 401
        if error is not None:
            return self._login_page(request, target, error, name, status)
        response = RedirectResponse(target, status_code=303)
        self.sessions.start(request, response, admin.name)
        return response

    def _login_page(self, request: Request, target: str, error: str | None, name: str, status: int) -> Response:
        token = self.sessions.login_token(request)
        response = self.render("login.html", status, next=target, error=error, name=name, login_csrf=token)
        self.sessions.set_login_token(request, response, token)
        return response

    async def logout(self, request: Request) -> Response:
        session = self.sessions.read(request)
        form = await request.form()
        token = form.get("csrf")
        if session is not None and not check_csrf(session, request, token if isinstance(token, str) else None):
            return self.render("message.html", 403, title="Refused", text="Missing or wrong CSRF token.")
        response = RedirectResponse("/admin/login", status_code=303)
        self.sessions.end(response)
        return response


# Pages are never framed (clickjacking) and load nothing from elsewhere.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def build_console(kastell: Kastell, console: ConsoleApp | None = None) -> Starlette:
    console = console or ConsoleApp(kastell)
    page = console.page
    routes = [
        Route("/", page(pages.dashboard)),
        Route("/login", console.login, methods=["GET", "POST"]),
        Route("/logout", console.logout, methods=["POST"]),
        Route("/health", page(pages.health_panel)),
        Route("/history.json", page(pages.history)),
        Route("/domains", page(pages.domains), methods=["GET", "POST"]),
        Route("/domains/{name}", page(pages.domain), methods=["GET"]),
        Route("/domains/{name}/delete", page(pages.domain_delete), methods=["POST"]),
        Route("/users", page(pages.users), methods=["GET", "POST"]),
        Route("/users-import", page(pages.users_import), methods=["POST"]),
        Route("/users-bulk", page(pages.users_bulk), methods=["POST"]),
        Route("/users/{address}/aliases", page(pages.user_alias), methods=["POST"]),
        Route("/users/{address}", page(pages.user), methods=["GET", "POST"]),
        Route("/users/{address}/password", page(pages.user_password), methods=["POST"]),
        Route("/users/{address}/delete", page(pages.user_delete), methods=["POST"]),
        Route("/groups", page(pages.groups), methods=["GET", "POST"]),
        Route("/queue", page(pages.queue), methods=["GET", "POST"]),
        Route("/sessions", page(pages.sessions)),
        Route("/admins", page(pages.admins), methods=["GET", "POST"]),
        Route("/audit", page(pages.audit)),
        Route("/ldap", page(ldap_page), methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes)
