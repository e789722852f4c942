"""``domain``, ``user``, ``alias``, ``group`` and ``admin``: the directory from the shell.

Each command opens the data directory (``run_with_app``), calls one
``Directory`` method and prints a short confirmation, an aligned table or,
with ``--json``, a JSON array of objects. Failures are ``DirectoryError``s or
``click.UsageError``s, which ``kastell.cli.main.main`` prints as one line.

Passwords are never printed, except the one generated for ``user add``
without a password option, and that exactly once.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kastell.cli.common import (
    format_size,
    password_options,
    permissions_callback,
    print_json,
    print_table,
    read_password,
    size_callback,
)
from kastell.cli.main import data_option, run_with_app
from kastell.directory.audit import record as audit_record
from kastell.directory.permissions import Permission
from kastell.directory.records import KINDS, Account, Domain, Group

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.directory.service import Directory

T = TypeVar("T")


def _run(work: Callable[[Directory], Awaitable[T]]) -> T:
    """Run ``work(app.directory)`` on the opened data directory."""

    async def _with_app(app: Kastell) -> T:
        return await work(app.directory)

    return run_with_app(_with_app)


def _actor() -> str:
    """Who the audit log names for a CLI change: the Unix user running the command."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _audited(work: Callable[[Directory], Awaitable[T]], action: str, target: str, /, **detail: Any) -> T:
    """``_run(work)``, then an audit entry for the change (the organisation from the result, when it has one)."""

    async def _with_app(app: Kastell) -> T:
        result = await work(app.directory)
        org_id = getattr(result, "org_id", None)
        await audit_record(app.db, _actor(), action, target, org_id=org_id, detail=detail or None)
        return result

    return run_with_app(_with_app)


def _account_json(a: Account) -> dict[str, Any]:
    fields = {k: v for k, v in dataclasses.asdict(a).items() if k not in ("id", "org_id", "domain_id")}
    return fields | {"permissions": a.permissions.format()}


def _domain_json(d: Domain) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(d).items() if k not in ("id", "org_id")}


def _group_json(g: Group) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(g).items() if k not in ("id", "org_id", "domain_id")}


def _merge(cli: click.Group, group: click.Group) -> None:
    """Add ``group`` to ``cli``; if another module made a group of that name, join it."""
    existing = cli.commands.get(group.name or "")
    if isinstance(existing, click.Group):
        for name, command in group.commands.items():
            existing.add_command(command, name)
    else:
        cli.add_command(group)


# ---------------------------------------------------------------------------- domain


@click.group()
@data_option
def domain() -> None:
    """Local domains (and the organisations they belong to)."""


@domain.command("add")
@data_option
@click.argument("name")
@click.option("--org", default=None, help="organisation (created if needed; default: the domain name)")
@click.option("--alias-of", "alias_of", default=None, metavar="DOMAIN", help="make NAME an alias domain of DOMAIN")
def domain_add(name: str, org: str | None, alias_of: str | None) -> None:
    """Make DOMAIN a local domain."""
    added = _audited(
        lambda d: d.add_domain(name, org=org, alias_of=alias_of), "domain.create", name, org=org, alias_of=alias_of
    )
    what = f"alias domain of {added.alias_of}" if added.alias_of else f"organisation {added.org}"
    click.echo(f"added domain {added.name} ({what})")


@domain.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
def domain_list(as_json: bool) -> None:
    """List the local domains."""
    domains = _run(lambda d: d.list_domains())
    if as_json:
        print_json(_domain_json(d) for d in domains)
    else:
        print_table(
            ("DOMAIN", "ORGANISATION", "ALIAS OF", "CATCH-ALL"),
            ((d.name, d.org, d.alias_of or "", d.catchall or "") for d in domains),
        )


@domain.command("del")
@data_option
@click.argument("name")
def domain_del(name: str) -> None:
    """Delete a domain that has no accounts, groups, aliases or alias domains left."""
    _audited(lambda d: d.del_domain(name), "domain.delete", name)
    click.echo(f"deleted domain {name}")


