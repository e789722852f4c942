"""A running Kastell (in-process ``Server`` on free loopback ports) and a sink "internet".

No mocks of Kastell: the real server, real sockets, real clients. The outside
world is faked only where it must be: ``Sink`` is an aiosmtpd server standing
for remote MX hosts / a smarthost, and a ``StaticResolver`` answers DNS.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from kastell.config import Settings, validate
from kastell.mail.dns import StaticResolver
from kastell.mail.transport import transport
from kastell.server import Server
from kastell.tls import make_self_signed

PASSWORD = "correct horse battery"
MAIL_SERVICES = ("smtp", "submission", "submissions", "lmtp")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SinkHandler:
    """Records what it receives; answers ``reply`` (a str, or a callable of the recipient)."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_reply: dict[str, str] = field(default_factory=dict)
    data_reply: str = "250 2.0.0 OK sunk"
    tls_seen: list[bool] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_reply.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply.startswith("250"):
            self.messages.append((envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b""))
            self.tls_seen.append(session.ssl is not None)
        return self.data_reply


class Sink:
    def __init__(self, tls_context: Any = None) -> None:
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, tls_context=tls_context)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def write_config(data: Path, extra: str = "") -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / "kastell.toml").write_text(
        '[server]\nhostname = "mx.kastell.test"\nshutdown_timeout = 3\n'
        "[auth]\nfailure_delay_seconds = 0\n"
        "[delivery]\nretry_first = 1\nretry_max = 2\n" + extra
    )
    make_self_signed(data / "tls" / "cert.pem", data / "tls" / "key.pem", "mx.kastell.test")


def settings_for(data: Path, ports: dict[str, int], extra: str = "") -> Settings:
    import tomllib

    raw = tomllib.loads((data / "kastell.toml").read_text())
    if extra:
        for key, value in tomllib.loads(extra).items():
            raw.setdefault(key, {}).update(value)
    raw["listen"] = {s: (f"127.0.0.1:{ports[s]}" if s in ports else "off") for s in validate({}).listen.model_dump()}
    return Settings(data, validate(raw))


@dataclass
class MailEnv:
    server: Server
    ports: dict[str, int]
    resolver: StaticResolver
    data: Path

    @property
    def app(self) -> Any:
        assert self.server.app is not None
        return self.server.app

    async def inbox(self, address: str, role: str = "inbox") -> list[bytes]:
        account = await self.app.directory.get_account(address)
        mailbox = await self.app.store.open(account.org_id, account.id)
        folder = await mailbox.folder_by_role(role)
        items = [item async for item in mailbox.iter_items(folder.id)]
        return [await mailbox.source(item) for item in items]

    async def inbox_path(self, address: str, path: str) -> list[tuple[str, int]]:
        """(subject, flag bits) of the items in the folder at ``path``."""
        account = await self.app.directory.get_account(address)
        mailbox = await self.app.store.open(account.org_id, account.id)
        folder = await mailbox.folder_by_path(path)
        return [(item.subject, item.flags) async for item in mailbox.iter_items(folder.id)]

    async def audit(self, address: str) -> list[str]:
        account = await self.app.directory.get_account(address)
        mailbox = await self.app.store.open(account.org_id, account.id)
        return list(await mailbox.audit())


async def start_env(tmp_path: Path, extra: str = "", services: tuple[str, ...] = MAIL_SERVICES) -> MailEnv:
    data = tmp_path / "data"
    write_config(data)
    ports = {s: free_port() for s in services}
    server = Server(settings_for(data, ports, extra))
    await server.start()
    resolver = StaticResolver()
    assert server.app is not None
    transport(server.app).resolver = resolver
    app = server.app
    await app.directory.add_domain("example.test")
    await app.directory.add_user("alice@example.test", PASSWORD, name="Alice")
    await app.directory.add_user("bob@example.test", PASSWORD, name="Bob")
    await app.directory.add_alias("ali@example.test", "alice@example.test")
    await app.directory.add_group("team@example.test")
    await app.directory.add_member("team@example.test", "alice@example.test")
    await app.directory.add_member("team@example.test", "bob@example.test")
    return MailEnv(server, ports, resolver, data)


@asynccontextmanager
async def env_with_sink(
    tmp_path: Path, services: tuple[str, ...] = MAIL_SERVICES
) -> AsyncIterator[tuple[MailEnv, Sink]]:
    """A running server whose mail to remote.example goes to a sink standing for its MX."""
    sink = Sink()
    sink.start()
    env = await start_env(tmp_path, f"[delivery]\nmx_port = {sink.port}\n", services=services)
    env.resolver.add("remote.example", "MX", (10, "mx.remote.example"))
    env.resolver.add("mx.remote.example", "A", "127.0.0.1")
    try:
        yield env, sink
    finally:
        await env.server.stop()
        sink.stop()


@pytest.fixture
async def mailenv(tmp_path: Path) -> AsyncIterator[MailEnv]:
    env = await start_env(tmp_path)
    try:
        yield env
    finally:
        await env.server.stop()


async def in_thread(function: Any, *args: Any) -> Any:
    """Blocking clients (smtplib, swaks) run in a thread while the server runs on this loop."""
    return await asyncio.to_thread(function, *args)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
