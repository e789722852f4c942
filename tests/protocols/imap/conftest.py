"""A real Kastell IMAP server on loopback (tests/protocols/inprocess.py), with imap and imaps.

Clients are the real ``imaplib`` and ``imapclient`` over real sockets.
"""

from __future__ import annotations

import imaplib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kastell.app import Kastell
from kastell.config import Config
from kastell.protocols.imap.server import listen
from tests.protocols.inprocess import ALICE, BOB, PASSWORD, InProcessServer, free_port, start

__all__ = ["ALICE", "BOB", "PASSWORD", "ImapServer", "free_port", "start_server", "stop_server"]


class ImapServer(InProcessServer):
    @property
    def port(self) -> int:
        return self.ports["imap"]

    @property
    def tls_port(self) -> int:
        return self.ports["imaps"]

    @property
    def core(self) -> Kastell:
        return self.app

    def client(self, user: str = ALICE) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=30)
        client.login(user, PASSWORD)
        return client


def start_server(
    data: Path, max_message: str = "20M", db_url: str | None = None
) -> tuple[ImapServer, threading.Thread]:
    def configure(config: Config) -> Config:
        return config.model_copy(update={"store": config.store.model_copy(update={"max_message_size": max_message})})

    server = start(ImapServer, data, {"imap": False, "imaps": True}, listen, configure=configure, db_url=db_url)
    assert server.thread is not None
    return server, server.thread


def stop_server(server: ImapServer, thread: threading.Thread) -> None:
    server.stop()


@pytest.fixture
def imap_server(tmp_path: Path) -> Iterator[ImapServer]:
    imap, thread = start_server(tmp_path / "data")
    try:
        yield imap
    finally:
        stop_server(imap, thread)


@pytest.fixture
def alice(imap_server: ImapServer) -> Iterator[imaplib.IMAP4]:
    client = imap_server.client()
    yield client
    try:
        client.logout()
    except Exception:
        pass
