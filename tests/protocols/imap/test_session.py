"""Connection-level behaviour with real clients: greeting, auth, TLS, malformed input, limits."""

from __future__ import annotations

import base64
import imaplib
import socket
import ssl
from pathlib import Path

import imapclient
import pytest

from kastell.listeners import plaintext_auth_allowed
from tests.protocols.imap.conftest import ALICE, PASSWORD, ImapServer, start_server, stop_server


class Raw:
    """A line-level client for what imaplib will not send."""

    def __init__(self, server: ImapServer, *, tls: bool = False) -> None:
        sock = socket.create_connection((server.host, server.tls_port if tls else server.port), timeout=10)
        if tls:
            sock = server.tls_context().wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.file = sock.makefile("rb")
        self.greeting = self.line()

    def line(self) -> bytes:
        return self.file.readline()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def until(self, tag: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            assert line, "connection closed"
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def login(self) -> None:
        self.send(b'l LOGIN %s "%s"\r\n' % (ALICE.encode(), PASSWORD.encode()))
        assert self.until(b"l")[-1].startswith(b"l OK")

    def close(self) -> None:
        self.sock.close()


def test_greeting_and_capabilities(imap_server: ImapServer) -> None:
    client = imaplib.IMAP4(imap_server.host, imap_server.port)
    caps = client.capabilities
    for cap in ("IMAP4REV2", "IMAP4REV1", "STARTTLS", "AUTH=PLAIN", "IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC"):
        assert cap in caps
    assert "LOGINDISABLED" not in caps  # loopback may use plain text (CONTRACT.md)
    client.logout()


def test_login_and_bad_password_uniform(imap_server: ImapServer) -> None:
    client = imaplib.IMAP4(imap_server.host, imap_server.port)
    with pytest.raises(imaplib.IMAP4.error) as wrong:
        client.login(ALICE, "wrong")
    with pytest.raises(imaplib.IMAP4.error) as unknown:
        client.login("nobody@example.org", "wrong")
    assert str(wrong.value) == str(unknown.value)
    assert "AUTHENTICATIONFAILED" in str(wrong.value)
    assert client.login(ALICE, PASSWORD)[0] == "OK"
    client.logout()


def test_authenticate_plain_with_and_without_initial_response(imap_server: ImapServer) -> None:
    client = imaplib.IMAP4(imap_server.host, imap_server.port)
    assert client.authenticate("PLAIN", lambda _: f"\0{ALICE}\0{PASSWORD}".encode())[0] == "OK"
    client.logout()
    raw = Raw(imap_server)
    token = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode())
    raw.send(b"a AUTHENTICATE PLAIN " + token + b"\r\n")
    assert raw.until(b"a")[-1].startswith(b"a OK")
    raw.close()
    raw = Raw(imap_server)
    raw.send(b"a AUTHENTICATE PLAIN\r\n")
    assert raw.line().startswith(b"+")
    raw.send(base64.b64encode(f"\0{ALICE}\0nope".encode()) + b"\r\n")
    assert raw.until(b"a")[-1].startswith(b"a NO [AUTHENTICATIONFAILED]")
    raw.close()


def test_commands_need_the_right_state(imap_server: ImapServer) -> None:
    raw = Raw(imap_server)
    raw.send(b"a SELECT INBOX\r\nb FETCH 1 FLAGS\r\n")
    assert raw.until(b"a")[-1].startswith(b"a BAD")
    assert raw.until(b"b")[-1].startswith(b"b BAD")
    raw.login()
    raw.send(b"c FETCH 1 FLAGS\r\n")
    assert raw.until(b"c")[-1].startswith(b"c BAD")
    raw.close()


def test_malformed_commands_get_bad_and_the_session_continues(imap_server: ImapServer) -> None:
    raw = Raw(imap_server)
    raw.login()
    for bad in (
        b'x1 LOGIN "unterminated',
        b"x2 FOO",
        b"x3 SELECT",
        b"x4 FETCH",
        b"x5 ((((",
        b"\x00\xff junk",
        b"x6 UID",
    ):
        raw.send(bad + b"\r\n")
        line = raw.line()
        assert b" BAD " in line, (bad, line)
    raw.send(b"x7 SELECT INBOX\r\nx8 FETCH 99 FLAGS\r\nx9 FETCH 1:x FLAGS\r\nx10 NOOP\r\n")
    assert raw.until(b"x7")[-1].startswith(b"x7 OK")
    assert raw.until(b"x8")[-1].startswith(b"x8 BAD")
    assert raw.until(b"x9")[-1].startswith(b"x9 BAD")
    assert raw.until(b"x10")[-1].startswith(b"x10 OK")
    raw.close()


