"""ManageSieve (RFC 5804) over real sockets: sievelib's client and a raw socket client."""

from __future__ import annotations

import base64
import socket
import ssl
import warnings

import pytest
from sievelib.managesieve import Client

from kastell import sieve
from kastell.ops.sessions import registry
from tests.mail.mailenv import PASSWORD, MailEnv, Sink, in_thread

pytestmark = pytest.mark.anyio

FILING = """require ["fileinto", "imap4flags", "vacation"];
# lists go to their folder
if header :contains "List-Id" "dev.example" {
    fileinto :flags "\\\\Seen" "Lists/dev";
    stop;
}
vacation :days 3 :subject "Away" "I am away until Monday.";
"""


def client(env: MailEnv, user: str = "alice@example.test", *, starttls: bool = False) -> Client:
    # sievelib verifies with the default trust store (SSL_CERT_FILE, set by the test) and this name
    c = Client("127.0.0.1", env.ports["managesieve"], srvhostname="mx.kastell.test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sievelib warns about plain text; loopback allows it
        assert c.connect(user, PASSWORD, starttls=starttls, authmech="PLAIN")
    return c


class Raw:
    """A line-level ManageSieve client for what libraries do not send."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def response(self) -> list[bytes]:
        """Lines up to and including the OK/NO/BYE line (literals read whole)."""
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                return lines
            if line.rstrip().endswith(b"}") and b"{" in line:
                size = int(line.rstrip()[line.rindex(b"{") + 1 : -1].rstrip(b"+"))
                line += self.file.read(size)
            lines.append(line)
            if line[:2] in (b"OK", b"NO") or line[:3] == b"BYE":
                return lines

    def send(self, data: bytes) -> list[bytes]:
        self.sock.sendall(data)
        return self.response()

    def login(self, user: str = "alice@example.test") -> None:
        token = base64.b64encode(f"\0{user}\0{PASSWORD}".encode()).decode()
        assert self.send(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())[-1].startswith(b"OK")

    def close(self) -> None:
        self.sock.close()


async def test_script_lifecycle_with_sievelib(rules_env: tuple[MailEnv, Sink]) -> None:
    env, _ = rules_env

    def go() -> None:
        c = client(env)
        assert c.get_implementation() == "Kastell"
        assert set(c.get_sieve_capabilities()) == set(sieve.EXTENSIONS)
        assert c.havespace("rules", 1000)
        assert c.putscript("rules", FILING)
        assert c.putscript("other", 'require "fileinto";\nfileinto "Archive";\n')
        assert c.listscripts() == (None, ["other", "rules"])
        assert c.setactive("rules")
        assert c.listscripts() == ("rules", ["other"])
        # sievelib sends CRLF line ends and drops the last one when it reads the literal back
        assert c.getscript("rules").replace("\r\n", "\n") == FILING.rstrip("\n")
        assert not c.deletescript("rules")  # the active one cannot go
        assert c.renamescript("other", "archive")
        assert c.listscripts() == ("rules", ["archive"])
        assert c.deletescript("archive")
        assert c.checkscript("keep;\n")
        assert not c.checkscript("frobnicate;\n")
        assert c.setactive("")
        assert c.listscripts() == (None, ["rules"])
        c.logout()

    await in_thread(go)


async def test_broken_script_refused_with_line(rules_env: tuple[MailEnv, Sink]) -> None:
    env, _ = rules_env

    def go() -> list[bytes]:
        raw = Raw(env.ports["managesieve"])
        raw.response()
        raw.login()
        script = b'require "fileinto";\r\nkeep;\r\nfileinto "x"\r\nkeep;\r\n'
        reply = raw.send(b'PUTSCRIPT "bad" {%d+}\r\n' % len(script) + script + b"\r\n")
        listing = raw.send(b"LISTSCRIPTS\r\n")
        raw.close()
        return reply + [b"--"] + listing

    lines = await in_thread(go)
    refusal = lines[0]
    assert refusal.startswith(b"NO") and b"line 4" in refusal  # the missing semicolon is found at line 4
    assert lines[-1].startswith(b"OK") and b'"bad"' not in b"".join(lines)  # nothing was stored


async def test_raw_protocol_details(rules_env: tuple[MailEnv, Sink]) -> None:
    env, _ = rules_env

    def go() -> dict[str, list[bytes]]:
        raw = Raw(env.ports["managesieve"])
        out = {"greeting": raw.response()}
        out["early"] = raw.send(b"LISTSCRIPTS\r\n")
        # AUTHENTICATE without an initial response: an empty challenge, then the response string.
        raw.sock.sendall(b'AUTHENTICATE "PLAIN"\r\n')
        out["challenge"] = [raw.file.readline()]
        token = base64.b64encode(f"\0alice@example.test\0{PASSWORD}".encode())
        out["auth"] = raw.send(b'"' + token + b'"\r\n')
        out["noop"] = raw.send(b'NOOP "tag-1"\r\n')
        out["garbage"] = raw.send(b"\x01\x02 nonsense\r\n")
        out["unknown"] = raw.send(b"FROB\r\n")
        out["badquote"] = raw.send(b'GETSCRIPT "unterminated\r\n')
        out["missing"] = raw.send(b'GETSCRIPT "nope"\r\n')
        out["quota"] = raw.send(b'HAVESPACE "big" 999999999\r\n')
        out["capability"] = raw.send(b"CAPABILITY\r\n")
        live = [s for s in registry(env.app).snapshot() if s.protocol == "managesieve"]
        out["live"] = [f"{s.user} {s.commands}".encode() for s in live]
        out["unauth"] = raw.send(b"UNAUTHENTICATE\r\n")
        out["after"] = raw.send(b"LISTSCRIPTS\r\n")
        out["logout"] = raw.send(b"LOGOUT\r\n")
        raw.close()
        return out

    out = await in_thread(go)
    greeting = b"".join(out["greeting"])
    assert b'"IMPLEMENTATION" "Kastell"' in greeting and b'"SASL" "PLAIN"' in greeting
    assert b'"STARTTLS"' in greeting and b'"VERSION" "1.0"' in greeting and b'"MAXREDIRECTS"' in greeting
    assert out["early"][-1].startswith(b"NO")
    assert out["challenge"] == [b'""\r\n']
    assert out["auth"][-1].startswith(b"OK")
    assert out["noop"][-1].startswith(b'OK (TAG "tag-1")')
    for key in ("garbage", "unknown", "badquote"):
        assert out[key][-1].startswith(b"NO"), key
    assert out["missing"][-1].startswith(b"NO (NONEXISTENT)")
    assert out["quota"][-1].startswith(b"NO (QUOTA/MAXSIZE)")
    assert b'"OWNER" "alice@example.test"' in b"".join(out["capability"])
    assert out["live"] == [b"alice@example.test 8"]  # the admin's live-session view sees it, logged in
    assert out["unauth"][-1].startswith(b"OK")
    assert out["after"][-1].startswith(b"NO")
    assert out["logout"][-1].startswith(b"OK")


async def test_wrong_password_and_starttls(rules_env: tuple[MailEnv, Sink], monkeypatch: pytest.MonkeyPatch) -> None:
    env, _ = rules_env
    monkeypatch.setenv("SSL_CERT_FILE", str(env.data / "tls" / "cert.pem"))

    def go() -> tuple[list[bytes], list[bytes], bool]:
        raw = Raw(env.ports["managesieve"])
        raw.response()
        token = base64.b64encode(b"\0alice@example.test\0wrong").decode()
        wrong = raw.send(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())
        tls = raw.send(b"STARTTLS\r\n")
        context = ssl.create_default_context(cafile=str(env.data / "tls" / "cert.pem"))
        context.check_hostname = False
        raw.sock = context.wrap_socket(raw.sock)
        raw.file = raw.sock.makefile("rb")
        again = raw.response()  # RFC 5804 §2.2: capabilities again after the handshake
        raw.login()
        raw.close()
        c = client(env, starttls=True)  # and sievelib's STARTTLS
        listed = c.listscripts() == (None, [])
        c.logout()
        return wrong, tls, listed if again[-1].startswith(b"OK") and b'"STARTTLS"' not in b"".join(again) else False

    wrong, tls, ok = await in_thread(go)
    assert wrong[-1].startswith(b"NO")
    assert tls[-1].startswith(b"OK")
    assert ok


async def test_limits(rules_env: tuple[MailEnv, Sink]) -> None:
    env, _ = rules_env
    limit = env.app.settings.config.sieve.max_scripts

    def go() -> tuple[list[bool], list[bytes]]:
        c = client(env)
        stored = [c.putscript(f"s{i}", "keep;\n") for i in range(limit + 1)]
        c.logout()
        raw = Raw(env.ports["managesieve"])
        raw.response()
        raw.login()
        huge = b"# " + b"x" * (env.app.settings.config.sieve.max_script_size + 10) + b"\r\nkeep;\r\n"
        reply = raw.send(b'PUTSCRIPT "huge" {%d+}\r\n' % len(huge) + huge + b"\r\n")
        raw.close()
        return stored, reply

    stored, reply = await in_thread(go)
    assert stored == [True] * limit + [False]
    assert reply[-1].startswith(b"NO (QUOTA/MAXSIZE)")