@domain.command("catchall")
@data_option
@click.argument("name")
@click.argument("address", required=False)
@click.option("--off", is_flag=True, help="remove the catch-all")
def domain_catchall(name: str, address: str | None, off: bool) -> None:
    """Deliver mail for unknown addresses of DOMAIN to ADDRESS (or stop: --off)."""
    if off == (address is not None):
        raise click.UsageError("give either ADDRESS or --off")
    changed = _audited(lambda d: d.set_catchall(name, address), "domain.catchall", name, catchall=address)
    click.echo(f"catch-all of {changed.name}: {changed.catchall or 'none'}")


# ---------------------------------------------------------------------------- user


@click.group()
@data_option
def user() -> None:
    """Users, shared mailboxes, rooms and equipment."""


@user.command("add")
@data_option
@click.argument("address")
@password_options
@click.option("--name", default="", help='display name ("Full Name")')
@click.option(
    "--quota",
    default=None,
    callback=size_callback,
    metavar="SIZE",
    help="e.g. 500M, 2G; 0 = unlimited (default: store.default_quota)",
)
@click.option("--kind", type=click.Choice(KINDS), default="user", show_default=True)
@click.option(
    "--permissions",
    default=None,
    callback=permissions_callback,
    metavar="PERMS",
    help='protocols, e.g. "imap,smtp,dav" or "all" (default: all for users)',
)
def user_add(
    address: str,
    password_stdin: bool,
    password: str | None,
    name: str,
    quota: int | None,
    kind: str,
    permissions: Permission | None,
) -> None:
    """Create an account and its mailbox. Without a password option a user gets a generated one."""
    secret = read_password(password_stdin, password, required=False)
    generated = secret is None and kind == "user"
    if generated:
        secret = secrets.token_urlsafe(18)  # 144 random bits
    added = _audited(
        lambda d: d.add_user(address, secret, name=name, quota=quota, kind=kind, permissions=permissions),
        "user.create",
        address,
        kind=kind,
    )
    click.echo(f"added {kind} {added.address}")
    if generated:
        click.echo(f"password: {secret}")


@user.command("list")
@data_option
@click.argument("domain", required=False)
@click.option("--kind", type=click.Choice(KINDS), default=None, help="only accounts of this kind")
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
def user_list(domain: str | None, kind: str | None, as_json: bool) -> None:
    """List accounts, optionally of one DOMAIN."""

    async def collect(d: Directory) -> list[Account]:
        return [account async for account in d.iter_accounts(domain, kind)]

    accounts = _run(collect)
    if as_json:
        print_json(_account_json(a) for a in accounts)
    else:
        print_table(
            ("ADDRESS", "NAME", "KIND", "STATUS", "QUOTA", "PERMISSIONS"),
            ((a.address, a.name, a.kind, a.status, format_size(a.quota), a.permissions.format()) for a in accounts),
        )


@user.command("show")
@data_option
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="print a JSON object")
def user_show(address: str, as_json: bool) -> None:
    """Show one account."""
    account = _run(lambda d: d.get_account(address))
    fields = _account_json(account)
    if as_json:
        click.echo(json.dumps(fields, indent=2, ensure_ascii=False))
    else:
        fields["quota"] = format_size(account.quota)
        print_table(("FIELD", "VALUE"), ((key, str(value)) for key, value in fields.items()))


@user.command("passwd")
@data_option
@click.argument("address")
@password_options
def user_passwd(address: str, password_stdin: bool, password: str | None) -> None:
    """Set the password of ADDRESS."""
    secret = read_password(password_stdin, password, required=True)
    _audited(lambda d: d.set_password(address, secret), "user.password", address)
    click.echo(f"changed the password of {address}")


@user.command("del")
@data_option
@click.argument("address")
def user_del(address: str) -> None:
    """Delete an account with its mailbox and aliases."""
    _audited(lambda d: d.del_account(address), "user.delete", address)
    click.echo(f"deleted {address}")


