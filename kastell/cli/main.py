"""The ``kastell`` command: option handling, error reporting and the command groups.

Every command takes ``--data DIR`` before or after its name. Errors are one line
on stderr and a non-zero exit status (1: the operation failed, 2: the command
line was wrong); tracebacks are for bugs only and even then are not shown
unless ``KASTELL_DEBUG=1``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from kastell import __version__
from kastell.config import ConfigError, Settings, load, resolve_data_dir

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_DATA_KEY = "kastell.data"


class KastellError(Exception):
    """An operator-facing failure: printed as one line, exit status 1."""


def _remember_data(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.find_root().meta[_DATA_KEY] = value


def data_option(function: F) -> F:
    """``--data DIR`` on a command or group; the innermost one given wins."""
    return click.option(
        "--data",
        metavar="DIR",
        expose_value=False,
        callback=_remember_data,
        help="data directory (default: $KASTELL_DATA or ./kastell-data)",
    )(function)


def settings() -> Settings:
    """The configuration of the data directory chosen on the command line."""
    ctx = click.get_current_context()
    return load(resolve_data_dir(ctx.find_root().meta.get(_DATA_KEY)))


def data_dir() -> Any:
    ctx = click.get_current_context()
    return resolve_data_dir(ctx.find_root().meta.get(_DATA_KEY))


def run_with_app(work: Callable[[Any], Awaitable[T]]) -> T:
    """Open the core services of the chosen data directory, run ``work(app)``, close."""
    from kastell.app import Kastell

    chosen = settings()

    async def _main() -> T:
        app = await Kastell.open(chosen)
        try:
            return await work(app)
        finally:
            await app.close()

    return asyncio.run(_main())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kastell")
@data_option
def cli() -> None:
    """Kastell: mail, calendars, contacts, tasks and notes on your own server."""


def _register() -> None:
    from kastell.cli import commands, directory_commands, ldap_commands, mail_commands, rules_commands, share_commands

    commands.register(cli)
    directory_commands.register(cli)
    mail_commands.register(cli)
    rules_commands.register(cli)
    share_commands.register(cli)
    ldap_commands.register(cli)


def _error_types() -> tuple[type[BaseException], ...]:
    from kastell.directory.errors import DirectoryError
    from kastell.store.errors import StoreError

    return (KastellError, ConfigError, DirectoryError, StoreError)


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        cli.main(args=argv, prog_name="kastell", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("kastell: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"kastell: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the one place that turns failures into a line
        if isinstance(exc, _error_types()):
            click.echo(f"kastell: {exc}", err=True)
            sys.exit(1)
        if os.environ.get("KASTELL_DEBUG"):
            raise
        click.echo(f"kastell: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
