"""Write locks (RFC 4918 §6, §7) and the If header (§10.4).

Locks live in memory, in the one server process: they are advisory leases with a
timeout (at most an hour), and a restart simply ends them — clients re-lock. When
several processes serve one database this table must move to the store; until
then each process enforces its own locks (docs/dav.md).

Resources are keyed by their decoded path below /dav without a trailing slash, so
that ``/a%20b/`` and ``/a b`` are the same resource.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from kastell.protocols.dav.errors import DavError

MAX_TIMEOUT = 3600
_TOKEN = re.compile(r"<([^>]*)>|\[([^\]]*)\]|(Not)|(\()|(\))", re.IGNORECASE)


def key(segments: list[str]) -> str:
    return "/" + "/".join(segments)


@dataclass
class Lock:
    token: str
    root: str  # key() of the lock root
    depth: str  # "0" | "infinity"
    scope: str  # "exclusive" | "shared"
    owner: str | None  # the owner element as XML, echoed back
    principal: str
    timeout: int
    expires: float

    def covers(self, path: str) -> bool:
        return path == self.root or (self.depth == "infinity" and path.startswith(self.root.rstrip("/") + "/"))


class LockTable:
    def __init__(self) -> None:
        self._locks: dict[str, Lock] = {}

    def _prune(self) -> None:
        now = time.monotonic()
        for token in [t for t, lk in self._locks.items() if lk.expires < now]:
            del self._locks[token]

    def covering(self, path: str) -> list[Lock]:
        self._prune()
        return [lk for lk in self._locks.values() if lk.covers(path)]

    def below(self, path: str) -> list[Lock]:
        """Locks rooted at ``path`` or inside it (what a DELETE/MOVE of a collection touches)."""
        self._prune()
        prefix = path.rstrip("/") + "/"
        return [lk for lk in self._locks.values() if lk.root == path or lk.root.startswith(prefix)]

    def get(self, token: str) -> Lock | None:
        self._prune()
        return self._locks.get(token)

    def create(self, path: str, depth: str, scope: str, owner: str | None, principal: str, timeout: int) -> Lock:
        conflicts = self.covering(path) + (self.below(path) if depth == "infinity" else [])
        if any(lk.scope == "exclusive" or scope == "exclusive" for lk in conflicts):
            raise DavError(423, "{DAV:}no-conflicting-lock", "the resource is locked")
        lk = Lock(f"urn:uuid:{uuid.uuid4()}", path, depth, scope, owner, principal, timeout, 0.0)
        self.refresh(lk, timeout)
        self._locks[lk.token] = lk
        return lk

    def refresh(self, lk: Lock, timeout: int) -> None:
        lk.timeout = timeout
        lk.expires = time.monotonic() + timeout

    def remove(self, token: str) -> None:
        self._locks.pop(token, None)

    def forget_below(self, path: str) -> None:
        """A deleted or moved-away resource takes its locks with it (RFC 4918 §7.7)."""
        for lk in self.below(path):
            self.remove(lk.token)


def parse_timeout(header: str | None) -> int:
    """``Second-600, Infinite`` → seconds, capped (RFC 4918 §10.7)."""
    for part in (header or "").split(","):
        part = part.strip()
        if part.lower().startswith("second-") and part[7:].isdigit():
            return max(1, min(int(part[7:]), MAX_TIMEOUT))
        if part.lower() == "infinite":
            return MAX_TIMEOUT
    return 600


@dataclass
class Condition:
    negate: bool
    token: str | None  # a state token (lock token or any URI)
    etag: str | None


@dataclass
class TaggedList:
    resource: str | None  # key() of the tagged resource, None for the request URI
    conditions: list[Condition]


def parse_if(header: str, base: str) -> list[TaggedList]:
    """The If header as lists of conditions (RFC 4918 §10.4.2); 400 when malformed."""
    lists: list[TaggedList] = []
    tag: str | None = None
    current: list[Condition] | None = None
    negate = False
    pos = 0
    text = header.strip()
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            raise DavError(400, None, "malformed If header")
        pos = m.end()
        coded, etag, not_, open_, close = m.groups()
        if open_:
            if current is not None:
                raise DavError(400, None, "malformed If header")
            current = []
        elif close:
            if current is None or not current:
                raise DavError(400, None, "malformed If header")
            lists.append(TaggedList(tag, current))
            current = None
        elif not_:
            negate = True
        elif coded is not None and current is None:
            path = urlsplit(coded).path
            if not path.startswith(base):
                raise DavError(400, None, "If header names a resource outside /dav")
            from kastell.protocols.dav.resources import split

            tag = key(split(path[len(base) :]))
        elif current is not None:
            current.append(Condition(negate, coded, etag))
            negate = False
        else:
            raise DavError(400, None, "malformed If header")
    if current is not None or not lists:
        raise DavError(400, None, "malformed If header")
    return lists


def _same_etag(a: str, b: str) -> bool:
    return a.removeprefix("W/") == b.removeprefix("W/")


def evaluate(lists: list[TaggedList], table: LockTable, request: str, etag: str | None) -> tuple[bool, set[str]]:
    """(the If header holds, the lock tokens it submits) — RFC 4918 §10.4.3.

    A state token matches when it is a current lock covering the (tagged) resource;
    an entity tag only for the request resource (a tagged resource's ETag is not read).
    """
    holds = False
    submitted: set[str] = set()
    for tl in lists:
        path = tl.resource or request
        current = {lk.token for lk in table.covering(path)}
        result = True
        for cond in tl.conditions:
            if cond.token is not None:
                hit = cond.token in current
                if not cond.negate:
                    submitted.add(cond.token)
            else:
                hit = etag is not None and path == request and _same_etag(cond.etag or "", etag)
            result = result and (hit != cond.negate)
        holds = holds or result
    return holds, submitted


def require(locks: list[Lock], submitted: set[str]) -> None:
    """423 unless the request submitted the token of every exclusive lock in ``locks``
    and of at least one of the shared ones (RFC 4918 §7.4)."""
    shared = [lk for lk in locks if lk.scope == "shared"]
    missing = [lk for lk in locks if lk.scope == "exclusive" and lk.token not in submitted]
    if shared and not any(lk.token in submitted for lk in shared):
        missing.append(shared[0])
    if missing:
        raise DavError(423, "{DAV:}lock-token-submitted", "the resource is locked")