@user.command("set-quota")
@data_option
@click.argument("address")
@click.argument("size", callback=size_callback)
def user_set_quota(address: str, size: int) -> None:
    """Set the quota of ADDRESS (SIZE like 500M or 2G; 0 means unlimited)."""
    changed = _audited(lambda d: d.set_quota(address, size), "user.update", address, quota=size)
    click.echo(f"quota of {changed.address}: {format_size(changed.quota)}")


@user.command("set-name")
@data_option
@click.argument("address")
@click.argument("name")
def user_set_name(address: str, name: str) -> None:
    """Set the display name of ADDRESS."""
    changed = _audited(lambda d: d.set_name(address, name), "user.update", address, name=name)
    click.echo(f"name of {changed.address}: {changed.name}")


@user.command("set-language")
@data_option
@click.argument("address")
@click.argument("language")
def user_set_language(address: str, language: str) -> None:
    """Set the language of ADDRESS (a tag like en, de, pt-BR): folder names, replies, the web pages."""
    changed = _audited(lambda d: d.set_language(address, language), "user.update", address, language=language)
    click.echo(f"language of {changed.address}: {changed.language}")


@user.command("set-timezone")
@data_option
@click.argument("address")
@click.argument("timezone")
def user_set_timezone(address: str, timezone: str) -> None:
    """Set the time zone of ADDRESS (an IANA name like Europe/Berlin)."""
    changed = _audited(lambda d: d.set_timezone(address, timezone), "user.update", address, timezone=timezone)
    click.echo(f"time zone of {changed.address}: {changed.timezone}")


@user.command("set-permissions")
@data_option
@click.argument("address")
@click.argument("permissions", callback=permissions_callback)
def user_set_permissions(address: str, permissions: Permission) -> None:
    """Set the protocols ADDRESS may log in with ("imap,smtp,dav", "all", "none")."""
    changed = _audited(
        lambda d: d.set_permissions(address, permissions), "user.update", address, permissions=permissions.format()
    )
    click.echo(f"permissions of {changed.address}: {changed.permissions.format()}")


def _status_command(verb: str, status: str, help_text: str) -> click.Command:
    @click.command(verb, help=help_text)
    @data_option
    @click.argument("address")
    def command(address: str) -> None:
        changed = _audited(lambda d: d.set_status(address, status), "user.update", address, status=status)
        click.echo(f"{changed.address} is {changed.status}")

    return command


user.add_command(_status_command("suspend", "suspended", "Refuse logins of ADDRESS; mail is still delivered."))
user.add_command(_status_command("activate", "active", "Allow logins of ADDRESS again."))
user.add_command(_status_command("disable", "disabled", "Disable ADDRESS entirely."))


# ---------------------------------------------------------------------------- alias


@click.group()
@data_option
def alias() -> None:
    """Additional addresses of accounts."""


@alias.command("add")
@data_option
@click.argument("address")
@click.argument("target")
def alias_add(address: str, target: str) -> None:
    """Deliver mail for ADDRESS to the account TARGET."""
    added = _audited(lambda d: d.add_alias(address, target), "alias.create", address, target=target)
    click.echo(f"added alias {added.address} -> {added.target}")


@alias.command("list")
@data_option
@click.argument("domain", required=False)
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
def alias_list(domain: str | None, as_json: bool) -> None:
    """List aliases, optionally of one DOMAIN."""
    aliases = _run(lambda d: d.list_aliases(domain))
    if as_json:
        print_json({"alias": a.address, "target": a.target} for a in aliases)
    else:
        print_table(("ALIAS", "TARGET"), ((a.address, a.target) for a in aliases))


@alias.command("del")
@data_option
@click.argument("address")
def alias_del(address: str) -> None:
    """Remove the alias ADDRESS."""
    _audited(lambda d: d.del_alias(address), "alias.delete", address)
    click.echo(f"deleted alias {address}")


# ---------------------------------------------------------------------------- group


