"""``init``, ``serve``, ``status`` and ``import``: the commands around the server itself."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from pathlib import Path
from typing import Any

import click

from kastell.cli.main import KastellError, data_dir, data_option, run_with_app, settings


def _print_init(result: Any, directory: Path) -> None:
    if result.created_config:
        click.echo(f"created {directory}")
    if result.demo_password:
        from kastell.bootstrap import DEMO_USER

        # Printed once, here; it is stored only as an argon2 hash.
        click.echo(f"demo account: {DEMO_USER}  password: {result.demo_password}")


@click.command()
@data_option
@click.option("--hostname", default="localhost", show_default=True, help="name of this server")
@click.option("--no-demo", is_flag=True, help="create no demo domain and user")
def init(hostname: str, no_demo: bool) -> None:
    """Create the data directory and its configuration; harmless if it exists."""
    from kastell.bootstrap import initialise

    directory = data_dir()
    result = asyncio.run(initialise(directory, hostname=hostname, demo=not no_demo))
    _print_init(result, directory)
    if not result.created_config:
        click.echo(f"{directory} exists already; nothing changed")


@click.command()
@data_option
@click.option(
    "--listen", "listen", multiple=True, metavar="SERVICE=HOST:PORT", help="override a listener, or SERVICE=off"
)
@click.option("--no-demo", is_flag=True, help="on first run, create no demo domain and user")
def serve(listen: tuple[str, ...], no_demo: bool) -> None:
    """Run every listener in one process until SIGINT or SIGTERM."""
    from kastell import server
    from kastell.bootstrap import initialise
    from kastell.config import CONFIG_NAME

    directory = data_dir()
    if not (directory / CONFIG_NAME).exists():
        result = asyncio.run(initialise(directory, demo=not no_demo))
        _print_init(result, directory)
    overrides: dict[str, str] = {}
    for item in listen:
        service, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"--listen expects SERVICE=HOST:PORT or SERVICE=off, got {item!r}")
        overrides[service.strip()] = value.strip()
    chosen = settings().with_listen(overrides)
    logging.basicConfig(
        level=chosen.config.server.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        server.run(chosen)
    except OSError as exc:
        raise KastellError(f"cannot start: {exc}") from None


def _probe(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@click.command()
@data_option
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(as_json: bool) -> None:
    """Listeners, store sizes and counts."""
    from kastell.config import SERVICES

    chosen = settings()

    async def work(app: Any) -> dict[str, Any]:
        from sqlalchemy import func, select

        from kastell.db import schema as s

        async with app.db.read() as conn:
            counts = {
                "domains": await conn.scalar(select(func.count()).select_from(s.domains)),
                "accounts": await conn.scalar(select(func.count()).select_from(s.accounts)),
                "items": await conn.scalar(select(func.coalesce(func.sum(s.mailboxes.c.item_count), 0))),
                "store_bytes": await conn.scalar(select(func.coalesce(func.sum(s.mailboxes.c.quota_used), 0))),
                "queued_messages": await conn.scalar(select(func.count()).select_from(s.queue_messages)),
                "queued_recipients": await conn.scalar(
                    select(func.count()).select_from(s.queue_recipients).where(s.queue_recipients.c.status == "pending")
                ),
            }
        return counts

    from kastell.server import read_state

    counts = run_with_app(work)
    running = read_state(chosen.data_dir)
    bound: dict[str, str] = running["listeners"] if running else {}
    listeners = {}
    for service in SERVICES:
        endpoint = chosen.config.listen.endpoint(service)
        where = bound.get(service) or (f"{endpoint[0]}:{endpoint[1]}" if endpoint else "off")
        up = False
        if service in bound:
            host, _, port = where.rpartition(":")
            up = _probe(host, int(port))
        listeners[service] = {"endpoint": where, "up": up}
    report = {
        "data": str(chosen.data_dir),
        "server_pid": running["pid"] if running else None,
        "listeners": listeners,
        **counts,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"data directory  {chosen.data_dir}")
    click.echo(f"server          {'running, pid ' + str(running['pid']) if running else 'not running'}")
    for service, state in listeners.items():
        click.echo(f"  {service:<12} {state['endpoint']:<22} {'up' if state['up'] else 'down'}")
    for key, value in counts.items():
        click.echo(f"{key:<15} {value}")


@click.group(name="import")
@data_option
def import_group() -> None:
    """Import existing mail (idempotent: re-running skips what is there)."""


def _progress_printer(total: int | None) -> Any:
    if not sys.stderr.isatty():
        return None
    done = 0

    def show(count: int) -> None:
        nonlocal done
        done += count
        suffix = f"/{total}" if total else ""
        sys.stderr.write(f"\r  {done}{suffix} messages")
        sys.stderr.flush()

    return show


def _print_report(report: Any) -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    click.echo(
        f"imported {report.imported}, skipped {report.duplicates} already present"
        + (f", {report.unreadable} unreadable" if report.unreadable else "")
        + f" in {report.seconds:.1f} s ({report.rate:.0f} messages/s)"
    )
    for folder in report.folders_created:
        click.echo(f"  created folder {folder}")


@import_group.command(name="maildir")
@data_option
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--user", "address", required=True, help="the mailbox to import into")
def import_maildir_command(path: Path, address: str) -> None:
    """Import a Maildir (with its Maildir++ subfolders)."""
    from kastell.imports.runner import count_maildir, import_maildir

    try:
        total = count_maildir(path) if sys.stderr.isatty() else None
    except ValueError as exc:
        raise KastellError(str(exc)) from None

    async def work(app: Any) -> Any:
        try:
            return await import_maildir(app, address, path, progress=_progress_printer(total))
        except ValueError as exc:
            raise KastellError(str(exc)) from None

    _print_report(run_with_app(work))


@import_group.command(name="mbox")
@data_option
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--user", "address", required=True, help="the mailbox to import into")
@click.option("--folder", default=None, help="target folder for a single file (default INBOX)")
def import_mbox_command(path: Path, address: str, folder: str | None) -> None:
    """Import an mbox file, or a directory of mbox files as folders."""
    from kastell.imports.runner import import_mbox

    async def work(app: Any) -> Any:
        return await import_mbox(app, address, path, folder=folder, progress=_progress_printer(None))

    _print_report(run_with_app(work))


def _import_objects(kind: str, path: Path, address: str, folder: str | None) -> None:
    from kastell.imports.runner import import_calendar, import_contacts

    run = import_calendar if kind == "ics" else import_contacts

    async def work(app: Any) -> Any:
        try:
            return await run(app, address, path, folder=folder)
        except ValueError as exc:
            raise KastellError(str(exc)) from None

    _print_report(run_with_app(work))


@import_group.command(name="ics")
@data_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "address", required=True, help="the mailbox to import into")
@click.option("--folder", default=None, help="target calendar (default: Calendar, Tasks, Notes by type)")
def import_ics_command(path: Path, address: str, folder: str | None) -> None:
    """Import an iCalendar file: events, to-dos and journal entries."""
    _import_objects("ics", path, address, folder)


@import_group.command(name="vcf")
@data_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "address", required=True, help="the mailbox to import into")
@click.option("--folder", default=None, help="target address book (default: Contacts)")
def import_vcf_command(path: Path, address: str, folder: str | None) -> None:
    """Import a vCard file (one or many cards)."""
    _import_objects("vcf", path, address, folder)


def register(cli: click.Group) -> None:
    for command in (init, serve, status, import_group):
        cli.add_command(command)
