"""asyncio glue: the ``listen(app, spec)`` of ManageSieve (see kastell/listeners.py).

Only this module touches sockets. TLS is STARTTLS (RFC 5804 §2.2; there is no
implicit-TLS port); plain text the client pipelined after STARTTLS is dropped.
A session idle for IDLE_TIMEOUT, or when the server stops, gets ``BYE``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from contextlib import suppress
from typing import TYPE_CHECKING

from kastell.listeners import ListenSpec
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


class ManageSieveListener:
    def __init__(self, app: Kastell, spec: ListenSpec) -> None:
        self.app = app
        self.spec = spec
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept,
            sock=self.spec.sock,
            ssl=self.spec.tls if self.spec.implicit_tls else None,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if self.spec.implicit_tls else None,
        )

    async def stop(self, timeout: float) -> None:
        if self._server is not None:
            self._server.close()
        self._stopping.set()
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._run(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("managesieve: session failed")
            with suppress(Exception):
                writer.write(status("BYE", "internal error", "TRYLATER"))
                await asyncio.wait_for(writer.drain(), 5)
        finally:
            self._tasks.discard(task)
            writer.close()
            with suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        config = self.app.settings.config.sieve
        session = Session(
            self.app, peer[0] if peer else None,
            tls_active=self.spec.implicit_tls, tls_available=self.spec.tls is not None,
        )  # fmt: skip
        commands = CommandReader(max_literal=max(config.max_script_size * 2, 65536))
        await self._send(writer, session.greeting())
        bad = 0
        while True:
            command = commands.next(response=session.sasl_pending)
            if command is NEED_DATA:
                data = await self._read(reader)
                if data is None:
                    reason = "server shutting down" if self._stopping.is_set() else "idle for too long"
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

    async def _read(self, reader: asyncio.StreamReader) -> bytes | None:
        if self._stopping.is_set():
            return None
        read = asyncio.ensure_future(reader.read(READ_SIZE))
        stop = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({read, stop}, timeout=IDLE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if read in done:
            return read.result()
        read.cancel()
        with suppress(asyncio.CancelledError):
            await read
        return None

    async def _send(self, writer: asyncio.StreamWriter, reply: Reply) -> None:
        writer.write(reply.data)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


async def listen(app: Kastell, spec: ListenSpec) -> ManageSieveListener:
    """Serve ManageSieve on ``spec.sock`` (STARTTLS when the app has a certificate)."""
    listener = ManageSieveListener(app, spec)
    await listener.start()
    return listener
