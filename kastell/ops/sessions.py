"""Live protocol sessions: who is connected, over which protocol, from where, since when.

Theory of operation
-------------------
A protocol session calls :func:`open_session` when its client connects and
gets a :class:`LiveSession` handle; it reports the login
(:meth:`LiveSession.authenticated`), each command (:meth:`LiveSession.command`)
and the end (:meth:`LiveSession.close`, idempotent, usable as a task's done
callback). The handle feeds two things from the same events: this process's
:class:`SessionRegistry`, which the admin API and console read, and the
Prometheus metrics (``kastell_connections{protocol}``,
``kastell_connections_accepted_total``, ``kastell_commands_total{protocol,
command,status}``, ``kastell_command_seconds``), so that the live view and the
metrics cannot disagree.

Every event is O(1): a dict insert or delete and a few attribute writes. The
registry is bounded (``limit`` sessions); connections beyond it are counted in
the metrics and in ``untracked`` but not listed, so a connection flood cannot
grow memory here. Nothing in this module imports a protocol package: protocols
call in, never the other way round.

The registry lives in the process: with several Kastell processes on one
database each lists its own connections.
"""

from __future__ import annotations

import itertools
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from kastell.ops import metrics

LIMIT = 50_000  # sessions listed per process; far above what one process serves


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A snapshot of one session, for the API and console."""

    id: int
    protocol: str
    client: str
    started: float
    last_command: float | None
    command: str | None
    commands: int
    user: str | None
    org_id: int | None
    domain: str | None


@dataclass(slots=True, eq=False)
class LiveSession:
    """One open session; the protocol keeps it and reports to it (see the module docstring)."""

    protocol: str
    client: str
    id: int = 0
    started: float = field(default_factory=time.time)
    last_command: float | None = None
    last_verb: str | None = None
    commands: int = 0
    user: str | None = None
    org_id: int | None = None
    _registry: SessionRegistry | None = None  # None once closed
    _listed: bool = False  # False when the registry was full

    def authenticated(self, user: str, org_id: int | None) -> None:
        """The client logged in as ``user`` (a primary address) of organisation ``org_id``."""
        self.user = user
        self.org_id = org_id

    def command(self, name: str, status: str, seconds: float | None = None) -> None:
        """One command handled; ``name`` from the protocol's fixed verb set, ``status`` ok/no/bad/error."""
        self.last_command = time.time()
        self.last_verb = name
        self.commands += 1
        metrics.command(self.protocol, name, status, seconds)
        if name == "DATA" and status == "ok":  # the SMTP family: a message accepted
            metrics.message_received(self.protocol)

    def close(self, *_ignored: Any) -> None:
        """The connection ended; harmless to call again (also a done callback: ignores its argument)."""
        registry, self._registry = self._registry, None
        if registry is None:
            return
        metrics.connection_closed(self.protocol)
        registry._remove(self)

    def info(self) -> SessionInfo:
        domain = self.user.rpartition("@")[2] if self.user and "@" in self.user else None
        return SessionInfo(
            self.id,
            self.protocol,
            self.client,
            self.started,
            self.last_command,
            self.last_verb,
            self.commands,
            self.user,
            self.org_id,
            domain,
        )


class SessionRegistry:
    """The open sessions of one Kastell core, by id."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.untracked = 0  # open sessions not listed because the registry was full
        self._sessions: dict[int, LiveSession] = {}
        self._ids = itertools.count(1)

    def open(self, protocol: str, client: str | None) -> LiveSession:
        session = LiveSession(protocol, client or "", id=next(self._ids), _registry=self)
        metrics.connection_opened(protocol)
        if len(self._sessions) < self.limit:
            session._listed = True
            self._sessions[session.id] = session
        else:
            self.untracked += 1
        return session

    def _remove(self, session: LiveSession) -> None:
        if session._listed:
            del self._sessions[session.id]
        else:
            self.untracked -= 1

    def __len__(self) -> int:
        return len(self._sessions)

    def snapshot(self) -> list[SessionInfo]:
        """Every listed session, oldest first."""
        return [s.info() for s in list(self._sessions.values())]

    def counts(self) -> dict[str, int]:
        """Open listed sessions per protocol."""
        found: dict[str, int] = {}
        for s in list(self._sessions.values()):
            found[s.protocol] = found.get(s.protocol, 0) + 1
        return found


_REGISTRIES: weakref.WeakKeyDictionary[Any, SessionRegistry] = weakref.WeakKeyDictionary()
_SHARED = SessionRegistry()


def registry(app: Any) -> SessionRegistry:
    """The registry of the Kastell core ``app`` (made on first use)."""
    try:
        found = _REGISTRIES.get(app)
        if found is None:
            found = _REGISTRIES[app] = SessionRegistry()
    except TypeError:  # a stand-in app of a test that cannot be weakly referenced
        return _SHARED
    return found


def open_session(app: Any, protocol: str, client: str | None) -> LiveSession:
    """Register a new connection of ``protocol`` from ``client`` with ``app``'s registry."""
    return registry(app).open(protocol, client)


__all__ = ["LIMIT", "LiveSession", "SessionInfo", "SessionRegistry", "open_session", "registry"]
