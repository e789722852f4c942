"""asyncio glue: the ``listen(app, spec)`` of POP3 and POP3S (see kastell/listeners.py).

Only this module touches sockets. Each connection reads bytes into a
:class:`~kastell.protocols.pop3.parser.LineReader`, hands complete lines to its
:class:`~kastell.protocols.pop3.session.Session`, and writes the replies back,
draining after every chunk of a multi-line body (a slow reader slows only its
own RETR). TLS: implicit for pop3s (the handshake happens before the greeting),
or STLS (RFC 2595 §4) through ``StreamWriter.start_tls``; whatever the client
pipelined after STLS in plain text is dropped, so nothing sent before the
handshake is read as if it came over TLS.

Timers: a session idle for :data:`IDLE_TIMEOUT` is closed without UPDATE (the
RFC 1939 §3 autologout timer, at least 10 minutes); a client that stops reading
for :data:`WRITE_TIMEOUT` is dropped.

``stop(timeout)`` stops accepting, lets commands in progress finish, tells
idle sessions ``-ERR [SYS/TEMP] server shutting down`` (RFC 3206) and closes
them without UPDATE: nothing marked for deletion is lost or half-applied.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kastell.listeners import ListenSpec, StreamListener
from kastell.protocols.pop3.parser import NEED_DATA, TOO_LONG, LineReader
from kastell.protocols.pop3.session import Reply, Session

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.pop3")

IDLE_TIMEOUT = 600.0
WRITE_TIMEOUT = 120.0
HANDSHAKE_TIMEOUT = 30.0
READ_SIZE = 65536


class Pop3Listener(StreamListener):
    IDLE_TIMEOUT = IDLE_TIMEOUT
    HANDSHAKE_TIMEOUT = HANDSHAKE_TIMEOUT
    READ_SIZE = READ_SIZE
    log = log
    internal_error = b"-ERR [SYS/TEMP] internal error\r\n"

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = Session(self.app, peer[0] if peer else None, tls_active=self.spec.implicit_tls)
        lines = LineReader()
        await self._send(writer, session.greeting())
        while True:
            line = lines.next_line(session.line_limit)
            if line is NEED_DATA:
                data = await self.read(reader)
                if data is None:
                    reason = "server shutting down" if self.stopping else "disconnected for inactivity"
                    await self._send(writer, Reply(f"-ERR [SYS/TEMP] {reason}"))
                    return
                if not data:
                    return  # connection closed without QUIT: no UPDATE (RFC 1939 §6)
                lines.feed(data)
                continue
            reply = session.line_too_long() if line is TOO_LONG else await session.handle_line(line)  # type: ignore[arg-type]
            if reply.start_tls:
                await self._start_tls(reader, writer, lines, reply)
                session.tls_started()
                continue
            await self._send(writer, reply)
            if reply.close:
                return

    async def _start_tls(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lines: LineReader, reply: Reply
    ) -> None:
        """Say +OK to STLS and hand the connection to TLS (RFC 2595 §4).

        Plain text the client pipelined after STLS is dropped, never read as if it had
        come over TLS (the STARTTLS injection attacks) — both what the line reader holds
        and what reached the stream's own buffer (StreamReader has no public way to drop
        it). Nothing between the +OK and ``start_tls`` may yield to the loop: the
        client's ClientHello must arrive at the TLS layer, not in the plain-text buffer,
        and ``start_tls`` stops reading before its first suspension.
        """
        lines.clear()
        pending = getattr(reader, "_buffer", None)
        if isinstance(pending, bytearray):
            pending.clear()
        writer.write(reply.head())
        await writer.start_tls(self.spec.tls, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)

    async def _send(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        writer.write(reply.head())
        if reply.body is not None:
            async for chunk in reply.body:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


async def listen(app: Kastell, spec: ListenSpec) -> Pop3Listener:
    """Serve POP3 (or POP3S when ``spec.implicit_tls``) on ``spec.sock``."""
    listener = Pop3Listener(app, spec)
    await listener.start()
    return listener
