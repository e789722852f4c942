"""Helpers shared by the command modules: parsing option values, printing tables and JSON."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from kastell.config import parse_size
from kastell.directory.errors import InvalidValue
from kastell.directory.permissions import Permission


def size_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    """``--quota``/``SIZE`` → bytes, through ``kastell.config.parse_size``."""
    if value is None:
        return None
    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def permissions_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Permission | None:
    """``"imap,smtp"`` → ``Permission``, through ``Permission.parse``."""
    if value is None:
        return None
    try:
        return Permission.parse(value)
    except InvalidValue as exc:
        raise click.BadParameter(str(exc)) from None


def password_options(function: Callable[..., Any]) -> Callable[..., Any]:
    function = click.option(
        "--password",
        "password",
        metavar="PW",
        help="the password (visible to other local users; prefer --password-stdin)",
    )(function)
    return click.option(
        "--password-stdin", "password_stdin", is_flag=True, help="read the password from one line of standard input"
    )(function)


def read_password(password_stdin: bool, password: str | None, *, required: bool) -> str | None:
    """The password from ``--password-stdin`` (one line, newline stripped) or ``--password``."""
    if password_stdin and password is not None:
        raise click.UsageError("give either --password-stdin or --password, not both")
    if password_stdin:
        line = click.get_text_stream("stdin").readline()
        line = line[:-1] if line.endswith("\n") else line
        line = line[:-1] if line.endswith("\r") else line  # a password typed on Windows
        if not line:
            raise click.UsageError("no password on standard input")
        return line
    if password is None and required:
        raise click.UsageError("give the password with --password-stdin or --password")
    return password


def format_size(size: int) -> str:
    """``2147483648`` → ``"2G"``; ``0`` → ``"unlimited"`` (as a quota)."""
    if size == 0:
        return "unlimited"
    for unit, factor in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f}{unit}" if size % factor == 0 else f"{value:.1f}{unit}"
    return f"{size}B"


def print_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print rows under headers, each column as wide as its widest cell."""
    rows = [list(headers)] + [list(row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def print_json(objects: Iterable[dict[str, Any]]) -> None:
    click.echo(json.dumps(list(objects), indent=2, ensure_ascii=False))
