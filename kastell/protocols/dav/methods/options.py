"""OPTIONS (RFC 4918 §10.1, RFC 4791 §5.1, RFC 6352 §6.1): what this server speaks."""

from __future__ import annotations

from starlette.responses import Response

ALLOW = (
    "OPTIONS, GET, HEAD, POST, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, COPY, MOVE, REPORT, LOCK, UNLOCK"
)
DAV_HEADER = "1, 2, 3, access-control, calendar-access, calendar-auto-schedule, addressbook, extended-mkcol, calendarserver-sharing"


def response() -> Response:
    return Response(b"", 200, headers={"Allow": ALLOW, "DAV": DAV_HEADER, "MS-Author-Via": "DAV"})
