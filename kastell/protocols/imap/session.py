"""The IMAP session: state machine and command table (RFC 9051 §3).

Theory of operation
-------------------
States are NOT_AUTHENTICATED → AUTHENTICATED ⇄ SELECTED → LOGOUT.  Rule: which
command may run in which state, and whether it may report expunges, lives in
:data:`COMMANDS` and nowhere else.  ``execute`` looks the command up, checks
the state, runs the handler, then (for a selected mailbox) sends the untagged
updates other sessions caused, then the tagged completion — so untagged data
always precedes the tagged response, as RFC 9051 §7 requires.

A session never touches a socket: it writes through :class:`Io`, which the
asyncio glue (server.py) implements and a test can fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kastell.config import parse_size
from kastell.ops.sessions import open_session
from kastell.protocols.imap.errors import Bad, ImapError
from kastell.protocols.imap.parser import Command, Parser
from kastell.protocols.imap.responses import tagged
from kastell.protocols.imap.selected import RecentFloors, Selected
from kastell.store.errors import StoreError

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.directory.records import Account
    from kastell.store.mailbox import Mailbox

log = logging.getLogger("kastell.imap")

NOT_AUTHENTICATED = "not-authenticated"
AUTHENTICATED = "authenticated"
SELECTED = "selected"
LOGOUT = "logout"

# Before login a client may not make us buffer more than this (RFC 9051 §11.8: DoS).
PRE_AUTH_LITERAL = 8 * 1024


class Io(Protocol):
    """What the glue provides: buffered writes, flow control, raw lines, TLS."""

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    async def read_line(self, wake: asyncio.Event | None = None) -> bytes | None:
        """The next raw line without CRLF, or None when ``wake`` fired first; the
        glue ends the connection (raises) on EOF or the inactivity timeout."""
        ...

    async def start_tls(self) -> None: ...

    def start_compress(self) -> None: ...

    @property
    def compressing(self) -> bool: ...

    @property
    def tls_active(self) -> bool: ...


Handler = Callable[["Session", Command], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    handler: Handler
    states: frozenset[str]
    # RFC 9051 §7.5.1: no EXPUNGE during FETCH, STORE, SEARCH (the non-UID forms).
    expunge_ok: bool = True


class Session:
    def __init__(
        self, app: Kastell, io: Io, parser: Parser, *, peer_ip: str | None, recent_floors: RecentFloors | None = None
    ) -> None:
        self.app = app
        self.io = io
        self.parser = parser
        self.peer_ip = peer_ip
        self.state = NOT_AUTHENTICATED
        self.account: Account | None = None
        self.mailbox: Mailbox | None = None
        self.selected: Selected | None = None
        self.enabled: set[str] = set()
        self.recent_floors: RecentFloors = recent_floors if recent_floors is not None else {}
        self.max_message = parse_size(app.settings.config.store.max_message_size)
        self.wake = asyncio.Event()  # set when the change bus reports our selected folder
        self._exit = contextlib.AsyncExitStack()
        self._watcher: asyncio.Task[None] | None = None
        # Change notices of another account's mailbox while one of its folders is selected.
        self._shared_watch: tuple[asyncio.Task[None], contextlib.AsyncExitStack] | None = None
        parser.max_literal = PRE_AUTH_LITERAL
        self.live = open_session(app, "imap", peer_ip)  # the admin's live view and the metrics

    # ------------------------------------------------------------------ output

    def send(self, data: bytes) -> None:
        self.io.write(data)

    @property
    def utf8(self) -> bool:
        """Mailbox names in UTF-8 (RFC 6855 UTF8=ACCEPT, or IMAP4rev2) rather than modified UTF-7."""
        return "UTF8=ACCEPT" in self.enabled or "IMAP4REV2" in self.enabled

    @property
    def rev2(self) -> bool:
        return "IMAP4REV2" in self.enabled

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self.enabled or "QRESYNC" in self.enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self.enabled

    def require_mailbox(self) -> Mailbox:
        """The mailbox holding the selected folder (another account's for a shared folder,
        see shared.py); the user's own when nothing is selected."""
        if self.selected is not None and self.selected.mailbox is not None:
            return self.selected.mailbox
        assert self.mailbox is not None
        return self.mailbox

    def require_selected(self) -> Selected:
        if self.selected is None:
            raise Bad("No mailbox selected")
        return self.selected

    # ------------------------------------------------------------------ lifecycle

    async def login(self, account: Account) -> None:
        """Enter AUTHENTICATED: open the mailbox and watch its change feed (for IDLE and updates)."""
        self.account = account
        self.mailbox = await self.app.store.open(account.org_id, account.id)
        self.state = AUTHENTICATED
        self.live.authenticated(account.address, account.org_id)
        self.parser.max_literal = self.max_message
        subscription = await self._exit.enter_async_context(self.app.events.subscribe(self.mailbox.id))

        async def watch() -> None:
            while True:
                change = await subscription.wait()
                if change is None:
                    continue
                selected = self.selected
                if selected is not None and selected.folder.id in change.folder_ids:
                    selected.dirty = True
                    self.wake.set()

        self._watcher = asyncio.create_task(watch(), name="imap-watch")

    async def set_selected(self, selected: Selected | None) -> None:
        """Select (or, with None, unselect) a folder; a folder of another account's mailbox
        is watched on that mailbox's change feed while it stays selected."""
        await self._unwatch_shared()
        self.selected = selected
        if selected is None or selected.mailbox is None or self.mailbox is None:
            return
        if selected.mailbox.id == self.mailbox.id:
            return
        stack = contextlib.AsyncExitStack()
        subscription = await stack.enter_async_context(self.app.events.subscribe(selected.mailbox.id))
        selected.dirty = True  # whatever changed before the subscription, the next sync sees

        async def watch() -> None:
            while True:
                change = await subscription.wait()
                if change is not None and self.selected is selected and selected.folder.id in change.folder_ids:
                    selected.dirty = True
                    self.wake.set()

        self._shared_watch = (asyncio.create_task(watch(), name="imap-watch-shared"), stack)

    async def _unwatch_shared(self) -> None:
        if self._shared_watch is None:
            return
        task, stack = self._shared_watch
        self._shared_watch = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stack.aclose()

    async def close(self) -> None:
        self.live.close()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._unwatch_shared()
        await self._exit.aclose()

    async def updates(self, *, allow_expunge: bool = True) -> None:
        """Send the untagged updates other sessions caused (RFC 9051 §5.2)."""
        if self.selected is None or self.mailbox is None:
            return
        self.wake.clear()
        for line in await self.selected.sync(
            self.require_mailbox(), allow_expunge, self.qresync, self.condstore, self.rev2
        ):
            self.send(line)

    # ------------------------------------------------------------------ commands

    async def execute(self, command: Command) -> None:
        started = time.perf_counter()
        status = await self._execute(command)
        name = command.name if command.name in COMMANDS else "other"
        self.live.command(name, status, time.perf_counter() - started)

    async def _execute(self, command: Command) -> str:
        """Run one command; the status of its completion (ok, no, bad) for the metrics."""
        spec = COMMANDS.get(command.name)
        if spec is None:
            self.send(tagged(command.tag, "BAD", f"Unknown command {command.name[:40]}"))
            return "bad"
        if self.state not in spec.states:
            self.send(tagged(command.tag, "BAD", f"{command.name} not allowed now"))
            return "bad"
        try:
            text = await spec.handler(self, command)
        except ImapError as exc:
            await self._after(spec)
            self.send(tagged(command.tag, exc.status, exc.text, exc.code))
            return exc.status.lower()
        except StoreError as exc:
            await self._after(spec)
            self.send(tagged(command.tag, "NO", str(exc)))
            return "no"
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("IMAP %s failed", command.name)
            self.send(tagged(command.tag, "NO", "[SERVERBUG] Internal error"))
            return "error"
        if not text:
            return "ok"
        if self.state == LOGOUT:
            self.send(tagged(command.tag, "OK", text))
            return "ok"
        await self._after(spec)
        code, _, rest = text.partition("] ") if text.startswith("[") else ("", "", text)
        self.send(tagged(command.tag, "OK", rest, code[1:] if code else None))
        return "ok"

    async def execute_appends(self, commands: list[Command]) -> None:
        """Several pipelined APPENDs at once (see commands/append.py ``handle_appends``)."""
        from kastell.protocols.imap.commands.append import handle_appends

        if len(commands) == 1 or self.state not in (AUTHENTICATED, SELECTED):
            for command in commands:
                await self.execute(command)
            return
        try:
            results = await handle_appends(self, commands)
        except StoreError as exc:
            results = [("", ImapError(str(exc)))] * len(commands)
        await self._after(COMMANDS["APPEND"])
        for command, (text, error) in zip(commands, results, strict=True):
            self.live.command("APPEND", "ok" if error is None else error.status.lower())
            if error is not None:
                self.send(tagged(command.tag, error.status, error.text, error.code))
            else:
                code, _, rest = text.partition("] ")
                self.send(tagged(command.tag, "OK", rest, code[1:]))

    async def _after(self, spec: CommandSpec) -> None:
        if self.selected is not None:
            await self.updates(allow_expunge=spec.expunge_ok)


