"""POP3 with the stdlib poplib against a real server on loopback."""

from __future__ import annotations

import poplib
import socket
import ssl
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ALICE, BOB, PASSWORD, Pop3Server


def msg(n: int, body: str = "hello") -> bytes:
    return (
        f"From: Sender <s{n}@example.net>\r\nTo: {ALICE}\r\nSubject: message {n}\r\n"
        f"Message-ID: <m{n}@example.net>\r\n\r\n{body} {n}\r\n"
    ).encode()


DOTTED = b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"
BARE_LF = b"Subject: bare\n\nline one\nline two\n.dot\n"
NO_EOL = b"Subject: no final newline\r\n\r\nlast line"


def raw_session(server: Pop3Server, *lines: bytes, port: int | None = None) -> bytes:
    """Send raw bytes and read until the server closes or goes quiet."""
    with socket.create_connection((server.host, port or server.port), timeout=10) as sock:
        sock.recv(1024)  # greeting
        for line in lines:
            sock.sendall(line)
        sock.settimeout(2)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    return data


def test_stat_list_retr_top_uidl(pop3_server: Pop3Server) -> None:
    sources = [msg(1), DOTTED, BARE_LF, NO_EOL, msg(5, ("x" * 76 + "\r\n") * 5000)]
    pop3_server.deliver(*sources)
    client = pop3_server.client()
    # Sizes count CRLF line ends (RFC 1939 §11): BARE_LF is larger on the wire than stored.
    wire = [len(s) + s.count(b"\n") - s.count(b"\r\n") for s in sources]
    assert wire[2] == len(BARE_LF) + 5
    assert client.stat() == (5, sum(wire))
    _, listing, _ = client.list()
    assert listing == [f"{n} {size}".encode() for n, size in enumerate(wire, 1)]
    assert client.list(2).split()[1:] == [b"2", str(len(DOTTED)).encode()]
    for n, source in enumerate(sources, 1):
        _, lines, octets = client.retr(n)
        # poplib removes the dot-stuffing and splits on CRLF: the lines are the source's lines.
        expected = source.replace(b"\r\n", b"\n").split(b"\n")
        if expected[-1] == b"":
            expected.pop()
        assert lines == expected, n
    _, head, _ = client.top(1, 0)
    assert head[:3] == [b"From: Sender <s1@example.net>", f"To: {ALICE}".encode(), b"Subject: message 1"]
    assert head[-1] == b""
    _, head, _ = client.top(2, 2)
    assert head == [b"Subject: dots", b"", b".leading dot", b"..two dots"]
    _, uidl, _ = client.uidl()
    client.quit()
    again = pop3_server.client()
    assert again.uidl()[1] == uidl
    assert again.uidl(3).split()[1:] == uidl[2].split()
    assert len({line.split()[1] for line in uidl}) == 5
    again.quit()


def test_retr_on_the_wire_is_stuffed_and_crlf(pop3_server: Pop3Server) -> None:
    pop3_server.deliver(DOTTED, BARE_LF, NO_EOL)
    data = raw_session(
        pop3_server, f"USER {ALICE}\r\nPASS {PASSWORD}\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nQUIT\r\n".encode()
    )
    assert b"\r\n..leading dot\r\n...two dots\r\n..\r\nend\r\n.\r\n" in data
    assert b"Subject: bare\r\n\r\nline one\r\nline two\r\n..dot\r\n.\r\n" in data
    assert b"\r\n\r\nlast line\r\n.\r\n" in data


def test_dele_quit_removes_rset_and_drop_keep(pop3_server: Pop3Server) -> None:
    uids = pop3_server.deliver(*(msg(n) for n in range(1, 6)))
    client = pop3_server.client()
    client.dele(1)
    client.dele(3)
    with pytest.raises(poplib.error_proto, match="already deleted"):
        client.retr(1)
    assert client.stat()[0] == 3
    assert [line.split()[0] for line in client.list()[1]] == [b"2", b"4", b"5"]
    client.rset()
    assert client.stat()[0] == 5
    client.dele(2)
    client.sock.close()  # dropped without QUIT: nothing changes
    assert pop3_server.inbox_uids() == uids
    client = pop3_server.client()
    client.dele(2)
    client.dele(5)
    assert client.quit().startswith(b"+OK")
    assert pop3_server.inbox_uids() == [uids[0], uids[2], uids[3]]


