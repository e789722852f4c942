"""Who is calling the admin API, and what they may touch.

Three ways in, all ending in a ``Principal`` (an ``Admin`` plus how it proved
itself):

- ``Authorization: Bearer kst_…``: an API token (``directory.audit.Tokens``);
- ``Authorization: Basic``: an administrator's name and password, through
  ``Authenticator.authenticate_admin`` so that guessing is throttled exactly
  like a mail login (429 with Retry-After once over the limit);
- the console's session (``kastell.admin``), which builds a Principal itself.

Scope: a system admin sees every organisation (``org_ids`` None); org and
domain admins see only their own organisation, and a domain admin within it
only the domains it holds and their alias domains (``domain_ids``, read from
the directory when the Principal is made: a change applies on the next request).
Objects outside the scope are reported as *not found*, never *forbidden*, so
that an admin cannot probe which addresses another tenant has.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from kastell.api.errors import ApiError, forbidden
from kastell.directory.audit import Tokens
from kastell.directory.errors import AuthFailed, AuthThrottled
from kastell.directory.records import Admin

if TYPE_CHECKING:
    from kastell.app import Kastell

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kastell", Basic realm="kastell", charset="UTF-8"'}


@dataclass(frozen=True, slots=True)
class Principal:
    admin: Admin
    via: str  # token | basic | session
    client: str  # the client's address, for the audit log
    # A domain admin's domains (held ones and their alias domains); None for system and org admins.
    domain_ids: frozenset[int] | None = None

    @property
    def name(self) -> str:
        return self.admin.name

    @property
    def is_system(self) -> bool:
        return self.admin.role == "system"

    @property
    def org_ids(self) -> frozenset[int] | None:
        """The organisations this admin may see; None means all of them."""
        if self.is_system:
            return None
        return frozenset() if self.admin.org_id is None else frozenset({self.admin.org_id})

    @property
    def is_domain_admin(self) -> bool:
        return self.domain_ids is not None

    def sees(self, org_id: int | None) -> bool:
        scope = self.org_ids
        return scope is None or (org_id is not None and org_id in scope)

    def sees_domain(self, org_id: int | None, domain_id: int | None) -> bool:
        """Whether an object of this organisation and domain is in scope."""
        if not self.sees(org_id):
            return False
        return self.domain_ids is None or (domain_id is not None and domain_id in self.domain_ids)

    def require_write(self) -> None:
        if self.admin.read_only:
            raise forbidden("this administrator is read-only")

    def require_system(self) -> None:
        if not self.is_system:
            raise forbidden("only a system administrator may do that")


async def principal_for(kastell: Kastell, admin: Admin, via: str, client: str) -> Principal:
    """The Principal of ``admin``, with a domain admin's domains read from the directory."""
    domain_ids = None
    if admin.role == "domain":
        domain_ids = await kastell.directory.admin_scope_domains(admin.id)
    return Principal(admin, via, client, domain_ids)


def kastell_of(request: Request) -> Kastell:
    app: Kastell = request.app.state.kastell
    return app


def client_of(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def unauthorised(message: str = "authentication required") -> ApiError:
    return ApiError(401, "unauthorised", message, headers=_CHALLENGE)


async def authenticate(request: Request) -> Principal:
    """The FastAPI dependency every route uses: the Principal, or 401/429."""
    kastell = kastell_of(request)
    client = client_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer" and credentials:
        admin = await Tokens(kastell.db).verify(credentials)
        if admin is None:
            raise unauthorised("invalid or expired token")
        return await principal_for(kastell, admin, "token", client)
    if scheme == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise unauthorised("malformed Basic credentials") from None
        name, sep, password = decoded.partition(":")
        if not sep:
            raise unauthorised("malformed Basic credentials")
        try:
            admin = await kastell.auth.authenticate_admin(name, password, client_ip=client or None)
        except AuthThrottled as exc:
            raise ApiError.from_directory(exc) from exc
        except AuthFailed:
            await kastell.auth.delay_failure()
            raise unauthorised("authentication failed") from None
        return await principal_for(kastell, admin, "basic", client)
    raise unauthorised()
