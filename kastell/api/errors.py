"""One error body for every failure of the admin API: ``{"error": {"code", "message", "field"}}``.

``code`` is a stable machine word (``not_found``, ``invalid``, ``conflict``,
``unauthorised``, ``forbidden``, ``throttled``, ``in_use``); ``message`` is the
directory's one-line operator message; ``field`` names the request field at
fault (for 422) or is null. Directory errors are mapped here, in one table, so
that every route and the console agree on what a ``DomainInUse`` means.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from kastell.directory.errors import (
    AlreadyExists,
    AuthFailed,
    AuthThrottled,
    DirectoryError,
    DomainInUse,
    InvalidAddress,
    InvalidValue,
    NotFound,
)

# (class, HTTP status, code); the first match wins, so subclasses come first.
_DIRECTORY_ERRORS: tuple[tuple[type[DirectoryError], int, str], ...] = (
    (AuthThrottled, 429, "throttled"),
    (AuthFailed, 401, "unauthorised"),
    (NotFound, 404, "not_found"),
    (AlreadyExists, 409, "conflict"),
    (DomainInUse, 409, "in_use"),
    (InvalidAddress, 422, "invalid"),
    (InvalidValue, 422, "invalid"),
)
_HTTP_CODES = {400: "bad_request", 401: "unauthorised", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 415: "unsupported_media_type", 422: "invalid", 429: "throttled"}  # fmt: skip


class ApiError(Exception):
    """An error answer; raised by routes and ``actions``, rendered by ``error_response``."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    @classmethod
    def from_directory(cls, exc: DirectoryError, field: str | None = None) -> ApiError:
        for kind, status, code in _DIRECTORY_ERRORS:
            if isinstance(exc, kind):
                headers = {}
                if isinstance(exc, AuthThrottled):
                    headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
                return cls(status, code, str(exc), field if status == 422 else None, headers)
        return cls(400, "bad_request", str(exc), field)


@contextmanager
def field(name: str | None) -> Iterator[None]:
    """Run directory calls whose InvalidValue/InvalidAddress concerns the request field ``name``."""
    try:
        yield
    except DirectoryError as exc:
        raise ApiError.from_directory(exc, name) from exc


def forbidden(message: str = "this administrator may not do that") -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def error_body(code: str, message: str, field_name: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field_name}}


def error_response(exc: ApiError) -> Response:
    return JSONResponse(error_body(exc.code, exc.message, exc.field), status_code=exc.status, headers=exc.headers)


def _location(loc: Sequence[Any]) -> str | None:
    """pydantic's ``("body", "quota")`` → ``"quota"``; ``("query", "limit")`` → ``"limit"``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one error body."""

    async def api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def directory_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DirectoryError)
        return error_response(ApiError.from_directory(exc))

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        where = _location(first.get("loc", ()))
        message = str(first.get("msg", "invalid request"))
        if where:
            message = f"{where}: {message}"
        body = error_body("invalid", message, where)
        body["error"]["details"] = [
            {"field": _location(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors[:20]
        ]
        return JSONResponse(body, status_code=422)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=dict(exc.headers or {})
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(DirectoryError, directory_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
