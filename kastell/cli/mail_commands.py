"""``kastell queue …`` and ``kastell domain dkim``: the outbound queue and DKIM keys from the shell.

They work whether or not ``kastell serve`` runs on the same data directory:
they change the database, and the running queue runner sees a flushed or
retried message at its next poll (``delivery`` runs every few seconds).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import click

from kastell.cli.main import KastellError, data_option, run_with_app


def _when(stamp: int | None) -> str:
    if not stamp:
        return "-"
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


@click.group("queue")
@data_option
def queue_group() -> None:
    """The outbound mail queue."""


@queue_group.command("list")
@data_option
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def queue_list(as_json: bool) -> None:
    """Messages waiting for delivery."""
    from kastell.mail.transport import transport

    async def work(app: Any) -> list[Any]:
        return await transport(app).queue.list()

    messages = run_with_app(work)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": m.id,
                        "sender": m.sender,
                        "size": m.size,
                        "created": m.created,
                        "recipients": [
                            {"address": r.recipient, "status": r.status, "attempts": r.attempts, "error": r.last_error}
                            for r in m.recipients
                        ],
                    }
                    for m in messages
                ],
                indent=2,
            )
        )
        return
    if not messages:
        click.echo("queue is empty")
        return
    for m in messages:
        pending = sum(1 for r in m.recipients if r.status == "pending")
        click.echo(f"{m.id}\t{_when(m.created)}\t{m.size}\t<{m.sender}>\t{pending}/{len(m.recipients)} pending")


@queue_group.command("show")
@data_option
@click.argument("message_id", type=int)
@click.option("--source", is_flag=True, help="print the message itself")
def queue_show(message_id: int, source: bool) -> None:
    """One queued message and the state of each recipient."""
    from kastell.mail.transport import transport

    async def work(app: Any) -> tuple[Any, bytes | None]:
        queue = transport(app).queue
        found = await queue.show(message_id)
        return found, (await queue.source(message_id) if found and source else None)

    message, raw = run_with_app(work)
    if message is None:
        raise KastellError(f"no queued message {message_id}")
    if raw is not None:
        click.echo(raw.decode("utf-8", "replace"), nl=False)
        return
    click.echo(f"id:       {message.id}\nsender:   <{message.sender}>\nsize:     {message.size}")
    click.echo(f"queued:   {_when(message.created)}\nexpires:  {_when(message.expires)}")
    for r in message.recipients:
        click.echo(
            f"  <{r.recipient}> {r.status} attempts={r.attempts} next={_when(r.next_attempt)} host={r.remote or '-'}"
        )
        if r.last_error:
            click.echo(f"      last: {r.last_error}")


@queue_group.command("flush")
@data_option
def queue_flush() -> None:
    """Retry every pending recipient now."""
    from kastell.mail.transport import transport

    async def work(app: Any) -> int:
        return await transport(app).queue.retry()

    click.echo(f"{run_with_app(work)} recipients due now")


@queue_group.command("retry")
@data_option
@click.argument("message_id", type=int)
def queue_retry(message_id: int) -> None:
    """Retry one message now."""
    from kastell.mail.transport import transport

    async def work(app: Any) -> tuple[bool, int]:
        queue = transport(app).queue
        return await queue.show(message_id) is not None, await queue.retry(message_id)

    exists, count = run_with_app(work)
    if not exists:
        raise KastellError(f"no queued message {message_id}")
    click.echo(f"{count} recipients of {message_id} due now")


@queue_group.command("delete")
@data_option
@click.argument("message_id", type=int)
def queue_delete(message_id: int) -> None:
    """Remove a message from the queue without a bounce."""
    from kastell.mail.transport import transport

    async def work(app: Any) -> bool:
        return await transport(app).queue.delete(message_id)

    if not run_with_app(work):
        raise KastellError(f"no queued message {message_id}")
    click.echo(f"deleted {message_id}")


@click.command("dkim")
@data_option
@click.argument("domain")
def domain_dkim(domain: str) -> None:
    """Make the domain's DKIM keys (Ed25519 and RSA-2048) once; print their DNS TXT records."""
    from kastell.directory.addresses import normalise_domain
    from kastell.mail.transport import transport

    name = normalise_domain(domain)

    async def work(app: Any) -> list[Any]:
        try:
            return await transport(app).dkim.ensure(name)
        except LookupError as exc:
            raise KastellError(str(exc)) from None

    for key in run_with_app(work):
        text = key.dns_text()
        # TXT strings are at most 255 octets (RFC 1035 3.3.14): split the RSA key for zone files.
        chunks = " ".join(f'"{text[i : i + 250]}"' for i in range(0, len(text), 250))
        click.echo(f"{key.dns_name()}. IN TXT ( {chunks} )")


def register(cli: click.Group) -> None:
    cli.add_command(queue_group)
    domain = cli.commands.get("domain")
    if isinstance(domain, click.Group):
        domain.add_command(domain_dkim)
