"""The ManageSieve state machine (RFC 5804 §2): one per connection, no sockets here.

States: not authenticated (CAPABILITY, STARTTLS, AUTHENTICATE, LOGOUT, NOOP) and
authenticated (every script command, UNAUTHENTICATE). ``handle`` takes a parsed
command and returns a :class:`Reply` — the bytes to send and whether to start
TLS or close. A SASL exchange without an initial response takes one more client
line (a string), which the server glue passes to ``handle`` as the command
"" with that string.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kastell.directory.errors import AuthFailed, AuthThrottled
from kastell.listeners import plaintext_auth_allowed
from kastell.ops.sessions import open_session
from kastell.protocols.managesieve.parser import Command, literal, quoted
from kastell.rules import scripts
from kastell.rules.scripts import ScriptError, ScriptStore, check_name, check_syntax

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.directory.records import Account

log = logging.getLogger("kastell.managesieve")

IMPLEMENTATION = "Kastell"


@dataclass(frozen=True, slots=True)
class Reply:
    data: bytes
    start_tls: bool = False
    close: bool = False


def status(kind: str, text: str = "", code: str = "") -> bytes:
    """``OK``/``NO``/``BYE`` with an optional response code and human-readable text (RFC 5804 §1.3)."""
    out = kind.encode()
    if code:
        out += b" (" + code.encode() + b")"
    if text:
        out += b" " + quoted(text)
    return out + b"\r\n"


def ok(text: str = "", code: str = "") -> Reply:
    return Reply(status("OK", text, code))


def no(text: str, code: str = "") -> Reply:
    return Reply(status("NO", text, code))


class Session:
    def __init__(self, app: Kastell, peer_ip: str | None, *, tls_active: bool, tls_available: bool) -> None:
        self.app = app
        self.peer_ip = peer_ip
        self.tls_active = tls_active
        self.tls_available = tls_available
        self.account: Account | None = None
        self.scripts: ScriptStore | None = None
        self.sasl_pending = False
        self.live = open_session(app, "managesieve", peer_ip)  # the admin's live view and the metrics

    # ------------------------------------------------------------------ capability

    def capability_lines(self) -> bytes:
        from kastell.sieve import EXTENSIONS  # loaded with the first connection, not at server start

        config = self.app.settings.config.sieve
        lines = [
            (b'"IMPLEMENTATION"', IMPLEMENTATION),
            (b'"SIEVE"', " ".join(EXTENSIONS)),
            (b'"SASL"', "PLAIN" if self._plaintext_ok() else ""),
        ]
        out = b"".join(key + b" " + quoted(value) + b"\r\n" for key, value in lines)
        if self.tls_available and not self.tls_active and self.account is None:
            out += b'"STARTTLS"\r\n'
        out += b'"MAXREDIRECTS" ' + quoted(str(config.max_redirects)) + b"\r\n"
        if self.account is not None:
            out += b'"OWNER" ' + quoted(self.account.address) + b"\r\n"
        out += b'"VERSION" "1.0"\r\n'
        return out

    def greeting(self) -> Reply:
        return Reply(self.capability_lines() + status("OK", "Kastell ManageSieve ready"))

    def tls_started(self) -> Reply:
        """RFC 5804 §2.2: after the handshake the server sends its capabilities again."""
        self.tls_active = True
        return Reply(self.capability_lines() + status("OK", "TLS negotiated"))

    def _plaintext_ok(self) -> bool:
        return plaintext_auth_allowed(self.app, self.peer_ip, self.tls_active)

    # --------------------------------------------------------------------- dispatch

    async def handle(self, command: Command) -> Reply:
        started = time.perf_counter()
        reply = await self._dispatch(command)
        verb = command.name if command.name in _KNOWN else ("AUTHENTICATE" if not command.name else "other")
        last = reply.data.rstrip(b"\r\n").rpartition(b"\n")[2]
        outcome = "no" if last.startswith(b"NO") else "bye" if last.startswith(b"BYE") else "ok"
        self.live.command(verb, outcome, time.perf_counter() - started)
        return reply

    async def _dispatch(self, command: Command) -> Reply:
        if self.sasl_pending:
            self.sasl_pending = False
            return await self._sasl_response(command)
        handler = (_ANY | (_AUTHENTICATED if self.account else _NOT_AUTHENTICATED)).get(command.name)
        if handler is None:
            return no("not allowed in this state" if command.name in _KNOWN else "unknown command")
        try:
            return await handler(self, command.args)
        except _BadArgs as exc:
            return no(str(exc))

    # ------------------------------------------------------------ any state

    async def _capability(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 0)
        return Reply(self.capability_lines() + status("OK"))

    async def _noop(self, args: tuple[str | int, ...]) -> Reply:
        if args:
            return ok("Done", "TAG " + quoted(_string(args[0])).decode("utf-8", "replace"))
        return ok("Done")

    async def _logout(self, args: tuple[str | int, ...]) -> Reply:
        return Reply(status("OK", "Logout complete"), close=True)

    # ------------------------------------------------------- not authenticated

    async def _starttls(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 0)
        if self.tls_active or not self.tls_available:
            return no("TLS is not available" if not self.tls_available else "TLS is active already")
        return Reply(status("OK", "Begin TLS negotiation"), start_tls=True)

    async def _authenticate(self, args: tuple[str | int, ...]) -> Reply:
        if not args or len(args) > 2:
            raise _BadArgs("usage: AUTHENTICATE mechanism [initial-response]")
        if _string(args[0]).upper() != "PLAIN":
            return no("unsupported authentication mechanism")
        if not self._plaintext_ok():
            return no("plaintext authentication needs TLS", "ENCRYPT-NEEDED")
        if len(args) == 2:
            return await self._plain(_string(args[1]))
        self.sasl_pending = True
        return Reply(b'""\r\n')  # an empty server challenge (RFC 5804 §2.1)

    async def _sasl_response(self, command: Command) -> Reply:
        if command.name or len(command.args) != 1:
            return no("authentication failed: expected a SASL response string")
        return await self._plain(_string(command.args[0]))

    async def _plain(self, response: str) -> Reply:
        if response.strip() == "*":
            return no("authentication cancelled")
        try:
            data = base64.b64decode(response.strip(), validate=True)
            authzid, authcid, password = data.decode("utf-8").split("\0")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return no("invalid SASL PLAIN response")
        if authzid and authzid != authcid:
            return no("authentication failed", "AUTH-TOO-WEAK")
        auth = self.app.auth
        try:
            account = await auth.authenticate(authcid, password, client_ip=self.peer_ip, protocol="managesieve")
        except AuthThrottled:
            await auth.delay_failure()
            return no("too many failed logins, try again later", "TRYLATER")
        except AuthFailed:
            await auth.delay_failure()
            return no("authentication failed")
        self.account = account
        self.scripts = scripts.for_account(self.app, account.org_id, account.id)
        self.live.authenticated(account.address, account.org_id)
        return ok("Logged in")

    # ------------------------------------------------------------ authenticated

    def _store(self) -> ScriptStore:
        assert self.scripts is not None
        return self.scripts

    async def _unauthenticate(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 0)
        self.account = None
        self.scripts = None
        self.live.user = self.live.org_id = None
        return ok()

    async def _havespace(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 2)
        name, size = _string(args[0]), args[1]
        if not isinstance(size, int):
            raise _BadArgs("HAVESPACE needs a script name and a number")
        store = self._store()
        try:
            check_name(name)
            store.have_space(name, size, await store.list())
        except ScriptError as exc:
            return no(str(exc), exc.code)
        return ok()

    async def _putscript(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 2)
        try:
            await self._store().put(_string(args[0]), _script(args[1]))
        except ScriptError as exc:
            return no(str(exc), exc.code)
        return ok()

    async def _checkscript(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 1)
        content = _script(args[0])
        store = self._store()
        if len(content.encode("utf-8", "surrogateescape")) > store.max_size:
            return no(f"script is larger than {store.max_size} bytes", "QUOTA/MAXSIZE")
        try:
            check_syntax(content)
        except ScriptError as exc:
            return no(str(exc))
        return ok()

    async def _listscripts(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 0)
        lines = [quoted(i.name) + (b" ACTIVE" if i.active else b"") + b"\r\n" for i in await self._store().list()]
        return Reply(b"".join(lines) + status("OK"))

    async def _setactive(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 1)
        try:
            await self._store().activate(_string(args[0]) or None)
        except ScriptError as exc:
            return no(str(exc), exc.code)
        return ok()

    async def _getscript(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 1)
        content = await self._store().get(_string(args[0]))
        if content is None:
            return no("there is no script by that name", "NONEXISTENT")
        return Reply(literal(content.encode("utf-8", "surrogateescape")) + b"\r\n" + status("OK"))

    async def _deletescript(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 1)
        try:
            await self._store().delete(_string(args[0]))
        except ScriptError as exc:
            return no(str(exc), exc.code)
        return ok()

    async def _renamescript(self, args: tuple[str | int, ...]) -> Reply:
        _count(args, 2)
        try:
            await self._store().rename(_string(args[0]), _string(args[1]))
        except ScriptError as exc:
            return no(str(exc), exc.code)
        return ok()


class _BadArgs(Exception):
    pass


def _count(args: tuple[str | int, ...], n: int) -> None:
    if len(args) != n:
        raise _BadArgs(f"expected {n} argument{'s' if n != 1 else ''}")


def _string(value: str | int) -> str:
    return str(value)


def _script(value: str | int) -> str:
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _BadArgs("a script must be UTF-8 (RFC 5228 §2.2)") from None
    return text


_ANY = {
    "CAPABILITY": Session._capability,
    "NOOP": Session._noop,
    "LOGOUT": Session._logout,
}
_NOT_AUTHENTICATED = {
    "STARTTLS": Session._starttls,
    "AUTHENTICATE": Session._authenticate,
}
_AUTHENTICATED = {
    "UNAUTHENTICATE": Session._unauthenticate,
    "HAVESPACE": Session._havespace,
    "PUTSCRIPT": Session._putscript,
    "CHECKSCRIPT": Session._checkscript,
    "LISTSCRIPTS": Session._listscripts,
    "SETACTIVE": Session._setactive,
    "GETSCRIPT": Session._getscript,
    "DELETESCRIPT": Session._deletescript,
    "RENAMESCRIPT": Session._renamescript,
}
_KNOWN = frozenset(_ANY) | frozenset(_NOT_AUTHENTICATED) | frozenset(_AUTHENTICATED)