@click.group(name="group")
@data_option
def group_cmd() -> None:
    """Groups (distribution lists)."""


@group_cmd.command("add")
@data_option
@click.argument("address")
@click.option("--name", default="", help="display name")
def group_add(address: str, name: str) -> None:
    """Create the group ADDRESS."""
    added = _audited(lambda d: d.add_group(address, name), "group.create", address, name=name)
    click.echo(f"added group {added.address}")


@group_cmd.command("add-member")
@data_option
@click.argument("group")
@click.argument("address")
def group_add_member(group: str, address: str) -> None:
    """Add ADDRESS (a local user or alias, another group, an outside address) to GROUP."""
    _audited(lambda d: d.add_member(group, address), "group.member.add", group, member=address)
    click.echo(f"added {address} to {group}")


@group_cmd.command("del-member")
@data_option
@click.argument("group")
@click.argument("address")
def group_del_member(group: str, address: str) -> None:
    """Remove ADDRESS from GROUP."""
    _audited(lambda d: d.del_member(group, address), "group.member.delete", group, member=address)
    click.echo(f"removed {address} from {group}")


@group_cmd.command("list")
@data_option
@click.argument("domain", required=False)
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
def group_list(domain: str | None, as_json: bool) -> None:
    """List groups with their members."""
    groups = _run(lambda d: d.list_groups(domain))
    if as_json:
        print_json(_group_json(g) for g in groups)
    else:
        print_table(("GROUP", "NAME", "MEMBERS"), ((g.address, g.name, ", ".join(g.members)) for g in groups))


@group_cmd.command("del")
@data_option
@click.argument("group")
def group_del(group: str) -> None:
    """Delete GROUP."""
    _audited(lambda d: d.del_group(group), "group.delete", group)
    click.echo(f"deleted group {group}")


# ---------------------------------------------------------------------------- admin


@click.group()
@data_option
def admin() -> None:
    """Administrators of the API and web UI."""


@admin.command("add")
@data_option
@click.argument("name")
@password_options
@click.option("--role", type=click.Choice(("system", "org", "domain")), default="system", show_default=True)
@click.option("--org", default=None, help="the organisation of an org admin")
@click.option("--domain", "domains", multiple=True, help="a domain of a domain admin (repeatable)")
@click.option("--read-only", "read_only", is_flag=True, help="may look but not change")
def admin_add(
    name: str,
    password_stdin: bool,
    password: str | None,
    role: str,
    org: str | None,
    domains: tuple[str, ...],
    read_only: bool,
) -> None:
    """Create an administrator."""
    secret = read_password(password_stdin, password, required=True)
    assert secret is not None  # required=True
    added = _audited(
        lambda d: d.add_admin(name, secret, role=role, org=org, read_only=read_only, domains=domains),
        "admin.create",
        name,
        role=role,
        read_only=read_only,
        **({"domains": sorted(domains)} if domains else {}),
    )
    click.echo(f"added {added.role} admin {added.name}")


admin.add_command(admin_add, "create")  # also known as "admin create"


@admin.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="print a JSON array")
def admin_list(as_json: bool) -> None:
    """List administrators."""
    admins = _run(lambda d: d.list_admins())
    if as_json:
        print_json(
            {"name": a.name, "role": a.role, "org_id": a.org_id, "read_only": a.read_only, "created": a.created}
            for a in admins
        )
    else:
        print_table(("ADMIN", "ROLE", "READ-ONLY"), ((a.name, a.role, "yes" if a.read_only else "") for a in admins))


@admin.command("del")
@data_option
@click.argument("name")
def admin_del(name: str) -> None:
    """Delete an administrator."""
    _audited(lambda d: d.del_admin(name), "admin.delete", name)
    click.echo(f"deleted admin {name}")


def register(cli: click.Group) -> None:
    """Add the directory command groups to the ``kastell`` command."""
    for group in (domain, user, alias, group_cmd, admin):
        _merge(cli, group)
