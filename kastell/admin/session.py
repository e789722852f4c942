"""The console's login session and CSRF protection.

Theory of operation. The session is a cookie signed with a key kept in the
data directory (``admin-session.key``, mode 0600, made on first use): the
server keeps no session table, and a restart keeps administrators logged in.
The cookie holds the admin's name, a per-session CSRF token and the login
time; it is HttpOnly (scripts cannot read it), SameSite=Strict (no other site
can make the browser send it), Secure when served over HTTPS, and scoped to
``/admin``. It expires after ``MAX_AGE`` seconds.

Every state-changing request (POST) must carry the session's CSRF token, as
the form field ``csrf`` or the ``X-CSRF-Token`` header (htmx sends it from
``hx-headers``). SameSite=Strict already stops cross-site posts in current
browsers; the token also covers older browsers and same-site attackers (a
hostile page on a sibling subdomain). The login form, which has no session
yet, uses a double-submit token: a random value in a short-lived cookie that
the form must repeat.

Each request re-reads the administrator from the directory, so deleting an
admin or changing its role takes effect at once, not at cookie expiry.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from kastell import keys

COOKIE = "kastell_admin"
PATH = "/admin"
MAX_AGE = 8 * 3600  # a working day; then log in again
LOGIN_MAX_AGE = 3600
KEY_FILE = "admin-session.key"


@dataclass(frozen=True, slots=True)
class Session:
    admin: str
    csrf: str


def load_key(data_dir: Path) -> bytes:
    """The signing key (``DATA/admin-session.key``), shared by every process on this data directory."""
    return keys.load_key(data_dir, KEY_FILE)


class Sessions:
    """Signed-cookie sessions under ``path``; the console's, or (other cookie, path, salt) self-service's."""

    def __init__(
        self, key: bytes, *, cookie: str = COOKIE, path: str = PATH, salt: str = "kastell-admin-session"
    ) -> None:
        self._signer = URLSafeTimedSerializer(key, salt=salt)
        self.cookie = cookie
        self.login_cookie = cookie + "_login"
        self.path = path

    def read(self, request: Request) -> Session | None:
        raw = request.cookies.get(self.cookie)
        if not raw:
            return None
        try:
            data = self._signer.loads(raw, max_age=MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("a"), str) or not isinstance(data.get("c"), str):
            return None
        return Session(admin=data["a"], csrf=data["c"])

    def start(self, request: Request, response: Response, who: str) -> None:
        value = self._signer.dumps({"a": who, "c": secrets.token_urlsafe(24)})
        self._set(request, response, self.cookie, value, MAX_AGE)
        response.delete_cookie(self.login_cookie, path=self.path)

    def end(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)

    def login_token(self, request: Request) -> str:
        """The double-submit token of the login form (the browser's, if it has a sane one)."""
        token = request.cookies.get(self.login_cookie)
        if not token or len(token) > 100:
            token = secrets.token_urlsafe(24)
        return token

    def set_login_token(self, request: Request, response: Response, token: str) -> None:
        self._set(request, response, self.login_cookie, token, LOGIN_MAX_AGE)

    def check_login_token(self, request: Request, submitted: str) -> bool:
        expected = request.cookies.get(self.login_cookie, "")
        return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())

    def _set(self, request: Request, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=self.path,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )


def check_csrf(session: Session, request: Request, submitted: str | None) -> bool:
    token = submitted or request.headers.get("x-csrf-token") or ""
    return hmac.compare_digest(session.csrf.encode(), token.encode())
