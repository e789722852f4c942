"""The console's page handlers: read through ``Actions``, render a template; POST, then redirect.

A failed change re-renders the page with the error next to the field it
names (``ApiError.field``) and the HTTP status the API would have answered.
A generated password is rendered into the answer of the POST that made it,
never put into a redirect URL (it would end up in history and logs).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from typing import TYPE_CHECKING, Any, get_args
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from kastell.api.actions import generate_password
from kastell.api.dns import dns_records_of, live_check
from kastell.api.errors import ApiError
from kastell.api.models import PermissionName, QueuedMessageOut, permission_bits, permission_names
from kastell.config import parse_size
from kastell.ops.health import health
from kastell.store import stats

if TYPE_CHECKING:
    from kastell.admin.console import Console

PAGE = 50  # rows per page on list pages
PERMISSIONS = list(get_args(PermissionName))


def _redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def _failure(exc: ApiError) -> dict[str, Any]:
    return {"error": exc.message, "error_field": exc.field}


def _size_field(text: str, name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return parse_size(text)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"{name}: {exc}", name) from exc


# ---------------------------------------------------------------- dashboard


async def dashboard(_request: Request, c: Console) -> Response:
    summary, storage, recent = await asyncio.gather(
        c.actions.totals(),
        c.actions.storage_by_domain(),
        c.actions.audit_entries(limit=10),
    )
    biggest = max((row.bytes_used for row in storage), default=0) or 1
    return c.render(
        "dashboard.html",
        summary=summary,
        storage=storage,
        biggest=biggest,
        recent=recent,
        health=health(c.app.kastell),
    )


async def history(_request: Request, c: Console) -> Response:
    if not c.app.history.samples:
        await c.app.history.sample()  # the first visit shows a point at once
    return JSONResponse(c.app.history.series(), headers={"Cache-Control": "no-store"})


async def health_panel(_request: Request, c: Console) -> Response:
    return c.render("health_panel.html", health=health(c.app.kastell))


# ---------------------------------------------------------------- domains


async def domains(request: Request, c: Console) -> Response:
    context: dict[str, Any] = {"form": {}}
    if request.method == "POST":
        form = await c.form()
        try:
            made = await c.actions.add_domain(
                form.get("name", ""), org=form.get("org") or None, alias_of=form.get("alias_of") or None
            )
        except ApiError as exc:
            context |= _failure(exc) | {"form": form, "status": exc.status}
        else:
            return _redirect(f"/admin/domains/{quote(made.name)}?created=1")
    listed = await c.actions.list_domains()
    storage = {row.domain: row for row in await c.actions.storage_by_domain()}
    return c.render(
        "domains.html",
        context.pop("status", 200),
        domains=listed,
        storage=storage,
        orgs=await c.actions.list_orgs(),
        **context,
    )


async def domain(request: Request, c: Console, error: ApiError | None = None) -> Response:
    try:
        found = await c.actions.get_domain(request.path_params["name"])
    except ApiError as exc:
        return c.render("message.html", exc.status, title="Not found", text=exc.message)
    records = await dns_records_of(c.app.kastell, found.name)
    checked = request.query_params.get("check") == "1"
    checks = await live_check(records) if checked else [None] * len(records)
    users = await c.actions.list_users(found.name) if found.alias_of is None else []
    return c.render(
        "domain.html",
        error.status if error else 200,
        domain=found,
        rows=list(zip(records, checks, strict=True)),
        checked=checked,
        users=users[:PAGE],
        user_count=len(users),
        created=request.query_params.get("created"),
        **(_failure(error) if error else {}),
    )


async def domain_delete(request: Request, c: Console) -> Response:
    try:
        await c.actions.del_domain(request.path_params["name"])
    except ApiError as exc:
        return await domain(request, c, exc)
    return _redirect("/admin/domains")


# ---------------------------------------------------------------- users


async def users(request: Request, c: Console) -> Response:
    context: dict[str, Any] = {"form": {}}
    if request.method == "POST":
        form = await c.form()
        password = form.get("password") or None
        generated = generate_password() if password is None and form.get("kind", "user") == "user" else None
        try:
            made = await c.actions.create_user(
                form.get("address", ""),
                password or generated,
                name=form.get("name", ""),
                quota=_size_field(form.get("quota", ""), "quota"),
                kind=form.get("kind", "user"),
            )
        except ApiError as exc:
            context |= _failure(exc) | {"form": form, "status": exc.status}
        else:
            return await _user_page(c, made.address, notice=f"Created {made.address}.", generated=generated)
    q = request.query_params.get("q", "").strip().lower()
    domain_filter = request.query_params.get("domain") or None
    try:
        offset = max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        offset = 0
    try:
        accounts = await c.actions.list_users(domain_filter)
    except ApiError as exc:
        return c.render("message.html", exc.status, title="Not found", text=exc.message)
    if q:
        accounts = [a for a in accounts if q in a.address or q in a.name.lower()]
    window = accounts[offset : offset + PAGE]
    listing: dict[str, Any] = {
        "accounts": window,
        "total": len(accounts),
        "offset": offset,
        "next": offset + PAGE if offset + PAGE < len(accounts) else None,
        "previous": max(0, offset - PAGE) if offset else None,
        "q": q,
        "domain_filter": domain_filter or "",
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "user-rows":
        return c.render("users_rows.html", **listing)  # live search: only the table body
    domains_in_scope = [d for d in await c.actions.list_domains() if d.alias_of is None]
    return c.render("users.html", context.pop("status", 200), domains=domains_in_scope, **listing, **context)


async def _user_page(
    c: Console,
    ref: str,
    *,
    status: int = 200,
    notice: str | None = None,
    generated: str | None = None,
    error: ApiError | None = None,
) -> Response:
    try:
        account = await c.actions.get_user(ref)
    except ApiError as exc:
        return c.render("message.html", exc.status, title="Not found", text=exc.message)
    aliases = await c.actions.user_aliases(str(account.id))
    usage = await stats.storage_by_account(c.app.kastell.db, address=account.address, limit=1)
    return c.render(
        "user.html",
        error.status if error else status,
        oof=await c.actions.get_oof(str(account.address)),
        forwarding=await c.actions.get_forwarding(str(account.address)),
        account=account,
        aliases=aliases,
        usage=usage[0] if usage else None,
        permissions=PERMISSIONS,
        granted=set(permission_names(account.permissions)),
        notice=notice,
        generated=generated,
        **(_failure(error) if error else {}),
    )


async def user(request: Request, c: Console) -> Response:
    address = request.path_params["address"]
    if request.method == "GET":
        return await _user_page(c, address)
    form = await request.form()
    try:
        changes: dict[str, Any] = {
            "name": str(form.get("name", "")),
            "status": str(form.get("status", "active")),
            "permissions": permission_bits([str(p) for p in form.getlist("permissions") if p in PERMISSIONS]),
        }
        for key in ("language", "timezone"):
            if form.get(key):
                changes[key] = str(form.get(key)).strip()
        quota = _size_field(str(form.get("quota", "")), "quota")
        changes["quota"] = 0 if quota is None else quota
        await c.actions.update_user(address, changes)
    except ApiError as exc:
        return await _user_page(c, address, error=exc)
    return await _user_page(c, address, notice="Saved.")


async def user_password(request: Request, c: Console) -> Response:
    form = await c.form()
    try:
        _account, generated = await c.actions.reset_password(
            request.path_params["address"], form.get("password") or None
        )
    except ApiError as exc:
        return await _user_page(c, request.path_params["address"], error=exc)
    return await _user_page(c, request.path_params["address"], notice="Password changed.", generated=generated)


async def user_alias(request: Request, c: Console) -> Response:
    """Add (``address``) or remove (``remove``) an alias of the user."""
    form = await c.form()
    address = request.path_params["address"]
    try:
        if form.get("remove"):
            await c.actions.del_alias(form["remove"])
            notice = f"Removed alias {form['remove']}."
        else:
            made = await c.actions.add_alias(form.get("alias", ""), address)
            notice = f"Added alias {made.address}."
    except ApiError as exc:
        return await _user_page(c, address, error=exc)
    return await _user_page(c, address, notice=notice)


async def users_bulk(request: Request, c: Console) -> Response:
    """Suspend, activate or delete the checked users; each one on its own, reporting failures."""
    form = await request.form()
    chosen = [str(a) for a in form.getlist("selected")][:1000]
    action = str(form.get("bulk", ""))
    if action not in ("suspend", "activate", "delete") or not chosen:
        return c.render("message.html", 422, title="Nothing done", text="Choose users and an action.")
    failed: list[str] = []
    for address in chosen:
        try:
            if action == "delete":
                await c.actions.delete_user(address)
            else:
                await c.actions.update_user(address, {"status": "active" if action == "activate" else "suspended"})
        except ApiError as exc:
            failed.append(f"{address}: {exc.message}")
    if failed:
        return c.render("message.html", 422, title="Some changes failed", text="; ".join(failed))
    return _redirect("/admin/users")


async def user_delete(request: Request, c: Console) -> Response:
    try:
        await c.actions.delete_user(request.path_params["address"])
    except ApiError as exc:
        return await _user_page(c, request.path_params["address"], error=exc)
    return _redirect("/admin/users")


CSV_LIMIT = 5000  # rows per import: a bigger file is split by the operator, not queued (no task queue yet)


async def users_import(request: Request, c: Console) -> Response:
    """Create users from CSV (address, name, password, quota; header row optional); report each row.

    Rows are independent: one bad row is reported and the others still land.
    Generated passwords are shown in this answer only.
    """
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return c.render("import.html", 422, results=[], error="Choose a CSV file.", error_field="file")
    raw = (await upload.read(5 * 1024 * 1024 + 1)).decode("utf-8-sig", errors="replace")
    rows = [row for row in csv.reader(io.StringIO(raw)) if row and any(cell.strip() for cell in row)]
    if rows and rows[0][0].strip().lower() in ("address", "email", "e-mail"):
        rows = rows[1:]
    if len(rows) > CSV_LIMIT:
        return c.render("import.html", 422, results=[], error=f"At most {CSV_LIMIT} rows per file.", error_field="file")
    results: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row] + ["", "", "", ""]
        address, name, password, quota_text = cells[:4]
        generated = None if password else generate_password()
        try:
            made = await c.actions.create_user(
                address, password or generated, name=name, quota=_size_field(quota_text, "quota")
            )
        except ApiError as exc:
            results.append({"row": number, "address": address, "ok": False, "message": exc.message})
        else:
            results.append(
                {"row": number, "address": made.address, "ok": True, "message": "created", "password": generated}
            )
    created = sum(1 for r in results if r["ok"])
    notice = f"{created} of {len(results)} users created."
    return c.render("import.html", results=results, notice=notice)


# ---------------------------------------------------------------- mail queue


def _offset(request: Request) -> int:
    try:
        return max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        return 0


async def queue(request: Request, c: Console) -> Response:
    """The outbound queue in scope; POST ``retry=ID``, ``delete=ID`` or ``flush=1``."""
    notice = None
    if request.method == "POST":
        form = await c.form()
        try:
            if form.get("flush"):
                notice = f"{await c.actions.flush_queue()} recipients due now."
            elif form.get("retry", "").isdigit():
                count = await c.actions.retry_queued(int(form["retry"]))
                notice = f"{count} recipients of message {form['retry']} due now."
            elif form.get("delete", "").isdigit():
                await c.actions.delete_queued(int(form["delete"]))
                notice = f"Deleted message {form['delete']}."
            else:
                raise ApiError(422, "invalid", "Choose a message and an action.")
        except ApiError as exc:
            return c.render("message.html", exc.status, title="Nothing done", text=exc.message)
    q = request.query_params.get("q", "").strip().lower()
    offset = _offset(request)
    messages = [
        QueuedMessageOut.of(m)
        for m in await c.actions.list_queue()
        if not q or q in m.sender.lower() or any(q in r.recipient.lower() for r in m.recipients)
    ]
    return c.render(
        "queue.html",
        messages=messages[offset : offset + PAGE],
        total=len(messages),
        q=q,
        next=offset + PAGE if offset + PAGE < len(messages) else None,
        previous=max(0, offset - PAGE) if offset else None,
        notice=notice,
        now=int(time.time()),
    )


# ---------------------------------------------------------------- live sessions

PROTOCOLS = ("imap", "pop3", "smtp", "submission", "submissions", "lmtp")
SESSION_ROWS = 500  # rows on the page; the API pages through more


async def sessions(request: Request, c: Console) -> Response:
    """Open protocol sessions in scope; htmx refreshes the rows every few seconds."""
    q = request.query_params.get("q", "").strip().lower()
    protocol = request.query_params.get("protocol", "")
    found = [
        s
        for s in await c.actions.list_sessions()
        if (not protocol or s.protocol == protocol) and (not q or q in (s.user or "") or q in s.client)
    ]
    context: dict[str, Any] = {"sessions": found[:SESSION_ROWS], "total": len(found), "q": q, "protocol": protocol}
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "session-rows":
        return c.render("sessions_rows.html", **context)
    return c.render("sessions.html", protocols=PROTOCOLS, **context)


# ---------------------------------------------------------------- groups and audit


async def groups(request: Request, c: Console) -> Response:
    context: dict[str, Any] = {"form": {}}
    if request.method == "POST":
        form = await c.form()
        try:
            if form.get("member"):
                await c.actions.add_member(form.get("group", ""), form["member"])
            elif form.get("remove_member"):
                await c.actions.del_member(form.get("group", ""), form["remove_member"])
            elif form.get("delete"):
                await c.actions.delete_group(form["delete"])
            else:
                await c.actions.create_group(form.get("address", ""), form.get("name", ""))
        except ApiError as exc:
            context |= _failure(exc) | {"form": form, "status": exc.status}
        else:
            return _redirect("/admin/groups")
    listed = await c.actions.list_groups()
    return c.render("groups.html", context.pop("status", 200), groups=listed, **context)


async def admins(request: Request, c: Console) -> Response:
    """Administrators: everyone sees those in its scope; a system administrator adds and deletes them."""
    context: dict[str, Any] = {"form": {}}
    if request.method == "POST":
        form = await c.form()
        try:
            if form.get("delete"):
                await c.actions.delete_admin(str(form["delete"]))
            else:
                await c.actions.create_admin(
                    str(form.get("name", "")).strip(),
                    str(form.get("password", "")),
                    role=str(form.get("role", "system")),
                    org=str(form.get("org", "")).strip() or None,
                    read_only=form.get("read_only") == "on",
                    domains=[d for d in re.split(r"[\s,]+", str(form.get("domains", ""))) if d],
                )
        except ApiError as exc:
            context |= _failure(exc) | {"form": form, "status": exc.status}
        else:
            return _redirect("/admin/admins")
    listed = await c.actions.list_admins()
    orgs = await c.actions.list_orgs()
    return c.render(
        "admins.html",
        context.pop("status", 200),
        admins=listed,
        domains=await c.actions.admin_domains(listed),
        orgs=orgs,
        org_names={o.id: o.name for o in orgs},
        can_manage=c.principal.is_system and not c.principal.admin.read_only,
        **context,
    )


async def audit(request: Request, c: Console) -> Response:
    params = request.query_params
    try:
        cursor = int(params["cursor"]) if params.get("cursor") else None
    except ValueError:
        cursor = None
    entries = await c.actions.audit_entries(
        actor=params.get("actor") or None, action=params.get("action") or None, before_id=cursor, limit=PAGE + 1
    )
    more = len(entries) > PAGE
    entries = entries[:PAGE]
    return c.render(
        "audit.html",
        entries=entries,
        next_cursor=entries[-1].id if more else None,
        actor=params.get("actor", ""),
        action=params.get("action", ""),
    )
