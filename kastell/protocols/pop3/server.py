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
import ssl
from contextlib import suppress
from typing import TYPE_CHECKING

from kastell.listeners import ListenSpec
from kastell.protocols.pop3.parser import NEED_DATA, TOO_LONG, LineReader
from kastell.protocols.pop3.session import Reply, Session

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.pop3")

IDLE_TIMEOUT = 600.0
WRITE_TIMEOUT = 120.0
HANDSHAKE_TIMEOUT = 30.0
READ_SIZE = 65536


class Pop3Listener:
    def __init__(self, app: Kastell, spec: ListenSpec) -> None:
        self.app = app
        self.spec = spec
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._stop_waiter: asyncio.Task[bool] | None = None

    async def start(self) -> None:
        self._stop_waiter = asyncio.create_task(self._stopping.wait())
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
        if self._stop_waiter is not None:
            self._stop_waiter.cancel()
            with suppress(asyncio.CancelledError):
                await self._stop_waiter

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._run(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # the peer went away or broke TLS: nothing to answer
        except Exception:
            log.exception("pop3: session failed")
            with suppress(Exception):
                writer.write(b"-ERR [SYS/TEMP] internal error\r\n")
                await asyncio.wait_for(writer.drain(), 5)
        finally:
            self._tasks.discard(task)
            writer.close()
            with suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5)

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = Session(self.app, peer[0] if peer else None, tls_active=self.spec.implicit_tls)
        lines = LineReader()
        await self._send(writer, session.greeting())
        while True:
            line = lines.next_line(session.line_limit)
            if line is NEED_DATA:
                data = await self._read(reader)
                if data is None:
                    reason = "server shutting down" if self._stopping.is_set() else "disconnected for inactivity"
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

    async def _read(self, reader: asyncio.StreamReader) -> bytes | None:
        """The next bytes from the peer; b"" at EOF; None when idle too long or stopping."""
        if self._stopping.is_set():
            return None
        assert self._stop_waiter is not None
        read = asyncio.ensure_future(reader.read(READ_SIZE))
        done, _ = await asyncio.wait(
            {read, self._stop_waiter}, timeout=IDLE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if read in done:
            return read.result()
        read.cancel()
        with suppress(asyncio.CancelledError):
            await read
        return None

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
