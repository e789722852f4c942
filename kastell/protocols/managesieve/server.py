"""asyncio glue: the ``listen(app, spec)`` of ManageSieve (see kastell/listeners.py).

Only this module touches sockets. TLS is STARTTLS (RFC 5804 §2.2; there is no
implicit-TLS port); plain text the client pipelined after STARTTLS is dropped.
A session idle for IDLE_TIMEOUT, or when the server stops, gets ``BYE``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from kastell.listeners import ListenSpec, StreamListener
from kastell.protocols.managesieve.parser import NEED_DATA, CommandReader, Malformed
from kastell.protocols.managesieve.session import Reply, Session, status

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.managesieve")

IDLE_TIMEOUT = 1800.0
WRITE_TIMEOUT = 120.0
HANDSHAKE_TIMEOUT = 30.0
READ_SIZE = 65536
MAX_BAD = 20  # malformed commands in a row before the server hangs up


class ManageSieveListener(StreamListener):
    IDLE_TIMEOUT = IDLE_TIMEOUT
    HANDSHAKE_TIMEOUT = HANDSHAKE_TIMEOUT
    READ_SIZE = READ_SIZE
    log = log
    internal_error = status("BYE", "internal error", "TRYLATER")

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = Session(
            self.app, peer[0] if peer else None,
            tls_active=self.spec.implicit_tls, tls_available=self.spec.tls is not None,
        )  # fmt: skip
        try:
            await self._serve(session, reader, writer)
        finally:
            session.live.close()

    async def _serve(self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = self.app.settings.config.sieve
        commands = CommandReader(max_literal=max(config.max_script_size * 2, 65536))
        await self._send(writer, session.greeting())
        bad = 0
        while True:
            command = commands.next(response=session.sasl_pending)
            if command is NEED_DATA:
                data = await self.read(reader)
                if data is None:
                    reason = "server shutting down" if self.stopping else "idle for too long"
                    await self._send(writer, Reply(status("BYE", reason)))
                    return
                if not data:
                    return
                commands.feed(data)
                continue
            if isinstance(command, Malformed):
                bad += 1
                session.sasl_pending = False
                if command.fatal or bad > MAX_BAD:
                    await self._send(writer, Reply(status("BYE", command.reason)))
                    return
                await self._send(writer, Reply(status("NO", command.reason)))
                continue
            bad = 0
            reply = await session.handle(command)  # type: ignore[arg-type]
            if reply.start_tls:
                # Plain text pipelined after STARTTLS is dropped (never read as if it came over
                # TLS), and nothing between the OK and start_tls may yield to the loop: the
                # ClientHello must reach the TLS layer, not the plain-text buffer.
                commands.clear()
                pending = getattr(reader, "_buffer", None)
                if isinstance(pending, bytearray):
                    pending.clear()
                writer.write(reply.data)
                assert self.spec.tls is not None
                await writer.start_tls(self.spec.tls, ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
                await self._send(writer, session.tls_started())
                continue
            await self._send(writer, reply)
            if reply.close:
                return

    async def _send(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        writer.write(reply.data)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


async def listen(app: Kastell, spec: ListenSpec) -> ManageSieveListener:
    """Serve ManageSieve on ``spec.sock`` (STARTTLS when the app has a certificate)."""
    listener = ManageSieveListener(app, spec)
    await listener.start()
    return listener
