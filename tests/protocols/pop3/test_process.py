"""``kastell serve`` in a child process with pop3 and pop3s listeners; mail put in with ``kastell import mbox``."""

from __future__ import annotations

import poplib
import signal
import ssl
from pathlib import Path

from tests.process.harness import RunningServer, kastell

MBOX = (
    b"From alice@example.net Mon Jan  2 10:00:00 2023\n"
    b"From: Alice <alice@example.net>\nSubject: first\n\nfirst body\n>From the start\n.dot line\n\n"
    b"From bob@example.net Mon Jan  2 11:00:00 2023\n"
    b"From: Bob <bob@example.net>\nSubject: second\n\nsecond body\n"
)


def test_serve_pop3_and_pop3s(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert kastell(data, "init", "--no-demo").returncode == 0
    assert kastell(data, "domain", "add", "pop.test").returncode == 0
    assert kastell(data, "user", "add", "carol@pop.test", "--password", "pw-for-carol-1").returncode == 0
    mbox = tmp_path / "in.mbox"
    mbox.write_bytes(MBOX)
    imported = kastell(data, "import", "mbox", str(mbox), "--user", "carol@pop.test")
    assert imported.returncode == 0, imported.stderr
    server = RunningServer(data, services=("pop3", "pop3s"))
    try:
        server.wait_ready()
        client = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
        client.user("carol@pop.test")
        client.pass_("pw-for-carol-1")
        count, size = client.stat()
        assert count == 2
        listing = [int(line.split()[1]) for line in client.list()[1]]
        assert sum(listing) == size
        _, lines, _ = client.retr(1)
        assert b"first body" in lines and b".dot line" in lines
        # mbox keeps bare LF line ends; RETR sends CRLF lines, and LIST counts them so (RFC 1939 §11).
        assert sum(len(line) + 2 for line in lines) == listing[0]
        uidl = client.uidl()[1]
        client.quit()
        context = ssl.create_default_context(cafile=str(data / "tls" / "cert.pem"))
        context.check_hostname = False
        secure = poplib.POP3_SSL("127.0.0.1", server.ports["pop3s"], context=context, timeout=10)
        secure.user("carol@pop.test")
        secure.pass_("pw-for-carol-1")
        assert secure.uidl()[1] == uidl
        secure.dele(2)
        secure.quit()
        again = poplib.POP3("127.0.0.1", server.ports["pop3"], timeout=10)
        again.user("carol@pop.test")
        again.pass_("pw-for-carol-1")
        assert again.stat()[0] == 1 and again.uidl()[1] == uidl[:1]
        again.quit()
    finally:
        code, _ = server.stop(signal.SIGTERM)
    assert code == 0
    assert b"pop3 listening" in server.log.read_bytes()
