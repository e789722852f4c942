"""Any-state and not-authenticated commands: CAPABILITY, NOOP, LOGOUT, ID, STARTTLS,
LOGIN, AUTHENTICATE PLAIN (RFC 4616, SASL-IR RFC 4959), ENABLE (RFC 5161), NAMESPACE."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from kastell.directory.errors import AuthFailed, AuthThrottled
from kastell.listeners import plaintext_auth_allowed
from kastell.protocols.imap.args import astring_arg, text_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command
from kastell.protocols.imap.responses import quoted, untagged
from kastell.protocols.imap.shared import PREFIX

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

_AUTHENTICATED_CAPS = (
    "IMAP4rev2 IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MULTIAPPEND MOVE UNSELECT CHILDREN "
    "SPECIAL-USE LIST-EXTENDED LIST-STATUS STATUS=SIZE ESEARCH SEARCHRES CONDSTORE QRESYNC SORT "
    "THREAD=REFERENCES THREAD=ORDEREDSUBJECT QUOTA QUOTA=RES-STORAGE UTF8=ACCEPT COMPRESS=DEFLATE "
    "ACL RIGHTS=texk METADATA METADATA-SERVER"
)
_ENABLEABLE = {"CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"}


def capabilities(session: Session) -> str:
    from kastell.protocols.imap.session import NOT_AUTHENTICATED

    caps = _AUTHENTICATED_CAPS + f" APPENDLIMIT={session.max_message}"
    if session.state == NOT_AUTHENTICATED:
        if not session.io.tls_active:
            caps += " STARTTLS"
        if plaintext_auth_allowed(session.app, session.peer_ip, session.io.tls_active):
            caps += " AUTH=PLAIN"
        else:
            caps += " LOGINDISABLED"
    return caps


async def handle_capability(session: Session, command: Command) -> str:
    session.send(untagged("CAPABILITY " + capabilities(session)))
    return "CAPABILITY completed"


async def handle_noop(session: Session, command: Command) -> str:
    return f"{command.name} completed"


async def handle_logout(session: Session, command: Command) -> str:
    from kastell.protocols.imap.session import LOGOUT

    session.send(untagged("BYE Kastell IMAP server logging out"))
    session.state = LOGOUT
    return "LOGOUT completed"


async def handle_id(session: Session, command: Command) -> str:
    # RFC 2971: we tell clients our name only (no version: it helps attackers more than clients).
    session.send(untagged('ID ("name" "Kastell" "vendor" "Kastell")'))
    return "ID completed"


async def handle_starttls(session: Session, command: Command) -> str:
    if session.io.tls_active:
        raise Bad("TLS is active already")
    from kastell.protocols.imap.responses import tagged

    session.send(tagged(command.tag, "OK", "Begin TLS negotiation now"))
    await session.io.drain()
    # RFC 9051 §6.2.1: anything the client pipelined in plain text is discarded.
    session.parser.clear()
    await session.io.start_tls()
    return ""  # answered before the handshake: nothing more to send


async def _login(session: Session, user: str, password: str) -> str:
    if not plaintext_auth_allowed(session.app, session.peer_ip, session.io.tls_active):
        raise No("Plaintext authentication disallowed on non-secure connections", "PRIVACYREQUIRED")
    try:
        account = await session.app.auth.authenticate(user, password, client_ip=session.peer_ip, protocol="imap")
    except AuthThrottled:
        await session.app.auth.delay_failure()
        raise No("Too many failures, try again later", "UNAVAILABLE") from None
    except AuthFailed:
        await session.app.auth.delay_failure()
        raise No("Authentication failed", "AUTHENTICATIONFAILED") from None
    await session.login(account)
    return "[CAPABILITY " + capabilities(session) + "] Logged in"


async def handle_login(session: Session, command: Command) -> str:
    if len(command.args) != 2:
        raise Bad("LOGIN needs user name and password")
    return await _login(session, astring_arg(command.args[0]), astring_arg(command.args[1]))


async def handle_authenticate(session: Session, command: Command) -> str:
    if not command.args or not isinstance(command.args[0], Atom):
        raise Bad("AUTHENTICATE needs a mechanism")
    if command.args[0].upper() != "PLAIN":
        raise No("Unsupported authentication mechanism", "CANNOT")
    if len(command.args) > 1:
        response = text_arg(command.args[1])  # SASL-IR (RFC 4959)
    else:
        session.send(b"+ \r\n")
        await session.io.drain()
        line = await session.io.read_line()
        response = (line or b"").decode("ascii", "replace")
    if response.strip() == "*":
        raise Bad("Authentication cancelled")
    if response == "=":
        response = ""
    try:
        decoded = base64.b64decode(response.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Bad("Invalid base64") from None
    parts = decoded.split(b"\x00")
    if len(parts) != 3:
        raise Bad("Invalid PLAIN response")
    authzid, user, password = (p.decode("utf-8", "replace") for p in parts)
    if authzid and authzid.lower() != user.lower():
        raise No("Proxy authorisation is not supported", "AUTHORIZATIONFAILED")
    return await _login(session, user, password)


async def handle_enable(session: Session, command: Command) -> str:
    if not command.args:
        raise Bad("ENABLE needs a capability")
    newly = []
    for arg in command.args:
        name = text_arg(arg).upper()
        if name in _ENABLEABLE and name not in session.enabled:
            session.enabled.add(name)
            newly.append("IMAP4rev2" if name == "IMAP4REV2" else name)
            if name == "QRESYNC":
                session.enabled.add("CONDSTORE")  # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE
    session.send(untagged("ENABLED" + "".join(" " + n for n in newly)))
    return "ENABLE completed"


async def handle_compress(session: Session, command: Command) -> str:
    """RFC 4978: the tagged OK goes out uncompressed, everything after it deflated."""
    if len(command.args) != 1 or text_arg(command.args[0]).upper() != "DEFLATE":
        raise Bad("Only COMPRESS DEFLATE is supported")
    if session.io.compressing:
        raise No("Compression is active already", "COMPRESSIONACTIVE")
    from kastell.protocols.imap.responses import tagged

    session.send(tagged(command.tag, "OK", "DEFLATE active"))
    await session.io.drain()
    session.io.start_compress()
    return ""


async def handle_namespace(session: Session, command: Command) -> str:
    # RFC 2342: the personal namespace, and other users' folders shared with the user
    # (shared.py); hierarchy delimiter "/" (the store's own separator). No public folders.
    session.send(untagged(b"NAMESPACE ((" + quoted("") + b' "/")) ((' + quoted(PREFIX) + b' "/")) NIL'))
    return "NAMESPACE completed"
