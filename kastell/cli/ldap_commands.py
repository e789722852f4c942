"""``kastell ldap``: an organisation's LDAP / Active Directory source from the shell.

``set`` creates or changes the source (options not given keep their value),
``show`` prints it (never the password), ``check`` binds and counts, ``search``
looks users up, ``sync`` downsyncs now, ``del`` removes the source (its
accounts stay, unlinked). The same operations as ``/api/v1/organisations/{name}/ldap``
(kastell.directory.ldap); changes are written to the audit log.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kastell.cli.common import read_password
from kastell.cli.directory_commands import _actor
from kastell.cli.main import KastellError, data_option, run_with_app
from kastell.directory.audit import record as audit_record

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.directory.ldap import Source


def _show_time(value: int | None) -> str:
    return "never" if value is None else datetime.fromtimestamp(value).astimezone().isoformat(timespec="seconds")


def source_dict(source: Source) -> dict[str, Any]:
    """The source as JSON-ready values, without the password (only whether one is set)."""
    shown = dataclasses.asdict(source.settings)
    shown.update(
        org=source.org,
        has_password=source.has_password,
        last_sync=source.last_sync,
        last_error=source.last_error,
        created=source.created,
        updated=source.updated,
    )
    return shown


@click.group()
@data_option
def ldap() -> None:
    """An organisation's LDAP or Active Directory source: users and groups, logins."""