def test_maildrop_is_a_snapshot(pop3_server: Pop3Server) -> None:
    pop3_server.deliver(msg(1))
    client = pop3_server.client()
    pop3_server.deliver(msg(2))
    assert client.stat()[0] == 1
    other = pop3_server.client()
    assert other.stat()[0] == 2
    other.dele(1)
    other.quit()
    # Removed by another session: an error, not a crash; QUIT still works.
    with pytest.raises(poplib.error_proto, match="removed"):
        client.retr(1)
    client.dele(1)
    assert client.quit().startswith(b"+OK")
    third = pop3_server.client()
    assert third.stat()[0] == 1
    third.quit()


def test_auth_failures_are_uniform_and_throttled(pop3_server: Pop3Server) -> None:
    pop3_server.deliver(msg(1), address=BOB)
    replies = []
    for user, password in ((ALICE, "wrong"), ("nobody@example.org", "wrong"), ("", "x")):
        client = poplib.POP3(pop3_server.host, pop3_server.port, timeout=10)
        with pytest.raises(poplib.error_proto) as info:
            client.user(user)
            client.pass_(password)
        replies.append(info.value.args[0])
        client.close()
    assert replies[0] == replies[1] == b"-ERR [AUTH] authentication failed"
    # account_failures = 5 in the fixture: the 6th attempt is refused even with the right password.
    for _ in range(5):
        client = poplib.POP3(pop3_server.host, pop3_server.port, timeout=10)
        client.user(ALICE)
        with pytest.raises(poplib.error_proto):
            client.pass_("wrong")
        client.close()
    client = poplib.POP3(pop3_server.host, pop3_server.port, timeout=10)
    client.user(ALICE)
    with pytest.raises(poplib.error_proto, match=r"SYS/TEMP"):
        client.pass_(PASSWORD)
    client.close()
    # Another account is not affected.
    assert pop3_server.client(BOB).stat()[0] == 1


def test_auth_plain(pop3_server: Pop3Server) -> None:
    import base64

    pop3_server.deliver(msg(1))
    token = base64.b64encode(f"\0{ALICE}\0{PASSWORD}".encode()).decode()
    data = raw_session(pop3_server, f"AUTH PLAIN {token}\r\nSTAT\r\nQUIT\r\n".encode())
    assert data.startswith(b"+OK logged in") and b"+OK 1 " in data
    data = raw_session(pop3_server, f"AUTH PLAIN\r\n{token}\r\nSTAT\r\nQUIT\r\n".encode())
    assert data.startswith(b"+ \r\n+OK logged in")
    data = raw_session(pop3_server, b"AUTH PLAIN\r\n*\r\nQUIT\r\n")
    assert data.startswith(b"+ \r\n-ERR authentication cancelled")
    data = raw_session(pop3_server, b"AUTH\r\nAUTH X-UNKNOWN\r\nAUTH PLAIN !!!\r\nQUIT\r\n")
    assert data.startswith(b"+OK\r\nPLAIN\r\n.\r\n-ERR unsupported") and b"-ERR invalid SASL" in data
    bad = base64.b64encode(f"\0{ALICE}\0nope".encode()).decode()
    assert raw_session(pop3_server, f"AUTH PLAIN {bad}\r\n".encode()).startswith(b"-ERR [AUTH] authentication failed")


def test_capa_and_states(pop3_server: Pop3Server) -> None:
    client = poplib.POP3(pop3_server.host, pop3_server.port, timeout=10)
    caps = client.capa()
    assert {"TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "USER", "STLS", "PIPELINING"} <= set(caps)
    assert caps["SASL"] == ["PLAIN"]
    with pytest.raises(poplib.error_proto, match="not valid in this state"):
        client._shortcmd("STAT")
    client.user(ALICE)
    client.pass_(PASSWORD)
    assert "STLS" not in client.capa() and "USER" not in client.capa()
    with pytest.raises(poplib.error_proto, match="not valid in this state"):
        client._shortcmd("USER x")
    client.quit()


def test_stls_and_pop3s(pop3_server: Pop3Server) -> None:
    pop3_server.deliver(msg(1))
    client = poplib.POP3(pop3_server.host, pop3_server.port, timeout=10)
    client.stls(pop3_server.tls_context())
    assert "STLS" not in client.capa()
    client.user(ALICE)
    client.pass_(PASSWORD)
    assert client.retr(1)[1][-1] == b"hello 1"
    client.quit()
    secure = poplib.POP3_SSL(pop3_server.host, pop3_server.tls_port, context=pop3_server.tls_context(), timeout=10)
    assert "STLS" not in secure.capa()
    secure.user(ALICE)
    secure.pass_(PASSWORD)
    assert secure.stat()[0] == 1
    secure.quit()


def test_plaintext_refused_without_tls_off_loopback(pop3_server: Pop3Server) -> None:
    # Make loopback "remote": only 10.0.0.0/8 may send passwords in plain text.
    auth = pop3_server.app.settings.config.auth
    object.__setattr__(auth, "plaintext_without_tls_from", ["10.0.0.0/8"])
    client = poplib.POP3(pop3_server.host, pop3_server.port, timeout=10)
    caps = client.capa()
    assert "USER" not in caps and "SASL" not in caps and "STLS" in caps
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\] plaintext"):
        client.user(ALICE)
    client.stls(pop3_server.tls_context())
    client.user(ALICE)
    client.pass_(PASSWORD)
    client.quit()


