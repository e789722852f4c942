"""IDLE (RFC 2177, RFC 9051 §6.3.13): updates pushed from the change bus until DONE."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kastell.protocols.imap.errors import Bad
from kastell.protocols.imap.parser import Command

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session


async def handle_idle(session: Session, command: Command) -> str:
    session.send(b"+ idling\r\n")
    await session.updates()
    await session.io.drain()
    while True:
        # read_line returns None when the change bus woke us, the client's line otherwise.
        line = await session.io.read_line(session.wake)
        if line is None:
            await session.updates()
            await session.io.drain()
            continue
        if line.strip().upper() == b"DONE":
            return "IDLE terminated"
        raise Bad("Expected DONE")