@ldap.command("set")
@data_option
@click.argument("org")
@click.option("--url", help="ldap://host[:port] or ldaps://host[:port]")
@click.option("--starttls/--no-starttls", default=None, help="StartTLS on an ldap:// URL")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PEM file of the CA to trust (default: the system's CAs)")  # fmt: skip
@click.option("--bind-dn", help="the service account's DN (empty: anonymous)")
@click.option("--password-stdin", is_flag=True, help="read the service account's password from standard input")
@click.option("--base", "base_dn", help="where the users are (base DN of the search)")
@click.option("--filter", "user_filter", help="which entries are users [(objectClass=inetOrgPerson)]")
@click.option("--mail-attr", help="attribute with the mail address [mail]")
@click.option("--name-attr", help="attribute with the display name [cn]")
@click.option("--id-attr", help="attribute with an immutable id [entryUUID; Active Directory: objectGUID]")
@click.option("--group-base", help="where the groups are [the base DN]")
@click.option("--group-filter", help="which entries are groups [(objectClass=groupOfNames)]")
@click.option("--no-groups", is_flag=True, help="do not sync groups")
@click.option("--member-attr", help="attribute with the member DNs of a group [member]")
@click.option("--interval", "sync_interval", type=int, help="seconds between scheduled syncs; 0 = manual [0]")
@click.option("--enable/--disable", "enabled", default=None, help="scheduled sync on or off")
def ldap_set(org: str, password_stdin: bool, ca_file: Path | None, no_groups: bool, **options: Any) -> None:
    """Create or change the LDAP source of ORG."""
    from kastell.directory.ldap import Ldap, NoLdapSource, SourceSettings

    password = read_password(password_stdin, None, required=False)
    changes = {k: v for k, v in options.items() if v is not None}
    if ca_file is not None:
        changes["ca_cert"] = ca_file.read_text()
    if no_groups:
        if options.get("group_filter"):
            raise click.UsageError("give either --group-filter or --no-groups")
        changes["group_filter"] = None

    async def work(app: Kastell) -> Source:
        service = Ldap.of(app)
        organisation = await app.directory.get_org(org)
        try:
            current = (await service.get(organisation)).settings
        except NoLdapSource:
            if "url" not in changes or "base_dn" not in changes:
                raise KastellError(f"organisation {org} has no LDAP source yet: give --url and --base") from None
            current = SourceSettings(url=changes["url"], base_dn=changes["base_dn"])
        source = await service.put(organisation, dataclasses.replace(current, **changes), password)
        detail = {k: v for k, v in changes.items() if k != "ca_cert"}
        await audit_record(app.db, _actor(), "ldap.set", org, org_id=organisation.id,
                           detail={**detail, "credentials_changed": password is not None})  # fmt: skip
        return source

    source = run_with_app(work)
    click.echo(f"LDAP source of {source.org}: {source.settings.url} under {source.settings.base_dn}")


@ldap.command("show")
@data_option
@click.argument("org")
@click.option("--json", "as_json", is_flag=True, help="print the source as JSON")
def ldap_show(org: str, as_json: bool) -> None:
    """Show the LDAP source of ORG (never its password)."""
    from kastell.directory.ldap import Ldap

    async def work(app: Kastell) -> Source:
        return await Ldap.of(app).get(org)

    source = run_with_app(work)
    shown = source_dict(source)
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    st = source.settings
    lines = [
        ("url", st.url + (" (StartTLS)" if st.starttls else "")),
        ("bind DN", (st.bind_dn or "(anonymous)") + (", password set" if source.has_password else "")),
        ("base DN", st.base_dn),
        ("user filter", st.user_filter),
        ("attributes", f"mail={st.mail_attr} name={st.name_attr} id={st.id_attr}"),
        ("groups", "not synced" if not st.group_filter else
         f"{st.group_filter} under {st.group_base or st.base_dn}, members in {st.member_attr}"),
        ("sync", (f"every {st.sync_interval} s" if st.sync_interval else "manual")
         + ("" if st.enabled else " (disabled)")),
        ("last sync", _show_time(source.last_sync) + (f": {source.last_error}" if source.last_error else "")),
    ]  # fmt: skip
    for label, value in lines:
        click.echo(f"{label + ':':13}{value}")


@ldap.command("check")
@data_option
@click.argument("org")
def ldap_check(org: str) -> None:
    """Bind with the service account and count the users and groups the source finds."""
    from kastell.directory.ldap import CheckResult, Ldap

    async def work(app: Kastell) -> CheckResult:
        return await Ldap.of(app).check(org)

    result = run_with_app(work)
    groups = "" if result.groups is None else f", {result.groups} groups"
    click.echo(f"bind ok: {result.users} users{groups}")


@ldap.command("search")
@data_option
@click.argument("org")
@click.argument("text", default="")
def ldap_search(org: str, text: str) -> None:
    """Users of ORG's directory whose mail or name contains TEXT."""
    from kastell.directory.ldap import Ldap, UserEntry

    async def work(app: Kastell) -> list[UserEntry]:
        return await Ldap.of(app).search(org, text)

    for entry in run_with_app(work):
        click.echo(f"{entry.mail or '-'}\t{entry.name}\t{entry.dn}")


@ldap.command("sync")
@data_option
@click.argument("org")
@click.option("--json", "as_json", is_flag=True, help="print the counts as JSON")
def ldap_sync(org: str, as_json: bool) -> None:
    """Sync the users and groups of ORG from its directory now."""
    from kastell.directory.ldap import Ldap, SyncResult

    async def work(app: Kastell) -> SyncResult:
        organisation = await app.directory.get_org(org)
        result = await Ldap.of(app).sync(organisation)
        await audit_record(app.db, _actor(), "ldap.sync", org, org_id=organisation.id, detail=result.counts())
        return result

    result = run_with_app(work)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), indent=2))
        return
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts().items())
    click.echo(f"synced {org}: {counts}")
    for note in result.notes:
        click.echo(f"  skipped {note}")


@ldap.command("del")
@data_option
@click.argument("org")
def ldap_del(org: str) -> None:
    """Remove the LDAP source of ORG; its accounts stay (they need local passwords to log in)."""
    from kastell.directory.ldap import Ldap

    async def work(app: Kastell) -> None:
        organisation = await app.directory.get_org(org)
        await Ldap.of(app).delete(organisation)
        await audit_record(app.db, _actor(), "ldap.delete", org, org_id=organisation.id)

    run_with_app(work)
    click.echo(f"LDAP source of {org} removed")


def register(cli: click.Group) -> None:
    cli.add_command(ldap)
