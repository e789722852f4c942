"""WebDAV errors: an HTTP status plus, when the RFC names one, a precondition element.

Handlers raise ``DavError``; ``app.py`` turns it into the response, with a
``<D:error>`` body holding the precondition (RFC 4918 §16) when there is one.
"""

from __future__ import annotations


class DavError(Exception):
    """``status`` for the response; ``condition`` a Clark name like ``{DAV:}valid-sync-token``."""

    def __init__(self, status: int, condition: str | None = None, message: str = "") -> None:
        super().__init__(message or condition or str(status))
        self.status = status
        self.condition = condition
        self.message = message


def bad_request(message: str) -> DavError:
    return DavError(400, None, message)


def forbidden(condition: str | None = None, message: str = "") -> DavError:
    return DavError(403, condition, message)


def not_found(message: str = "not found") -> DavError:
    return DavError(404, None, message)
