"""``user oof``, ``user forward`` and ``sieve``: mail rules from the shell.

Out-of-office and forwarding are the same objects the self-service page and the
API edit (kastell.rules); ``sieve`` manages users' scripts (what ManageSieve
clients upload) and domains' global scripts.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from kastell.cli.directory_commands import _actor, _merge
from kastell.cli.main import KastellError, data_option, run_with_app
from kastell.directory.audit import record as audit_record

if TYPE_CHECKING:
    from kastell.app import Kastell


def _when(text: str | None) -> int | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.UsageError(f"not a date and time: {text!r} (like 2026-12-24 or 2026-12-24T17:00+01:00)") from None
    return int(moment.astimezone().timestamp())


def _show_time(value: int | None) -> str:
    return "-" if value is None else datetime.fromtimestamp(value).astimezone().isoformat(timespec="minutes")


@click.group()
@data_option
def user() -> None:
    """Accounts: users, shared mailboxes, rooms and equipment."""


@user.command("oof")
@data_option
@click.argument("address")
@click.option("--on/--off", "enabled", default=None, help="switch the automatic reply on or off")
@click.option("--message", help="the reply to everyone (sets the internal and the external message)")
@click.option("--internal-message", help="the reply to senders of this organisation")
@click.option("--external-message", help="the reply to everyone else")
@click.option("--subject", help='the subject of the reply (default: "Auto: " and the original subject)')
@click.option("--start", help="when replies start (ISO date/time); default now")
@click.option("--end", help="when replies stop (ISO date/time); default never")
@click.option("--internal-only/--everyone", default=None, help="answer only senders of this organisation")
@click.option("--json", "as_json", is_flag=True, help="print the setting as JSON")
def user_oof(address: str, enabled: bool | None, message: str | None, internal_message: str | None,
             external_message: str | None, subject: str | None, start: str | None, end: str | None,
             internal_only: bool | None, as_json: bool) -> None:  # fmt: skip
    """Show or set the out-of-office reply of ADDRESS."""
    from kastell.rules import oof

    changes: dict[str, Any] = {}
    if enabled is not None:
        changes["enabled"] = enabled
    if message is not None:
        changes["internal_message"] = changes["external_message"] = message
    if internal_message is not None:
        changes["internal_message"] = internal_message
    if external_message is not None:
        changes["external_message"] = external_message
    if subject is not None:
        changes["subject"] = subject
    if start is not None:
        changes["start"] = _when(start)
    if end is not None:
        changes["end"] = _when(end)
    if internal_only is not None:
        changes["internal_only"] = internal_only

    async def work(app: Kastell) -> oof.OutOfOffice:
        account = await app.directory.get_account(address)
        current = await oof.get(app.db, account.org_id, account.id)
        if not changes:
            return current
        try:
            stored = await oof.put(app.db, account.org_id, account.id, dataclasses.replace(current, **changes))
        except oof.OofError as exc:
            raise KastellError(str(exc)) from None
        await audit_record(app.db, _actor(), "user.oof", account.address, org_id=account.org_id,
                           detail={"enabled": stored.enabled})  # fmt: skip
        return stored

    result = run_with_app(work)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(result), indent=2))
        return
    state = "on" if result.enabled else "off"
    click.echo(f"out-of-office of {address}: {state}, from {_show_time(result.start)} to {_show_time(result.end)}"
               f"{', internal senders only' if result.internal_only else ''}")  # fmt: skip
    if result.subject:
        click.echo(f"subject: {result.subject}")
    if result.internal_message == result.external_message:
        click.echo(f"message: {result.internal_message}")
    else:
        click.echo(f"internal message: {result.internal_message}")
        click.echo(f"external message: {result.external_message}")


@user.command("forward")
@data_option
@click.argument("address")
@click.option("--to", "targets", multiple=True, help="forward to this address (repeat for several)")
@click.option("--keep/--no-keep", default=True, help="keep a copy in the mailbox (default) or not")
@click.option("--off", is_flag=True, help="stop forwarding")
def user_forward(address: str, targets: tuple[str, ...], keep: bool, off: bool) -> None:
    """Show or set the forwarding of ADDRESS."""
    from kastell.directory.errors import DirectoryError
    from kastell.rules import forwarding

    if off and targets:
        raise click.UsageError("--off and --to exclude each other")

    async def work(app: Kastell) -> forwarding.Forwarding:
        account = await app.directory.get_account(address)
        if not off and not targets:
            return await forwarding.get(app.db, account.org_id, account.id)
        for target in targets:
            if target.strip().lower() == account.address:
                raise KastellError("an account cannot forward to itself")
        try:
            result = await forwarding.put(app.db, account.org_id, account.id, list(targets), keep)
        except DirectoryError as exc:
            raise KastellError(str(exc)) from None
        await audit_record(app.db, _actor(), "user.forward", account.address, org_id=account.org_id,
                           detail={"targets": list(result.targets), "keep": result.keep})  # fmt: skip
        return result

    result = run_with_app(work)
    if not result.targets:
        click.echo(f"{address} does not forward")
    else:
        copy = "keeps a copy" if result.keep else "keeps no copy"
        click.echo(f"{address} forwards to {', '.join(result.targets)} and {copy}")


@click.group()
@data_option
def sieve() -> None:
    """Sieve scripts of users (as ManageSieve clients see them) and of domains."""


def _scripts(app: Kastell, account: Any) -> Any:
    from kastell.rules import scripts

    return scripts.for_account(app, account.org_id, account.id)


@sieve.command("list")
@data_option
@click.argument("address")
def sieve_list(address: str) -> None:
    """The scripts of ADDRESS; the active one is marked."""

    async def work(app: Kastell) -> Any:
        return await _scripts(app, await app.directory.get_account(address)).list()

    for info in run_with_app(work):
        click.echo(f"{info.name}{'  (active)' if info.active else ''}  {info.size} bytes")


@sieve.command("put")
@data_option
@click.argument("address")
@click.argument("name")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--activate", is_flag=True, help="make it the active script")
def sieve_put(address: str, name: str, file: Any, activate: bool) -> None:
    """Store FILE (- for standard input) as script NAME of ADDRESS; it is checked first."""
    from kastell.rules.scripts import ScriptError

    content = file.read()

    async def work(app: Kastell) -> None:
        account = await app.directory.get_account(address)
        store = _scripts(app, account)
        try:
            await store.put(name, content)
            if activate:
                await store.activate(name)
        except ScriptError as exc:
            raise KastellError(str(exc)) from None
        await audit_record(app.db, _actor(), "sieve.put", account.address, org_id=account.org_id,
                           detail={"name": name, "active": activate})  # fmt: skip

    run_with_app(work)
    click.echo(f"stored {name} for {address}{' (active)' if activate else ''}")


@sieve.command("activate")
@data_option
@click.argument("address")
@click.argument("name", required=False)
def sieve_activate(address: str, name: str | None) -> None:
    """Make NAME the active script of ADDRESS; without NAME, none is active."""
    from kastell.rules.scripts import ScriptError

    async def work(app: Kastell) -> None:
        account = await app.directory.get_account(address)
        try:
            await _scripts(app, account).activate(name)
        except ScriptError as exc:
            raise KastellError(str(exc)) from None

    run_with_app(work)
    click.echo(f"active script of {address}: {name or '(none)'}")


@sieve.command("show")
@data_option
@click.argument("address")
@click.argument("name")
def sieve_show(address: str, name: str) -> None:
    """Print script NAME of ADDRESS."""

    async def work(app: Kastell) -> str | None:
        return await _scripts(app, await app.directory.get_account(address)).get(name)  # type: ignore[no-any-return]

    content = run_with_app(work)
    if content is None:
        raise KastellError(f"{address} has no script {name!r}")
    click.echo(content, nl=False)


@sieve.command("del")
@data_option
@click.argument("address")
@click.argument("name")
def sieve_del(address: str, name: str) -> None:
    """Delete script NAME of ADDRESS (not the active one)."""
    from kastell.rules.scripts import ScriptError

    async def work(app: Kastell) -> None:
        account = await app.directory.get_account(address)
        try:
            await _scripts(app, account).delete(name)
        except ScriptError as exc:
            raise KastellError(str(exc)) from None

    run_with_app(work)
    click.echo(f"deleted {name} of {address}")


@sieve.command("domain-put")
@data_option
@click.argument("domain")
@click.argument("name")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--phase", type=click.Choice(["before", "after", "include"]), default="include",
              help="run before or after every user's script, or only when a script includes it")  # fmt: skip
def sieve_domain_put(domain: str, name: str, file: Any, phase: str) -> None:
    """Store FILE as global script NAME of DOMAIN."""
    from kastell.rules.scripts import DomainScripts, ScriptError

    content = file.read()

    async def work(app: Kastell) -> None:
        found = await app.directory.get_domain(domain)
        try:
            await DomainScripts(app.db, found.org_id, found.id).put(name, content, "" if phase == "include" else phase)
        except ScriptError as exc:
            raise KastellError(str(exc)) from None
        await audit_record(app.db, _actor(), "sieve.domain_put", found.name, org_id=found.org_id,
                           detail={"name": name, "phase": phase})  # fmt: skip

    run_with_app(work)
    click.echo(f"stored global script {name} of {domain} ({phase})")


@sieve.command("domain-del")
@data_option
@click.argument("domain")
@click.argument("name")
def sieve_domain_del(domain: str, name: str) -> None:
    """Delete global script NAME of DOMAIN."""
    from kastell.rules.scripts import DomainScripts

    async def work(app: Kastell) -> bool:
        found = await app.directory.get_domain(domain)
        return await DomainScripts(app.db, found.org_id, found.id).delete(name)

    if not run_with_app(work):
        raise KastellError(f"{domain} has no global script {name!r}")
    click.echo(f"deleted global script {name} of {domain}")


@sieve.command("domain-list")
@data_option
@click.argument("domain")
def sieve_domain_list(domain: str) -> None:
    """The global scripts of DOMAIN."""
    from kastell.rules.scripts import DomainScripts

    async def work(app: Kastell) -> list[tuple[str, str, str]]:
        found = await app.directory.get_domain(domain)
        return await DomainScripts(app.db, found.org_id, found.id).list()

    for name, phase, content in run_with_app(work):
        click.echo(f"{name}  ({phase or 'include'})  {len(content.encode())} bytes")


def register(cli: click.Group) -> None:
    _merge(cli, user)
    cli.add_command(sieve)