def test_literal_limits(imap_server: ImapServer) -> None:
    raw = Raw(imap_server)
    # Before login a client may not make the server buffer more than a few KiB.
    raw.send(b"a LOGIN {100000}\r\n")
    assert raw.line().startswith(b"a NO [TOOBIG]")
    raw.login()
    raw.send(b"b APPEND INBOX {999999999}\r\n")
    assert raw.line().startswith(b"b NO [TOOBIG]")
    raw.send(b"c NOOP\r\n")
    assert raw.until(b"c")[-1].startswith(b"c OK")
    raw.close()


def test_ten_megabyte_literal(imap_server: ImapServer) -> None:
    body = b"".join(b"line %07d of a big message that goes on and on\r\n" % i for i in range(200_000))
    message = b"Subject: big\r\n\r\n" + body
    assert len(message) > 10_000_000
    client = imap_server.client()
    typ, data = client.append("INBOX", None, None, message)
    assert typ == "OK"
    client.select("INBOX")
    typ, fetched = client.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
    assert fetched[0][1] == message
    client.logout()


def test_message_over_appendlimit_refused(tmp_path: Path) -> None:
    server, thread = start_server(tmp_path / "data", max_message="1M")
    try:
        client = server.client()
        assert (
            "APPENDLIMIT=1048576" in client.capabilities or "APPENDLIMIT=1048576" in client.capability()[1][0].decode()
        )
        typ, data = client.append("INBOX", None, None, b"Subject: x\r\n\r\n" + b"x" * 2_000_000)
        assert typ == "NO" and b"TOOBIG" in data[0]
        assert client.noop()[0] == "OK"
        client.logout()
    finally:
        stop_server(server, thread)


def test_starttls(imap_server: ImapServer) -> None:
    client = imaplib.IMAP4(imap_server.host, imap_server.port)
    client.starttls(imap_server.tls_context())
    assert "STARTTLS" not in client.capabilities
    assert client.login(ALICE, PASSWORD)[0] == "OK"
    client.logout()


def test_starttls_discards_pipelined_plaintext(imap_server: ImapServer) -> None:
    raw = Raw(imap_server)
    raw.send(b"a STARTTLS\r\nb LOGIN injected x\r\n")
    assert raw.line().startswith(b"a OK")
    tls = imap_server.tls_context().wrap_socket(raw.sock, server_hostname="localhost")
    tls.sendall(b"c NOOP\r\n")
    reply = tls.recv(1000)
    assert reply.startswith(b"c OK"), reply
    tls.close()


def test_imaps_with_the_self_signed_certificate(imap_server: ImapServer) -> None:
    client = imaplib.IMAP4_SSL(imap_server.host, imap_server.tls_port, ssl_context=imap_server.tls_context())
    assert "STARTTLS" not in client.capabilities
    assert client.login(ALICE, PASSWORD)[0] == "OK"
    client.logout()
    ic = imapclient.IMAPClient(imap_server.host, imap_server.tls_port, ssl=True, ssl_context=imap_server.tls_context())
    ic.login(ALICE, PASSWORD)
    assert b"INBOX" in [name.encode() if isinstance(name, str) else name for _, _, name in ic.list_folders()]
    ic.logout()


def test_plaintext_policy(imap_server: ImapServer) -> None:
    app = imap_server.app
    assert plaintext_auth_allowed(app, "127.0.0.1", False)
    assert not plaintext_auth_allowed(app, "203.0.113.9", False)
    assert plaintext_auth_allowed(app, "203.0.113.9", True)


def test_id_namespace_enable_capability_after_login(imap_server: ImapServer) -> None:
    client = imap_server.client()
    typ, data = client.xatom("ID", '("name" "test")')
    assert typ == "OK"
    assert client.namespace()[1][0] == b'(("" "/")) (("Other Users/" "/")) NIL'
    typ, data = client.enable("UTF8=ACCEPT")
    assert typ == "OK"
    client.logout()


