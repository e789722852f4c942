"""The DAV ASGI application: authenticate, read the body, dispatch by method, map errors.

Handlers never see a failed login or an unexpected exception: a DavError becomes
its status with a ``<D:error>`` body, a store error its WebDAV equivalent, and
anything else a logged 500 with a generic body (no traceback to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kastell.app import Kastell
from kastell.listeners import plaintext_auth_allowed
from kastell.protocols.dav import auth, locks, props, resources
from kastell.protocols.dav import sharing as _sharing  # noqa: F401  (registers properties)
from kastell.protocols.dav.caldav import props as _caldav_props  # noqa: F401  (registers properties)
from kastell.protocols.dav.caldav import scheduling
from kastell.protocols.dav.carddav import props as _carddav_props  # noqa: F401
from kastell.protocols.dav.context import BASE, Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods import copymove, delete, get, lock, mkcol, options, propfind, proppatch, put, report
from kastell.protocols.dav.xml import error_body
from kastell.store.errors import (
    FolderExists,
    ItemTooLarge,
    NoSuchFolder,
    NoSuchItem,
    NoSuchMailbox,
    QuotaExceeded,
    SpecialFolder,
)
from kastell.store.mailbox import Mailbox

log = logging.getLogger("kastell.dav")

Handler = Callable[[Context, list[str]], Awaitable[Response]]

METHODS: dict[str, Handler] = {
    "PROPFIND": propfind.handle,
    "PROPPATCH": proppatch.handle,
    "GET": get.handle,
    "HEAD": get.handle,
    "PUT": put.handle,
    "DELETE": delete.handle,
    "MKCOL": mkcol.handle,
    "MKCALENDAR": mkcol.handle,
    "COPY": copymove.handle,
    "MOVE": copymove.handle,
    "REPORT": report.handle,
    "LOCK": lock.handle_lock,
    "UNLOCK": lock.handle_unlock,
    "POST": scheduling.handle_post,
}
MAX_BODY = 64 * 1024 * 1024 + 1024
_WRITES = {"PUT", "DELETE", "PROPPATCH", "MKCOL", "MKCALENDAR", "MOVE", "COPY"}

_STORE_ERRORS: list[tuple[type[Exception], int, str | None]] = [
    (QuotaExceeded, 507, "{DAV:}quota-not-exceeded"),
    (ItemTooLarge, 413, None),
    (NoSuchFolder, 404, None),
    (NoSuchItem, 404, None),
    (FolderExists, 405, None),
    (SpecialFolder, 403, None),
]


def error_response(exc: DavError) -> Response:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = auth.REALM
    if exc.status == 304:
        return Response(b"", 304)
    return Response(
        error_body(exc.condition, exc.message), exc.status, headers=headers, media_type="application/xml; charset=utf-8"
    )


class DavApp:
    """Mounted at /dav by kastell.web.app."""

    def __init__(self, kastell: Kastell) -> None:
        self.kastell = kastell
        self.credentials = auth.CredentialCache()
        self._mailboxes: dict[tuple[int, int], Mailbox] = {}
        self.locks = locks.LockTable()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def mailbox(self, org_id: int, account_id: int) -> Mailbox:
        key = (org_id, account_id)
        box = self._mailboxes.get(key)
        if box is None:
            box = await self.kastell.store.open(org_id, account_id)
            if len(self._mailboxes) > 10000:
                self._mailboxes.clear()
            self._mailboxes[key] = box
        return box

    def relative_segments(self, scope: Scope) -> list[str]:
        raw = scope.get("raw_path") or scope["path"].encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        # Mount keeps the full path; strip our mount point whichever way it was set.
        index = path.find("/dav")
        path = path[index + 4 :] if index >= 0 else path
        return resources.split(path)

    async def handle(self, request: Request) -> Response:
        method = request.method.upper()
        try:
            if method == "OPTIONS":
                return options.response()
            handler = METHODS.get(method)
            if handler is None:
                return Response(b"", 405, headers={"Allow": options.ALLOW})
            client_ip = request.client.host if request.client else None
            if not plaintext_auth_allowed(self.kastell, client_ip, request.url.scheme == "https"):
                raise DavError(403, None, "HTTP Basic is only accepted over TLS")
            account = await auth.authenticate(
                self.kastell, self.credentials, request.headers.get("authorization"), client_ip
            )
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > MAX_BODY:
                raise DavError(413, None, "request body too large")
            body = await self._read(request)
            mailbox = await self.mailbox(account.org_id, account.id)
            ctx = Context(self.kastell, account, mailbox, request, body, locks=self.locks)
            segments = self.relative_segments(request.scope)
            await self.check_locks(ctx, method, segments)
            response = await handler(ctx, segments)
            if method in ("DELETE", "MOVE") and response.status_code < 300:
                self.locks.forget_below(locks.key(segments))
            return response
        except DavError as exc:
            return error_response(exc)
        except ClientDisconnect:
            return Response(b"", 400)
        except Exception as exc:
            for kind, status, condition in _STORE_ERRORS:
                if isinstance(exc, kind):
                    return error_response(DavError(status, condition, str(exc)))
            if isinstance(exc, NoSuchMailbox):
                return error_response(DavError(403, None, "no mailbox"))
            log.exception("DAV %s %s failed", method, request.url.path)
            return error_response(DavError(500, None, "internal error"))

    async def check_locks(self, ctx: Context, method: str, segments: list[str]) -> None:
        """The If header (412 when it does not hold) and write locks (423) — RFC 4918 §10.4, §7."""
        path = locks.key(segments)
        header = ctx.request.headers.get("if")
        if header:
            lists = locks.parse_if(header, BASE)
            etag = None
            if "[" in header:
                try:
                    etag = props.etag(await resources.resolve(ctx, segments))
                except DavError:
                    etag = None
            holds, ctx.submitted = locks.evaluate(lists, self.locks, path, etag)
            if not holds:
                raise DavError(412, None, "the If header does not hold")
        if method not in _WRITES:
            return
        # COPY only reads its source: the source's locks do not matter (§9.8).
        touched = [] if method == "COPY" else self.locks.covering(path)
        parent = locks.key(segments[:-1])
        if method in ("PUT", "MKCOL", "MKCALENDAR", "DELETE", "MOVE"):
            # Adding or removing a member changes the parent collection too (§7.4).
            touched += [lk for lk in self.locks.covering(parent) if lk not in touched]
        if method in ("DELETE", "MOVE"):
            touched += [lk for lk in self.locks.below(path) if lk not in touched]
        if method in ("MOVE", "COPY"):
            try:
                from kastell.protocols.dav.methods.copymove import destination

                dest = locks.key(destination(ctx))
            except DavError:
                dest = None
            if dest is not None:
                touched += [lk for lk in self.locks.covering(dest) + self.locks.below(dest) if lk not in touched]
                dest_parent = dest.rsplit("/", 1)[0] or "/"
                touched += [lk for lk in self.locks.covering(dest_parent) if lk not in touched]
        locks.require(touched, ctx.submitted)

    async def _read(self, request: Request) -> bytes:
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise DavError(413, None, "request body too large")
            chunks.append(chunk)
        return b"".join(chunks)


