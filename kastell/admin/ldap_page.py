"""The console's LDAP page (``/admin/ldap``): an organisation's directory source, its check and sync.

The same operations as ``/api/v1/organisations/{name}/ldap`` (``kastell.api.routes_ldap``:
scope, audit), rendered as one form per organisation. The bind password is a
write-only field: left empty it keeps the stored one and it is never rendered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kastell.api import routes_ldap
from kastell.api.errors import ApiError
from kastell.directory.ldap import Ldap, Source, SourceSettings

if TYPE_CHECKING:
    from kastell.admin.console import Console

_TEXT = ("url", "bind_dn", "base_dn", "user_filter", "mail_attr", "name_attr", "id_attr", "group_base",
         "group_filter", "member_attr")  # fmt: skip


def _settings(form: dict[str, str]) -> SourceSettings:
    values: dict[str, Any] = {name: form.get(name, "").strip() for name in _TEXT}
    defaults = SourceSettings(url="", base_dn="")
    for name in ("user_filter", "mail_attr", "name_attr", "id_attr", "member_attr"):
        values[name] = values[name] or getattr(defaults, name)
    values["group_base"] = values["group_base"] or None
    values["group_filter"] = values["group_filter"] or None
    values["ca_cert"] = form.get("ca_cert", "").strip() or None
    values["starttls"] = form.get("starttls") == "on"
    values["enabled"] = form.get("enabled") == "on"
    interval = form.get("sync_interval", "").strip() or "0"
    if not interval.isdigit() or len(interval) > 9:
        raise ApiError(422, "invalid", "sync_interval: a number of seconds", "sync_interval")
    values["sync_interval"] = int(interval)
    return SourceSettings(**values)


async def ldap_page(request: Request, c: Console) -> Response:
    if c.principal.is_domain_admin:
        return c.render("message.html", 403, title="Not allowed",
                        text="A domain administrator cannot manage the organisation's LDAP source.")  # fmt: skip
    orgs = await c.actions.list_orgs()
    context: dict[str, Any] = {}
    status = 200
    selected = request.query_params.get("org") or (orgs[0].name if len(orgs) == 1 else "")
    if request.method == "POST":
        form = await c.form()
        selected = form.get("org", "")
        action = form.get("action", "")
        try:
            if action == "save":
                await routes_ldap.save(c.actions, selected, _settings(form), form.get("bind_password") or None)
                return RedirectResponse(f"/admin/ldap?org={selected}&saved=1", status_code=303)
            if action == "delete":
                await routes_ldap.remove(c.actions, selected)
                return RedirectResponse(f"/admin/ldap?org={selected}", status_code=303)
            if action == "check":
                checked = await routes_ldap.check(c.actions, selected)
                if checked.ok:
                    groups = "" if checked.groups is None else f", {checked.groups} groups"
                    context["notice"] = f"Bind ok: {checked.users} users{groups}."
                else:
                    context["error"] = checked.error
            elif action == "sync":
                result = await routes_ldap.sync_now(c.actions, selected)
                done = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts().items() if v)
                context["notice"] = f"Synced: {done or 'nothing to do'}."
                context["notes"] = result.notes
        except ApiError as exc:
            context |= {"error": exc.message, "error_field": exc.field, "form": form}
            status = exc.status
    elif request.query_params.get("saved"):
        context["notice"] = "Saved."
    sources: dict[str, Source | None] = {}
    ldap = Ldap.of(c.app.kastell)
    for org in orgs:
        sources[org.name] = await ldap.sources.find(org)
    return c.render("ldap.html", status, orgs=orgs, sources=sources, selected=selected,
                    defaults=SourceSettings(url="", base_dn=""), **context)  # fmt: skip
