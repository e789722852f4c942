"""The self-service page at ``/account/``: any user with web permission sees its account,
changes its password and sets its out-of-office reply.

Login goes through ``Authenticator.authenticate(..., protocol="web")``, so
the same throttling, status and permission checks apply as to every other
protocol. The session is the console's kind of signed cookie, under its own
name, path (``/account``) and salt: an admin session is never a user session
or the reverse. A password change needs the current password (a session left
open on a shared computer must not be enough) and is written to the audit log
with the user as the actor.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kastell.admin.session import Session, Sessions, check_csrf, load_key
from kastell.api.auth import client_of
from kastell.directory.audit import AuditLog
from kastell.directory.errors import AuthFailed, AuthThrottled, DirectoryError, InvalidValue, NoSuchAccount
from kastell.directory.records import Account
from kastell.rules import oof
from kastell.store import stats

if TYPE_CHECKING:
    from kastell.admin.console import ConsoleApp
    from kastell.app import Kastell

MIN_PASSWORD = 8  # what users choose themselves; admins may set anything the directory accepts


class SelfService:
    def __init__(self, kastell: Kastell, console: ConsoleApp) -> None:
        self.kastell = kastell
        self.console = console  # for its template environment
        self.sessions = Sessions(
            load_key(kastell.settings.data_dir), cookie="kastell_account", path="/account", salt="kastell-self-service"
        )

    async def _current(self, request: Request) -> tuple[Session, Account] | None:
        session = self.sessions.read(request)
        if session is None:
            return None
        try:
            account = await self.kastell.directory.get_account(session.admin)
        except (NoSuchAccount, DirectoryError):
            return None
        if account.status != "active":
            return None  # suspended meanwhile: the session ends with it
        return session, account

    async def _page(self, session: Session, account: Account, status: int = 200, **context: Any) -> Response:
        usage = await stats.storage_by_account(self.kastell.db, address=account.address, limit=1)
        context.setdefault("oof", await oof.get(self.kastell.db, account.org_id, account.id))
        zone = _zone(account)
        aliases = []
        for domain in await self.kastell.directory.list_domains():
            if domain.org_id == account.org_id:
                listed = await self.kastell.directory.list_aliases(domain.name)
                aliases += [a for a in listed if a.account_id == account.id]
        return self.console.render(
            "account.html",
            status,
            account=account,
            usage=usage[0] if usage else None,
            aliases=aliases,
            csrf=session.csrf,
            local_time=lambda value: _local_input(value, zone),
            **context,
        )

    async def home(self, request: Request) -> Response:
        current = await self._current(request)
        if current is None:
            return RedirectResponse("/account/login", status_code=303)
        return await self._page(*current)

    async def _form(self, request: Request) -> tuple[Session, Account, FormData] | Response:
        """The session, account and form of a POST from a logged-in user with the right CSRF token,
        or the refusal to send."""
        current = await self._current(request)
        if current is None:
            return self.console.render("message.html", 403, title="Not logged in", text="Please log in again.")
        session, account = current
        form = await request.form()
        token = form.get("csrf")
        if not check_csrf(session, request, token if isinstance(token, str) else None):
            return self.console.render("message.html", 403, title="Refused", text="Missing or wrong CSRF token.")
        return session, account, form

    def _login_page(self, request: Request, status: int, error: str | None, address: str) -> Response:
        token = self.sessions.login_token(request)
        response = self.console.render(
            "account_login.html", status, error=error, address=address, login_csrf=token, admin=None, csrf=None
        )
        self.sessions.set_login_token(request, response, token)
        return response

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self._login_page(request, 200, None, "")
        form = await request.form()
        address, password, token = (str(form.get(key, "")) for key in ("address", "password", "login_csrf"))
        if not self.sessions.check_login_token(request, token):
            return self._login_page(request, 403, "The form expired; please try again.", address)
        try:
            account = await self.kastell.auth.authenticate(
                address, password, client_ip=client_of(request) or None, protocol="web"
            )
        except AuthThrottled as exc:
            return self._login_page(
                request, 429, f"Too many attempts; try again in {int(exc.retry_after) + 1} s.", address
            )
        except AuthFailed:
            await self.kastell.auth.delay_failure()
            return self._login_page(request, 401, "Wrong address or password.", address)
        response = RedirectResponse("/account/", status_code=303)
        self.sessions.start(request, response, account.address)
        return response

    async def logout(self, request: Request) -> Response:
        current = await self._current(request)
        form = await request.form()
        token = form.get("csrf")
        if current is not None and not check_csrf(current[0], request, token if isinstance(token, str) else None):
            return self.console.render("message.html", 403, title="Refused", text="Missing or wrong CSRF token.")
        response = RedirectResponse("/account/login", status_code=303)
        self.sessions.end(response)
        return response

    async def password(self, request: Request) -> Response:
        checked = await self._form(request)
        if isinstance(checked, Response):
            return checked
        session, account, form = checked
        old, new, again = (str(form.get(key, "")) for key in ("current", "new", "again"))
        if new != again:
            return await self._page(session, account, 422, error="The new passwords differ.", error_field="again")
        if len(new) < MIN_PASSWORD:
            return await self._page(
                session, account, 422, error=f"Choose at least {MIN_PASSWORD} characters.", error_field="new"
            )
        try:
            await self.kastell.auth.authenticate(
                account.address, old, client_ip=client_of(request) or None, protocol="web"
            )
        except AuthFailed:
            await self.kastell.auth.delay_failure()
            return await self._page(
                session, account, 403, error="The current password is wrong.", error_field="current"
            )
        try:
            await self.kastell.directory.set_password(account.address, new)
        except InvalidValue as exc:
            return await self._page(session, account, 422, error=str(exc), error_field="new")
        await AuditLog(self.kastell.db).record(
            account.address, "self.password", account.address, org_id=account.org_id, client=client_of(request)
        )
        return await self._page(session, account, notice="Your password was changed.")

    async def out_of_office(self, request: Request) -> Response:
        """Save the automatic reply (kastell.rules.oof: the same object the CLI and the API edit)."""
        checked = await self._form(request)
        if isinstance(checked, Response):
            return checked
        session, account, form = checked
        zone = _zone(account)
        text = {key: str(form.get(key, "")).replace("\r\n", "\n") for key in
                ("subject", "internal_message", "external_message", "start", "end")}  # fmt: skip
        wanted: oof.OutOfOffice | None = None
        try:
            wanted = oof.OutOfOffice(
                enabled=form.get("enabled") == "on",
                start=_from_local_input(text["start"], zone),
                end=_from_local_input(text["end"], zone),
                subject=text["subject"].strip(),
                internal_message=text["internal_message"].strip(),
                external_message=text["external_message"].strip() or text["internal_message"].strip(),
                internal_only=form.get("internal_only") == "on",
            )
            stored = await oof.put(self.kastell.db, account.org_id, account.id, wanted)
        except (oof.OofError, ValueError) as exc:
            return await self._page(session, account, 422, oof_error=str(exc), oof=wanted)
        await AuditLog(self.kastell.db).record(
            account.address, "self.oof", account.address, org_id=account.org_id, client=client_of(request),
            detail={"enabled": stored.enabled},
        )  # fmt: skip
        notice = "Your automatic reply is on." if stored.enabled else "Your automatic reply is off."
        return await self._page(session, account, notice=notice, oof=stored)


def _zone(account: Account) -> tzinfo:
    try:
        return ZoneInfo(account.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _local_input(value: int | None, zone: tzinfo) -> str:
    """Epoch seconds as the value of an <input type="datetime-local"> in the user's zone."""
    if value is None:
        return ""
    return datetime.fromtimestamp(value, zone).strftime("%Y-%m-%dT%H:%M")


def _from_local_input(text: str, zone: tzinfo) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date and time: {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp())


def build_selfservice(kastell: Kastell, console: ConsoleApp) -> Starlette:
    service = SelfService(kastell, console)
    return Starlette(
        routes=[
            Route("/", service.home),
            Route("/login", service.login, methods=["GET", "POST"]),
            Route("/logout", service.logout, methods=["POST"]),
            Route("/password", service.password, methods=["POST"]),
            Route("/oof", service.out_of_office, methods=["POST"]),
        ]
    )