def test_logout_says_bye(imap_server: ImapServer) -> None:
    raw = Raw(imap_server)
    raw.send(b"z LOGOUT\r\n")
    assert raw.line().startswith(b"* BYE")
    assert raw.line().startswith(b"z OK")
    assert raw.line() == b""
    raw.close()


def test_stop_sends_bye(tmp_path: Path) -> None:
    server, thread = start_server(tmp_path / "data")
    raw = Raw(server)
    raw.login()
    stop_server(server, thread)
    assert raw.line().startswith(b"* BYE")


def _ssl_unused() -> ssl.SSLContext:  # keep the import for type checkers of the helpers above
    return ssl.create_default_context()


def test_compress_deflate(imap_server: ImapServer) -> None:
    import zlib

    raw = Raw(imap_server)
    raw.login()
    raw.send(b"z COMPRESS DEFLATE\r\n")
    assert raw.line().startswith(b"z OK")
    deflate, inflate = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15)
    message = b"Subject: squeezed\r\n\r\n" + b"compressible " * 1000 + b"\r\n"
    command = b"a APPEND INBOX {%d+}\r\n%s\r\nb SELECT INBOX\r\nc FETCH 1 BODY.PEEK[]\r\nd COMPRESS DEFLATE\r\n" % (
        len(message),
        message,
    )
    raw.sock.sendall(deflate.compress(command) + deflate.flush(zlib.Z_SYNC_FLUSH))
    received = b""
    while b"d NO [COMPRESSIONACTIVE]" not in received:
        chunk = raw.sock.recv(65536)
        assert chunk
        received += inflate.decompress(chunk)
    assert b"a OK [APPENDUID" in received and message in received
    raw.close()


def test_compressed_input_is_inflated_in_bounded_steps(imap_server: ImapServer) -> None:
    """A few KB of deflate that inflate to megabytes: taken a bounded step at a time, same answers."""
    import zlib

    raw = Raw(imap_server)
    raw.login()
    raw.send(b"z COMPRESS DEFLATE\r\n")
    assert raw.line().startswith(b"z OK")
    deflate, inflate = zlib.compressobj(9, zlib.DEFLATED, -15), zlib.decompressobj(-15)
    message = b"Subject: zeros\r\n\r\n" + b"0" * (3 * 1024 * 1024) + b"\r\n"
    bomb = b"x NOOP " + b"a" * (20 * 1024 * 1024) + b"\r\n"  # one 20 MB line
    command = b"a APPEND INBOX {%d+}\r\n%s\r\n%sb STATUS INBOX (MESSAGES SIZE)\r\nc LOGOUT\r\n" % (
        len(message),
        message,
        bomb,
    )
    payload = deflate.compress(command) + deflate.flush(zlib.Z_SYNC_FLUSH)
    assert len(payload) < 100_000
    raw.sock.sendall(payload)
    received = b""
    while b"c OK" not in received:
        chunk = raw.sock.recv(65536)
        assert chunk
        received += inflate.decompress(chunk)
    assert b"a OK [APPENDUID" in received
    assert b"BAD line too long" in received  # the 20 MB line is refused, the session goes on
    assert b"MESSAGES 1 SIZE %d" % len(message) in received
    raw.close()


def test_logindisabled_for_plaintext_from_afar(imap_server: ImapServer) -> None:
    """A session from a non-loopback address without TLS: LOGINDISABLED, and LOGIN refused."""
    from kastell.protocols.imap.commands.auth import capabilities
    from kastell.protocols.imap.parser import Command, Parser
    from kastell.protocols.imap.session import Session

    class FakeIo:
        tls_active = False
        compressing = False

        def __init__(self) -> None:
            self.out: list[bytes] = []

        def write(self, data: bytes) -> None:
            self.out.append(data)

        async def drain(self) -> None:
            pass

    async def scenario() -> tuple[str, bytes]:
        io = FakeIo()
        session = Session(imap_server.app, io, Parser(), peer_ip="203.0.113.9")  # type: ignore[arg-type]
        caps = capabilities(session)
        await session.execute(Command("a", "LOGIN", (ALICE.encode(), PASSWORD.encode())))
        await session.close()
        return caps, b"".join(io.out)

    caps, out = imap_server.run(scenario())
    assert "LOGINDISABLED" in caps and "AUTH=PLAIN" not in caps
    assert out.startswith(b"a NO [PRIVACYREQUIRED]")
