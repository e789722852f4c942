"""Differential test: LIST, RETR and TOP of the MIME corpus from Kastell and from a private Dovecot.

Both servers get the same bytes (Kastell through the store API, Dovecot through
a raw IMAP APPEND, which keeps the bytes as sent), then the same POP3 session;
the raw responses must be identical. Needs Debian's dovecot-pop3d and
dovecot-imapd (skipped without them; CI installs them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ALICE, PASSWORD, Pop3Server, free_port, start_server, stop_server

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "mime"
PEER = Path("/work/shared/peers/dovecot.sh")
MESSAGES = [p for p in sorted(CORPUS.glob("*.eml")) if p.stat().st_size]  # Dovecot refuses an empty message
# Where Kastell deliberately differs (docs/pop3.md, "Sizes"): Dovecot counts a bare-LF
# message's octets with CRLF line ends, Kastell gives the stored octet count.
KNOWN_LIST: set[str] = set()


class Pop3Line:
    def __init__(self, host: str, port: int, user: str, password: str) -> None:
        self.sock = socket.create_connection((host, port), timeout=20)
        self.file = self.sock.makefile("rb")
        assert self.file.readline().startswith(b"+OK")
        assert self.command(f"USER {user}").startswith(b"+OK")
        assert self.command(f"PASS {password}").startswith(b"+OK"), user

    def command(self, text: str, multiline: bool = False) -> bytes:
        self.sock.sendall(text.encode() + b"\r\n")
        status = self.file.readline()
        if not multiline or not status.startswith(b"+OK"):
            return status
        body = b""
        while (line := self.file.readline()) != b".\r\n":
            assert line, "connection closed"
            body += line
        return body

    def close(self) -> None:
        self.command("QUIT")
        self.sock.close()


def _imap_append(port: int, sources: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        reader = sock.makefile("rb")
        reader.readline()

        def command(tag: bytes, text: bytes) -> None:
            sock.sendall(tag + b" " + text)
            while not (line := reader.readline()).startswith(tag + b" "):
                assert line
            assert line.startswith(tag + b" OK"), line

        command(b"a", b'LOGIN "alice" "secret"\r\n')
        for n, source in enumerate(sources):
            command(b"p%d" % n, b"APPEND INBOX {%d+}\r\n" % len(source) + source + b"\r\n")
        command(b"z", b"LOGOUT\r\n")


def _available() -> bool:
    return shutil.which("dovecot") is not None and Path("/usr/lib/dovecot/pop3").exists() and os.geteuid() == 0


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pop3Server, int]]:
    if not _available():
        if os.environ.get("KASTELL_REQUIRE_PEERS"):
            pytest.fail("dovecot-pop3d is not installed")
        pytest.skip("dovecot-pop3d is not installed")
    peer_dir = Path(tempfile.mkdtemp(prefix="kastell-dovecot-pop3-"))
    peer_dir.chmod(0o755)  # Dovecot's unprivileged processes must reach it
    imap, pop3 = free_port(), free_port()
    subprocess.run(["sh", str(PEER), "start", str(peer_dir), str(imap), str(pop3), str(free_port())], check=True)
    kastell, thread = start_server(tmp_path_factory.mktemp("kastell") / "data")
    try:
        sources = [path.read_bytes() for path in MESSAGES]
        _imap_append(imap, sources)
        kastell.deliver(*sources)
        yield kastell, pop3
    finally:
        stop_server(kastell, thread)
        subprocess.run(["sh", str(PEER), "stop", str(peer_dir)], check=False)
        shutil.rmtree(peer_dir, ignore_errors=True)


def test_same_pop3_answers_as_dovecot(servers: tuple[Pop3Server, int]) -> None:
    kastell, pop3 = servers
    ours = Pop3Line(kastell.host, kastell.port, ALICE, PASSWORD)
    theirs = Pop3Line("127.0.0.1", pop3, "alice", "secret")
    try:
        assert ours.command("STAT").split()[1] == theirs.command("STAT").split()[1] == str(len(MESSAGES)).encode()
        our_list = ours.command("LIST", multiline=True).splitlines()
        their_list = theirs.command("LIST", multiline=True).splitlines()
        different = []
        for n, path in enumerate(MESSAGES, 1):
            if path.name not in KNOWN_LIST and our_list[n - 1] != their_list[n - 1]:
                different.append(f"{path.name} LIST: {our_list[n - 1]!r} != {their_list[n - 1]!r}")
            for command in (f"RETR {n}", f"TOP {n} 0", f"TOP {n} 3"):
                a, b = ours.command(command, multiline=True), theirs.command(command, multiline=True)
                if a != b:
                    at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
                    different.append(
                        f"{path.name} {command}: differ at {at}: {a[at - 20 : at + 40]!r} / {b[at - 20 : at + 40]!r}"
                    )
        assert not different, "\n".join(different)
    finally:
        ours.close()
        theirs.close()