def _table() -> dict[str, CommandSpec]:
    from kastell.protocols.imap.commands import (
        acl,
        append,
        auth,
        fetch,
        idle,
        mailboxes,
        metadata,
        quota,
        search,
        select,
        store,
    )

    any_state = frozenset({NOT_AUTHENTICATED, AUTHENTICATED, SELECTED})
    pre = frozenset({NOT_AUTHENTICATED})
    authed = frozenset({AUTHENTICATED, SELECTED})
    sel = frozenset({SELECTED})
    return {
        "CAPABILITY": CommandSpec(auth.handle_capability, any_state),
        "NOOP": CommandSpec(auth.handle_noop, any_state),
        "LOGOUT": CommandSpec(auth.handle_logout, any_state),
        "ID": CommandSpec(auth.handle_id, any_state),
        "STARTTLS": CommandSpec(auth.handle_starttls, pre),
        "LOGIN": CommandSpec(auth.handle_login, pre),
        "AUTHENTICATE": CommandSpec(auth.handle_authenticate, pre),
        "ENABLE": CommandSpec(auth.handle_enable, authed),
        "COMPRESS": CommandSpec(auth.handle_compress, authed),
        "NAMESPACE": CommandSpec(auth.handle_namespace, authed),
        "SELECT": CommandSpec(select.handle_select, authed),
        "EXAMINE": CommandSpec(select.handle_select, authed),
        "CREATE": CommandSpec(mailboxes.handle_create, authed),
        "DELETE": CommandSpec(mailboxes.handle_delete, authed),
        "RENAME": CommandSpec(mailboxes.handle_rename, authed),
        "SUBSCRIBE": CommandSpec(mailboxes.handle_subscribe, authed),
        "UNSUBSCRIBE": CommandSpec(mailboxes.handle_subscribe, authed),
        "LIST": CommandSpec(mailboxes.handle_list, authed),
        "LSUB": CommandSpec(mailboxes.handle_list, authed),
        "STATUS": CommandSpec(mailboxes.handle_status, authed),
        "APPEND": CommandSpec(append.handle_append, authed),
        "IDLE": CommandSpec(idle.handle_idle, authed),
        "GETQUOTA": CommandSpec(quota.handle_getquota, authed),
        "GETQUOTAROOT": CommandSpec(quota.handle_getquotaroot, authed),
        "SETQUOTA": CommandSpec(quota.handle_setquota, authed),
        "SETACL": CommandSpec(acl.handle_setacl, authed),
        "DELETEACL": CommandSpec(acl.handle_deleteacl, authed),
        "GETACL": CommandSpec(acl.handle_getacl, authed),
        "LISTRIGHTS": CommandSpec(acl.handle_listrights, authed),
        "MYRIGHTS": CommandSpec(acl.handle_myrights, authed),
        "GETMETADATA": CommandSpec(metadata.handle_getmetadata, authed),
        "SETMETADATA": CommandSpec(metadata.handle_setmetadata, authed),
        "CHECK": CommandSpec(auth.handle_noop, sel),
        "CLOSE": CommandSpec(select.handle_close, sel),
        "UNSELECT": CommandSpec(select.handle_close, sel),
        "EXPUNGE": CommandSpec(select.handle_expunge, sel),
        "UID EXPUNGE": CommandSpec(select.handle_expunge, sel),
        # On a shared folder the rights decide (RFC 4314 §4): acl.py guards FETCH's implicit
        # \Seen and STORE's flags, and copies between mailboxes itself.
        "FETCH": CommandSpec(acl.guard_fetch(fetch.handle_fetch), sel, expunge_ok=False),
        "UID FETCH": CommandSpec(acl.guard_fetch(fetch.handle_fetch), sel),
        "STORE": CommandSpec(acl.guard_store(store.handle_store), sel, expunge_ok=False),
        "UID STORE": CommandSpec(acl.guard_store(store.handle_store), sel),
        "COPY": CommandSpec(acl.guard_copy(store.handle_copy), sel),
        "UID COPY": CommandSpec(acl.guard_copy(store.handle_copy), sel),
        "MOVE": CommandSpec(acl.guard_copy(store.handle_copy), sel),
        "UID MOVE": CommandSpec(acl.guard_copy(store.handle_copy), sel),
        "SEARCH": CommandSpec(search.handle_search, sel, expunge_ok=False),
        "UID SEARCH": CommandSpec(search.handle_search, sel),
        "SORT": CommandSpec(search.handle_sort, sel, expunge_ok=False),
        "UID SORT": CommandSpec(search.handle_sort, sel),
        "THREAD": CommandSpec(search.handle_thread, sel, expunge_ok=False),
        "UID THREAD": CommandSpec(search.handle_thread, sel),
    }


COMMANDS: dict[str, CommandSpec] = {}


def _install() -> None:
    COMMANDS.update(_table())


_install()
