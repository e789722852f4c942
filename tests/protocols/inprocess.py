"""A real Kastell TCP listener on loopback, in a background thread's event loop.

The core is ``Kastell.open`` over a data directory made by
``bootstrap.initialise``; the protocol's listeners are started through the
listener contract (``listen(app, ListenSpec)``), exactly as ``kastell.server``
does, without the HTTP side. Protocol test packages subclass
:class:`InProcessServer` to add their client helpers.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kastell.app import Kastell
from kastell.bootstrap import initialise
from kastell.config import SERVICES, Config, Settings, load
from kastell.listeners import Listener, ListenFunction, ListenSpec
from kastell.store.mailbox import Mailbox

T = TypeVar("T")
S = TypeVar("S", bound="InProcessServer")
PASSWORD = "correct horse battery"
ALICE = "alice@example.org"
BOB = "bob@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class InProcessServer:
    data: Path
    host: str
    ports: dict[str, int]  # service -> port
    loop: asyncio.AbstractEventLoop
    app: Kastell
    listeners: list[Listener] = field(default_factory=list)
    thread: threading.Thread | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (to reach the store directly)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def mailbox(self, address: str = ALICE) -> Mailbox:
        async def open_box() -> Mailbox:
            account = await self.app.directory.get_account(address)
            return await self.app.store.open(account.org_id, account.id)

        return self.run(open_box())

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.data / "tls" / "cert.pem"))
        context.check_hostname = False
        return context

    def stop(self) -> None:
        async def stop() -> None:
            for listener in self.listeners:
                await listener.stop(2)
            await self.app.close()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(10)
        self.loop.close()


def start(
    cls: type[S],
    data: Path,
    services: dict[str, bool],
    listen: ListenFunction,
    *,
    configure: Callable[[Config], Config] | None = None,
    db_url: str | None = None,
) -> S:
    """Start ``services`` ({name: implicit TLS}) with ``listen`` and provision alice and bob."""
    asyncio.run(initialise(data, demo=False))
    ports = {service: free_port() for service in services}
    settings = load(data)
    overrides = {s: "off" for s in SERVICES} | {s: f"127.0.0.1:{p}" for s, p in ports.items()}
    settings = settings.with_listen(overrides)
    config = settings.config.model_copy(
        update={
            "auth": settings.config.auth.model_copy(update={"failure_delay_seconds": 0}),
            **({"database": settings.config.database.model_copy(update={"url": db_url})} if db_url else {}),
        }
    )
    settings = Settings(settings.data_dir, configure(config) if configure else config)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []
    started: list[S] = []

    async def begin() -> None:
        app = await Kastell.open(settings)
        server = cls(data, "127.0.0.1", ports, loop, app)
        started.append(server)
        for service, implicit_tls in services.items():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", ports[service]))
            sock.listen(1024)
            sock.setblocking(False)
            server.listeners.append(await listen(app, ListenSpec(service, sock, app.tls_context, implicit_tls)))
        await app.directory.add_domain("example.org")
        for user in (ALICE, BOB):
            await app.directory.add_user(user, PASSWORD, name=user.split("@")[0].title())

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(begin())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(60)
    if failure:
        raise failure[0]
    server = started[0]
    server.thread = thread
    return server
