"""The POP3 session: one state machine per connection (RFC 1939 §3), no sockets.

Theory of operation
-------------------
A session is in one of three states. AUTHORIZATION: the client identifies
itself (USER/PASS, RFC 1939 §7; AUTH PLAIN, RFC 5034) and may upgrade to TLS
(STLS, RFC 2595 §4). TRANSACTION: the maildrop is fixed — the INBOX *as it was
at login*, a snapshot of its uids and sizes — and the client reads and marks
messages; nothing is changed in the store yet. UPDATE (after QUIT): the marked
messages are removed in one store call (``Mailbox.expunge``) and the session
ends. A dropped connection never reaches UPDATE, so it changes nothing
(RFC 1939 §6).

Which command is valid in which state is the table :data:`COMMANDS`; a
command outside it gets ``-ERR`` and the session goes on. The server feeds
complete lines (:meth:`Session.handle_line`) and writes back each
:class:`Reply`; a reply's body may be a stream (RETR), produced chunk by chunk
from the blob store so that a large message is never held twice.

Several sessions of one mailbox may run at once (RFC 1939 §8 makes the
exclusive lock optional; Kastell takes none): each has its own snapshot, a
message removed by another session or by IMAP is answered with ``-ERR`` on
RETR/TOP, and QUIT expunges by uid, so removing a message twice is harmless.
UIDL is ``<uidvalidity>.<uid>`` of the INBOX: stable across sessions and
never reused (RFC 1939 §7 UIDL).

Response codes (RFC 2449 §8 RESP-CODES, RFC 3206): ``[AUTH]`` for bad
credentials and plain text refused, ``[SYS/TEMP]`` for throttling and store
trouble, ``[SYS/PERM]`` for an account without a mailbox. ``[IN-USE]`` is never
needed (no lock) and LOGIN-DELAY is not offered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import enum
import logging
import time
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kastell.directory.errors import AuthFailed, AuthThrottled
from kastell.listeners import plaintext_auth_allowed
from kastell.ops.sessions import open_session
from kastell.protocols.pop3.encode import MultilineEncoder, encode, top
from kastell.protocols.pop3.parser import MAX_COMMAND_LINE, MAX_SASL_LINE, Command, parse_command, parse_number
from kastell.protocols.pop3.sizes import wire_sizes
from kastell.store.errors import NoSuchItem, NoSuchMailbox, StoreError

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.store.mailbox import Mailbox

log = logging.getLogger("kastell.pop3")

CHUNK = 256 * 1024  # bytes read from the blob store per step of a RETR
LIST_BATCH = 2000  # lines per write of a LIST/UIDL of a large maildrop


class State(enum.Enum):
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class Reply:
    """What to send: a status line, an optional multi-line body, and what to do next."""

    status: str  # without CRLF
    body: AsyncIterator[bytes] | None = None  # already dot-stuffed, ends with ".\r\n"
    close: bool = False  # end the connection after sending
    start_tls: bool = False  # STLS accepted: start TLS after sending

    def head(self) -> bytes:
        return self.status.encode() + b"\r\n"


def ok(
    text: str = "", *, body: AsyncIterator[bytes] | None = None, close: bool = False, start_tls: bool = False
) -> Reply:
    return Reply(f"+OK {text}" if text else "+OK", body, close, start_tls)


def err(text: str, *, close: bool = False) -> Reply:
    return Reply(f"-ERR {text}", None, close)


AUTH_FAILED = err("[AUTH] authentication failed")
NO_PLAINTEXT = err("[AUTH] plaintext authentication disallowed on non-secure (SSL/TLS) connections")


class Session:
    """One connection's state; see the module docstring."""

    def __init__(self, app: Kastell, peer_ip: str | None, *, tls_active: bool) -> None:
        self.app = app
        self.peer_ip = peer_ip
        self.tls_active = tls_active
        self.state = State.AUTHORIZATION
        self._user: str | None = None  # USER given, waiting for PASS
        self._sasl_pending = False  # AUTH PLAIN sent "+ ", the next line is the response
        self._box: Mailbox | None = None
        self._folder_id = 0
        self._uidvalidity = 0
        # The maildrop snapshot: message n is index n-1. Two int64 arrays, 16 bytes
        # a message, so that a 250,000-message INBOX costs 4 MB, not a list of Items.
        self._uids = array("q")
        self._sizes = array("q")
        self._deleted: set[int] = set()
        # The admin's live view and the metrics; the entry goes when the connection's task ends.
        self.live = open_session(app, "pop3", peer_ip)
        with contextlib.suppress(RuntimeError):  # no running loop: a test drives the session
            task = asyncio.current_task()
            if task is not None:
                task.add_done_callback(self.live.close)

    # ------------------------------------------------------------------ input

    def greeting(self) -> Reply:
        return ok("Kastell POP3 server ready")

    @property
    def line_limit(self) -> int:
        """The longest next line the reader should accept (a SASL response may be longer)."""
        return MAX_SASL_LINE if self._sasl_pending else MAX_COMMAND_LINE

    def line_too_long(self) -> Reply:
        self._sasl_pending = False
        return err("line too long")

    async def handle_line(self, line: bytes) -> Reply:
        if self._sasl_pending:
            self._sasl_pending = False
            return await self._sasl_response(line)
        command = parse_command(line)
        if command is None or not command.verb:
            return err("unknown command")
        handler = COMMANDS[self.state].get(command.verb)
        if handler is None:
            known = any(command.verb in table for table in COMMANDS.values())
            self.live.command(command.verb if known else "other", "err")
            return err("command not valid in this state" if known else "unknown command")
        started = time.perf_counter()
        reply = await handler(self, command)
        self.live.command(command.verb, "err" if reply.status.startswith("-") else "ok", time.perf_counter() - started)
        if reply.close:
            self.live.close()
        return reply

    def tls_started(self) -> None:
        """The server finished the STLS handshake: forget what was said in plain text."""
        self.tls_active = True
        self._user = None

    # --------------------------------------------------------- AUTHORIZATION

    def _plaintext_ok(self) -> bool:
        return plaintext_auth_allowed(self.app, self.peer_ip, self.tls_active)

    async def _capa(self, command: Command) -> Reply:
        # RFC 2449 §5; what is offered depends on the state and on TLS (§6, RFC 2595 §4).
        caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.state is State.AUTHORIZATION:
            if self._plaintext_ok():
                caps += ["USER", "SASL PLAIN"]
            if not self.tls_active:
                caps.append("STLS")
        caps.append("IMPLEMENTATION Kastell")
        return ok("capability list follows", body=_static(caps))

    async def _stls(self, command: Command) -> Reply:
        if self.tls_active:
            return err("TLS already active")
        return ok("begin TLS negotiation", start_tls=True)

    async def _user_cmd(self, command: Command) -> Reply:
        if not self._plaintext_ok():
            return NO_PLAINTEXT
        name = command.rest.strip()
        if not name:
            return err("USER needs a name")
        self._user = name
        return ok()

    async def _pass(self, command: Command) -> Reply:
        user, self._user = self._user, None
        if user is None:
            return err("USER first")
        if not self._plaintext_ok():
            return NO_PLAINTEXT
        # RFC 1939 §7: the password is the rest of the line (it may contain spaces).
        return await self._login(user, command.rest)

    async def _auth(self, command: Command) -> Reply:
        if not command.args:
            # RFC 1734 clients (Outlook) ask for the mechanism list with a bare AUTH.
            return ok("", body=_static(["PLAIN"]))
        if command.args[0].upper() != "PLAIN":
            return err("unsupported authentication mechanism")
        if not self._plaintext_ok():
            return NO_PLAINTEXT
        if len(command.args) > 1:  # initial response (RFC 5034 §4); "=" is the empty one
            return await self._sasl_response(command.args[1].encode())
        self._sasl_pending = True
        return Reply("+ ")

    async def _sasl_response(self, line: bytes) -> Reply:
        if line.strip() == b"*":
            return err("authentication cancelled")  # RFC 5034 §4
        try:
            data = b"" if line.strip() == b"=" else base64.b64decode(line.strip(), validate=True)
            authzid, authcid, password = data.decode("utf-8").split("\0")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return err("invalid SASL PLAIN response")
        if authzid and authzid != authcid:
            return AUTH_FAILED  # no proxy authorization
        return await self._login(authcid, password)

    async def _login(self, user: str, password: str) -> Reply:
        auth = self.app.auth
        try:
            account = await auth.authenticate(user, password, client_ip=self.peer_ip, protocol="pop3")
        except AuthThrottled:
            await auth.delay_failure()
            return err("[SYS/TEMP] too many failed logins, try again later")
        except AuthFailed:
            await auth.delay_failure()
            return AUTH_FAILED
        try:
            box = await self.app.store.open(account.org_id, account.id)
            inbox = await box.folder_by_role("inbox")
            self._folder_id, self._uidvalidity = inbox.id, inbox.uidvalidity
            blob_ids: list[str] = []
            stored: list[int] = []
            del self._uids[:]  # a failed earlier attempt may have filled part of it
            async for item in box.iter_items(inbox.id):
                if item.kind == "message":
                    self._uids.append(item.uid)
                    blob_ids.append(item.blob_id)
                    stored.append(item.size)
            self._sizes.extend(await wire_sizes(self.app.store.blobs, blob_ids, stored))
        except NoSuchMailbox:
            return err("[SYS/PERM] this account has no mailbox")
        except StoreError as exc:
            log.warning("pop3: cannot open the maildrop of %s: %s", account.address, exc)
            return err("[SYS/TEMP] cannot open the maildrop")
        self._box = box
        self.state = State.TRANSACTION
        self.live.authenticated(account.address, account.org_id)
        log.info("pop3 login: user=%s ip=%s messages=%d", account.address, self.peer_ip, len(self._uids))
        count, size = self._totals()
        return ok(f"logged in, {count} messages ({size} octets)")

    # ----------------------------------------------------------- TRANSACTION

    def _totals(self) -> tuple[int, int]:
        live = [n for n in range(len(self._uids)) if n + 1 not in self._deleted]
        return len(live), sum(self._sizes[n] for n in live)

    def _message(self, arg: str | None) -> int | Reply:
        """A message number argument, checked (RFC 1939 §5: never a deleted message)."""
        if arg is None:
            return err("message number required")
        number = parse_number(arg)
        if number is None or not 1 <= number <= len(self._uids):
            return err("no such message")
        if number in self._deleted:
            return err(f"message {number} already deleted")
        return number

    async def _stat(self, command: Command) -> Reply:
        count, size = self._totals()
        return ok(f"{count} {size}")

    async def _list(self, command: Command) -> Reply:
        return await self._listing(command, lambda n: str(self._sizes[n - 1]))

    async def _uidl(self, command: Command) -> Reply:
        return await self._listing(command, lambda n: f"{self._uidvalidity}.{self._uids[n - 1]}")

    async def _listing(self, command: Command, value: Callable[[int], str]) -> Reply:
        if command.args:
            number = self._message(command.args[0])
            if isinstance(number, Reply):
                return number
            return ok(f"{number} {value(number)}")
        count, size = self._totals()
        return ok(f"{count} messages ({size} octets)", body=self._scan(value))

    async def _scan(self, value: Callable[[int], str]) -> AsyncIterator[bytes]:
        lines: list[str] = []
        for number in range(1, len(self._uids) + 1):
            if number not in self._deleted:
                lines.append(f"{number} {value(number)}\r\n")
                if len(lines) >= LIST_BATCH:
                    yield "".join(lines).encode()
                    lines.clear()
        yield ("".join(lines) + ".\r\n").encode()

    async def _retr(self, command: Command) -> Reply:
        number = self._message(command.args[0] if command.args else None)
        if isinstance(number, Reply):
            return number
        found = await self._blob(number)
        if isinstance(found, Reply):
            return found
        blob_id, first = found
        return ok(f"{self._sizes[number - 1]} octets", body=self._stream(blob_id, first))

    async def _blob(self, number: int) -> tuple[str, bytes] | Reply:
        """The blob of message ``number`` and its first chunk, or -ERR when it went away."""
        assert self._box is not None
        try:
            item = await self._box.item_by_uid(self._folder_id, self._uids[number - 1], with_structure=False)
            # Read the first chunk before saying +OK: a missing blob is still an -ERR.
            first = await self.app.store.blobs.read(item.blob_id, 0, CHUNK)
        except NoSuchItem:
            return err(f"message {number} was removed by another session")
        except (StoreError, OSError):
            log.warning("pop3: message %d unreadable", number, exc_info=True)
            return err("[SYS/TEMP] message cannot be read now")
        return item.blob_id, first

    async def _stream(self, blob_id: str, first: bytes) -> AsyncIterator[bytes]:
        encoder = MultilineEncoder()
        chunk, offset = first, 0
        while chunk:
            yield encoder.feed(chunk)
            offset += len(chunk)
            if len(chunk) < CHUNK:
                break
            chunk = await self.app.store.blobs.read(blob_id, offset, CHUNK)
        yield encoder.finish()

    async def _top(self, command: Command) -> Reply:
        if len(command.args) != 2:
            return err("usage: TOP message lines")
        number = self._message(command.args[0])
        if isinstance(number, Reply):
            return number
        lines = parse_number(command.args[1])
        if lines is None:
            return err("invalid line count")
        found = await self._blob(number)
        if isinstance(found, Reply):
            return found
        blob_id, source = found
        if len(source) == CHUNK:  # TOP is rare and its answer small: read the rest at once
            source += await self.app.store.blobs.read(blob_id, CHUNK, self._sizes[number - 1])
        return ok("top of message follows", body=_once(encode(top(source, lines))))

    async def _dele(self, command: Command) -> Reply:
        number = self._message(command.args[0] if command.args else None)
        if isinstance(number, Reply):
            return number
        self._deleted.add(number)
        return ok(f"message {number} deleted")

    async def _noop(self, command: Command) -> Reply:
        return ok()

    async def _rset(self, command: Command) -> Reply:
        self._deleted.clear()
        count, size = self._totals()
        return ok(f"maildrop has {count} messages ({size} octets)")

    async def _quit(self, command: Command) -> Reply:
        if self.state is not State.TRANSACTION:
            return ok("Kastell POP3 server signing off", close=True)
        self.state = State.UPDATE
        if not self._deleted:
            return ok("Kastell POP3 server signing off", close=True)
        assert self._box is not None
        uids = sorted(self._uids[n - 1] for n in self._deleted)
        try:
            # One store call, one transaction (RFC 1939 §6: all or, on -ERR, none).
            await self._box.expunge(self._folder_id, [(uid, uid) for uid in uids])
        except StoreError as exc:
            log.warning("pop3: UPDATE failed: %s", exc)
            return err("[SYS/TEMP] some deleted messages not removed", close=True)
        left = len(self._uids) - len(self._deleted)
        return ok(f"Kastell POP3 server signing off ({left} messages left)", close=True)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _static(lines: list[str]) -> AsyncIterator[bytes]:
    yield ("".join(f"{line}\r\n" for line in lines) + ".\r\n").encode()


Handler = Callable[[Session, Command], Awaitable[Reply]]

# Rule: which command is valid in which state lives here and nowhere else (RFC 1939 §§4-6).
COMMANDS: dict[State, dict[str, Handler]] = {
    State.AUTHORIZATION: {
        "CAPA": Session._capa,
        "STLS": Session._stls,
        "USER": Session._user_cmd,
        "PASS": Session._pass,
        "AUTH": Session._auth,
        "QUIT": Session._quit,
    },
    State.TRANSACTION: {
        "CAPA": Session._capa,
        "STAT": Session._stat,
        "LIST": Session._list,
        "UIDL": Session._uidl,
        "RETR": Session._retr,
        "TOP": Session._top,
        "DELE": Session._dele,
        "NOOP": Session._noop,
        "RSET": Session._rset,
        "QUIT": Session._quit,
    },
    State.UPDATE: {},
}