def test_stls_discards_pipelined_plaintext(pop3_server: Pop3Server) -> None:
    # RFC 2595 §4: plain text pipelined after STLS must never count as sent over TLS. Depending on
    # when it arrives it is dropped (then PASS has no USER) or it breaks the handshake.
    with socket.create_connection((pop3_server.host, pop3_server.port), timeout=5) as sock:
        sock.recv(1024)
        sock.sendall(f"STLS\r\nUSER {ALICE}\r\n".encode())
        assert sock.recv(1024).startswith(b"+OK begin TLS")
        try:
            tls = pop3_server.tls_context().wrap_socket(sock, server_hostname="localhost")
        except (ssl.SSLError, OSError):
            return
        tls.sendall(f"PASS {PASSWORD}\r\n".encode())
        assert tls.recv(1024).startswith(b"-ERR USER first")
        tls.close()


def test_hostile_input(pop3_server: Pop3Server) -> None:
    pop3_server.deliver(msg(1))
    data = raw_session(
        pop3_server,
        b"X" * 300 + b"\r\n",  # too long
        b"\x00\xff\xfe garbage\r\n",
        b"\r\n",
        b"NOOP\r\n",
        f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode(),
        b"RETR 0\r\nRETR 99999999999999999999\r\nRETR -1\r\nRETR abc\r\nTOP 1\r\nTOP 1 -1\r\nDELE\r\nLIST 2\r\n",
        b"A" * 100_000,  # no line end at all
        b"\r\nSTAT\r\n",
        b"QUIT\r\n",
    )
    lines = data.split(b"\r\n")
    assert lines[0] == b"-ERR line too long"
    assert lines[1] == b"-ERR unknown command"
    assert lines[2] == b"-ERR unknown command"
    assert lines[3] == b"-ERR command not valid in this state"
    assert lines[4:6] == [b"+OK", b"+OK logged in, 1 messages (" + str(len(msg(1))).encode() + b" octets)"]
    assert all(line.startswith(b"-ERR") for line in lines[6:14]), lines[6:14]
    assert lines[14] == b"-ERR line too long"
    assert lines[15].startswith(b"+OK 1 ")
    assert lines[16].startswith(b"+OK") and "signing off" in lines[16].decode()


def test_server_stop_says_goodbye(tmp_path: object) -> None:
    from pathlib import Path

    from .conftest import start_server, stop_server

    assert isinstance(tmp_path, Path)
    server, thread = start_server(tmp_path / "data")
    server.deliver(msg(1))
    client = server.client()
    client.dele(1)
    started = time.monotonic()
    stop_server(server, thread)
    assert time.monotonic() - started < 5
    assert client.file.readline().startswith(b"-ERR [SYS/TEMP] server shutting down")


VERBS = ["STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "NOOP", "RSET", "CAPA", "USER", "PASS", "AUTH", "APOP", "XYZ"]


@given(
    st.lists(
        st.tuples(st.sampled_from(VERBS), st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" "))),
        min_size=1,
        max_size=25,
    )
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_hypothesis_commands_never_break_the_session(
    pop3_server: Pop3Server, commands: list[tuple[str, bytes]]
) -> None:
    if not pop3_server.inbox_uids():
        pop3_server.deliver(msg(1), msg(2), DOTTED)
    payload = b"".join(verb.encode() + b" " + args + b"\r\n" for verb, args in commands)
    with socket.create_connection((pop3_server.host, pop3_server.port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f"USER {ALICE}\r\nPASS {PASSWORD}\r\n".encode())
        assert reader.readline() == b"+OK\r\n" and reader.readline().startswith(b"+OK logged in")
        sock.sendall(payload + b"NOOP\r\nQUIT\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    # The session survived whatever came before: NOOP and QUIT were answered.
    assert data.endswith(b"+OK\r\n+OK Kastell POP3 server signing off\r\n") or b"signing off" in data.splitlines()[-1]
