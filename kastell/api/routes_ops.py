"""Routes of what the server is doing now: the outbound mail queue and the live protocol sessions.

Scope as everywhere: a system admin sees the whole queue; an organisation or
domain admin only the messages sent from its domains (the null sender's DSNs
belong to nobody but the system admin). The operations are those of
``kastell queue`` (``kastell.mail.queue.Queue``), through ``Actions``.
Live sessions (``kastell.ops.sessions``) are scoped alike, by the logged-in
user's domain; connections that have not logged in are the system admin's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from kastell.api.models import Page, QueuedMessageOut, QueueRetried, SessionOut
from kastell.api.routes_directory import Act, Limit, Offset, listing

router = APIRouter()
MessageId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/queue", response_model=Page[QueuedMessageOut], tags=["mail queue"])
async def list_queue(
    act: Act,
    limit: Limit = 100,
    offset: Offset = 0,
    q: str | None = Query(None, max_length=320, description="substring of the sender or a recipient"),
    status: str | None = Query(None, max_length=12, description="only messages with a recipient in this state"),
    sort: str | None = Query(None, max_length=40, description="id, created, size or next_attempt; prefix - to reverse"),
) -> Page[QueuedMessageOut]:
    """Queued messages, oldest first, with every recipient's state and last error."""
    needle = q.lower() if q else None
    messages = [
        m
        for m in await act.list_queue()
        if (needle is None or needle in m.sender.lower() or any(needle in r.recipient.lower() for r in m.recipients))
        and (status is None or any(r.status == status for r in m.recipients))
    ]
    far = 2**62  # messages with nothing pending sort last by next attempt
    return listing(
        messages,
        QueuedMessageOut.of,
        limit=limit,
        offset=offset,
        sort=sort,
        sortable={
            "id": lambda m: m.id,
            "created": lambda m: m.created,
            "size": lambda m: m.size,
            "next_attempt": lambda m: min((r.next_attempt for r in m.recipients if r.status == "pending"), default=far),
        },
    )


@router.post("/queue/flush", response_model=QueueRetried, tags=["mail queue"])
async def flush_queue(act: Act) -> QueueRetried:
    """Retry every pending recipient (of the messages in scope) now."""
    return QueueRetried(recipients=await act.flush_queue())


@router.get("/queue/{message_id}", response_model=QueuedMessageOut, tags=["mail queue"])
async def get_queued(act: Act, message_id: MessageId) -> QueuedMessageOut:
    return QueuedMessageOut.of(await act.get_queued(message_id))


@router.post("/queue/{message_id}/retry", response_model=QueueRetried, tags=["mail queue"])
async def retry_queued(act: Act, message_id: MessageId) -> QueueRetried:
    """Make the message's pending recipients due now; the queue runner picks them up at once."""
    return QueueRetried(recipients=await act.retry_queued(message_id))


@router.delete("/queue/{message_id}", status_code=204, response_class=Response, tags=["mail queue"])
async def delete_queued(act: Act, message_id: MessageId) -> Response:
    """Remove the message from the queue without a bounce."""
    await act.delete_queued(message_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- live sessions


@router.get("/sessions", response_model=Page[SessionOut], tags=["live status"])
async def list_sessions(
    act: Act,
    limit: Limit = 100,
    offset: Offset = 0,
    protocol: str | None = Query(None, max_length=16, description="only this protocol"),
    q: str | None = Query(None, max_length=320, description="substring of the user or the client address"),
    sort: str | None = Query(None, max_length=40, description="started, last_command, user or protocol; - reverses"),
) -> Page[SessionOut]:
    """Open IMAP, POP3 and SMTP-family sessions of this server process, oldest first."""
    needle = q.lower() if q else None
    sessions = [
        s
        for s in await act.list_sessions()
        if (protocol is None or s.protocol == protocol)
        and (needle is None or needle in (s.user or "") or needle in s.client)
    ]
    return listing(
        sessions,
        SessionOut.of,
        limit=limit,
        offset=offset,
        sort=sort,
        sortable={
            "started": lambda s: s.started,
            "last_command": lambda s: s.last_command or 0.0,
            "user": lambda s: s.user or "",
            "protocol": lambda s: s.protocol,
        },
    )
