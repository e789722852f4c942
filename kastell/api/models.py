"""Request and response bodies of the admin API (pydantic v2; they make the OpenAPI schemas).

Request models forbid unknown fields, so that a typo ("quot": …) is a 422
naming the field instead of a silent no-op. Sizes are bytes, times are Unix
seconds (UTC), permissions are lists of protocol names.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field

from kastell.directory.audit import ApiToken, AuditEntry
from kastell.directory.permissions import Permission
from kastell.directory.records import Account, Admin, Alias, Domain, Group, Organisation
from kastell.mail.queue import QueuedMessage
from kastell.ops.sessions import SessionInfo

T = TypeVar("T")

PermissionName = Literal["imap", "pop3", "smtp", "dav", "activesync", "ews", "mapi", "web", "jmap"]
Kind = Literal["user", "shared", "room", "equipment"]
Status = Literal["active", "suspended", "disabled"]
Role = Literal["system", "org", "domain"]

MAX_QUOTA = 2**62  # bytes; beyond any disk, within a signed 64-bit column


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="matching items in all pages")
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# ---------------------------------------------------------------- organisations and domains


class OrganisationOut(BaseModel):
    id: int
    name: str
    created: int

    @classmethod
    def of(cls, org: Organisation) -> OrganisationOut:
        return cls(id=org.id, name=org.name, created=org.created)


class OrganisationIn(_In):
    name: str = Field(min_length=1, max_length=255)


class DomainOut(BaseModel):
    id: int
    name: str
    org: str
    org_id: int
    alias_of: str | None
    catchall: str | None
    created: int

    @classmethod
    def of(cls, d: Domain) -> DomainOut:
        return cls(
            id=d.id,
            name=d.name,
            org=d.org,
            org_id=d.org_id,
            alias_of=d.alias_of,
            catchall=d.catchall,
            created=d.created,
        )


class DomainIn(_In):
    name: str = Field(min_length=1, max_length=255, examples=["example.org"])
    org: str | None = Field(None, max_length=255, description="default: the domain name (system admins only)")
    alias_of: str | None = Field(None, max_length=255, description="make this an alias domain of a local domain")


class DomainPatch(_In):
    catchall: str | None = Field(None, max_length=320, description="address for unknown local parts; null: refuse")


class DnsRecord(BaseModel):
    type: str
    name: str
    value: str
    priority: int | None = None
    purpose: str
    status: str | None = Field(None, description="with check=true: ok, missing, different, unknown or unchecked")
    found: list[str] = Field(default_factory=list, description="with check=true: what DNS answered")


class DnsRecords(BaseModel):
    domain: str
    records: list[DnsRecord]


# ---------------------------------------------------------------- users, aliases, groups


class UserOut(BaseModel):
    id: int
    address: str
    name: str
    kind: str
    status: str
    quota: int = Field(description="bytes; 0 = unlimited")
    language: str
    timezone: str
    permissions: list[str]
    has_password: bool
    org_id: int
    domain_id: int
    created: int
    updated: int

    @classmethod
    def of(cls, a: Account) -> UserOut:
        return cls(
            id=a.id,
            address=a.address,
            name=a.name,
            kind=a.kind,
            status=a.status,
            quota=a.quota,
            language=a.language,
            timezone=a.timezone,
            permissions=permission_names(a.permissions),
            has_password=a.has_password,
            org_id=a.org_id,
            domain_id=a.domain_id,
            created=a.created,
            updated=a.updated,
        )


class UserDetail(UserOut):
    aliases: list[str]
    bytes_used: int
    items: int


class UserIn(_In):
    address: str = Field(min_length=1, max_length=320, examples=["alice@example.org"])
    password: str | None = Field(None, max_length=1024, description="omit for a generated one (returned once)")
    name: str = Field("", max_length=255)
    quota: int | None = Field(None, ge=0, le=MAX_QUOTA, description="bytes; 0 = unlimited; default from config")
    kind: Kind = "user"
    language: str = Field("en", min_length=1, max_length=35)
    timezone: str = Field("UTC", min_length=1, max_length=64)
    permissions: list[PermissionName] | None = Field(None, description="default: every protocol for users")


class UserCreated(UserOut):
    password: str | None = Field(description="the generated password, shown only this once")


class UserPatch(_In):
    name: str | None = Field(None, max_length=255)
    quota: int | None = Field(None, ge=0, le=MAX_QUOTA)
    status: Status | None = None
    permissions: list[PermissionName] | None = None
    language: str | None = Field(None, max_length=35, description="a language tag: en, de, pt-BR")
    timezone: str | None = Field(None, max_length=64, description="an IANA time zone: Europe/Berlin")


class OutOfOfficeIO(_In):
    """The automatic reply of an account (the same object as the self-service page and `kastell user oof`)."""

    enabled: bool = False
    start: int | None = Field(None, ge=0, description="epoch seconds; null: now")
    end: int | None = Field(None, ge=0, description="epoch seconds; null: until switched off")
    subject: str = Field("", max_length=255)
    internal_message: str = Field("", max_length=16384, description="to senders of the organisation's domains")
    external_message: str = Field("", max_length=16384, description="to everyone else")
    internal_only: bool = False


class ForwardingIO(_In):
    """Forwarding of every incoming message; an empty list switches it off."""

    targets: list[str] = Field(default_factory=list, max_length=16)
    keep: bool = True


class PasswordIn(_In):
    password: str | None = Field(None, max_length=1024, description="omit for a generated one (returned once)")


class PasswordOut(BaseModel):
    address: str
    password: str | None = Field(description="the generated password, shown only this once; null if you chose it")


class AliasOut(BaseModel):
    address: str
    target: str

    @classmethod
    def of(cls, a: Alias) -> AliasOut:
        return cls(address=a.address, target=a.target)


class AliasIn(_In):
    address: str = Field(min_length=1, max_length=320)


class AliasCreate(_In):
    address: str = Field(min_length=1, max_length=320)
    target: str = Field(min_length=1, max_length=320, description="the account's primary address or id")


class GroupOut(BaseModel):
    id: int
    address: str
    name: str
    members: list[str]
    created: int

    @classmethod
    def of(cls, g: Group) -> GroupOut:
        return cls(id=g.id, address=g.address, name=g.name, members=list(g.members), created=g.created)


class GroupIn(_In):
    address: str = Field(min_length=1, max_length=320)
    name: str = Field("", max_length=255)


class MemberIn(_In):
    address: str = Field(min_length=1, max_length=320)


# ---------------------------------------------------------------- administrators, tokens, audit


class AdminOut(BaseModel):
    id: int
    name: str
    role: str
    read_only: bool
    org_id: int | None
    created: int
    domains: list[str] = Field(default_factory=list, description="a domain admin's domains")

    @classmethod
    def of(cls, a: Admin, domains: list[str] | None = None) -> AdminOut:
        return cls(
            id=a.id,
            name=a.name,
            role=a.role,
            read_only=a.read_only,
            org_id=a.org_id,
            created=a.created,
            domains=domains or [],
        )


class AdminIn(_In):
    name: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)
    role: Role = "system"
    org: str | None = Field(
        None, max_length=255, description="required for org admins; a domain admin's is its domains'"
    )
    read_only: bool = False
    domains: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list, max_length=1000, description="required for domain admins: the domains it manages"
    )


class AdminDomainsIn(_In):
    domains: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(min_length=1, max_length=1000)


class TokenOut(BaseModel):
    id: int
    admin: str
    name: str
    created: int
    last_used: int | None
    expires: int | None

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(id=t.id, admin=t.admin, name=t.name, created=t.created, last_used=t.last_used, expires=t.expires)


class TokenCreated(TokenOut):
    secret: str = Field(description="the bearer token; shown only this once")


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=255)
    expires: int | None = Field(None, ge=0, le=2**40, description="Unix time; null: never")
    admin: str | None = Field(None, max_length=255, description="system admins may issue for another admin")


class AuditOut(BaseModel):
    id: int
    at: int
    actor: str
    org_id: int | None
    action: str
    target: str
    detail: dict[str, Any]
    client: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(
            id=e.id,
            at=e.at,
            actor=e.actor,
            org_id=e.org_id,
            action=e.action,
            target=e.target,
            detail=e.detail,
            client=e.client,
        )


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: int | None = Field(description="pass as cursor for older entries; null at the end")


# ---------------------------------------------------------------- statistics and health


class DomainStorageOut(BaseModel):
    domain: str
    org_id: int
    accounts: int
    bytes_used: int
    items: int


class AccountStorageOut(BaseModel):
    address: str
    domain: str
    quota: int
    bytes_used: int
    items: int


class Summary(BaseModel):
    organisations: int
    domains: int
    accounts: int
    groups: int
    bytes_used: int
    items: int


class Health(BaseModel):
    status: str
    version: str
    uptime_seconds: int
    cpu: dict[str, Any]
    memory: dict[str, Any]
    process: dict[str, Any]
    disk: dict[str, Any]
    listeners: dict[str, dict[str, Any]]


class QueuedRecipientOut(BaseModel):
    address: str
    status: str = Field(description="pending, delivered, failed or cancelled")
    attempts: int
    next_attempt: int | None = Field(description="Unix time of the next try; null unless pending")
    last_error: str | None
    remote: str | None = Field(description="the host that answered last")


class QueuedMessageOut(BaseModel):
    id: int
    sender: str = Field(description='envelope sender; "" is the null sender (DSNs)')
    size: int
    created: int
    expires: int = Field(description="Unix time after which the message is bounced")
    attempts: int = Field(description="the most attempts any recipient has had")
    next_attempt: int | None = Field(description="the earliest next try of a pending recipient")
    recipients: list[QueuedRecipientOut]

    @classmethod
    def of(cls, m: QueuedMessage) -> QueuedMessageOut:
        pending = [r.next_attempt for r in m.recipients if r.status == "pending"]
        return cls(
            id=m.id,
            sender=m.sender,
            size=m.size,
            created=m.created,
            expires=m.expires,
            attempts=max((r.attempts for r in m.recipients), default=0),
            next_attempt=min(pending) if pending else None,
            recipients=[
                QueuedRecipientOut(
                    address=r.recipient,
                    status=r.status,
                    attempts=r.attempts,
                    next_attempt=r.next_attempt if r.status == "pending" else None,
                    last_error=r.last_error,
                    remote=r.remote,
                )
                for r in m.recipients
            ],
        )


class QueueRetried(BaseModel):
    recipients: int = Field(description="pending recipients made due now")


class SessionOut(BaseModel):
    id: int = Field(description="unique within this server process")
    protocol: str = Field(description="imap, pop3, smtp, submission, submissions or lmtp")
    client: str = Field(description="the client's IP address")
    user: str | None = Field(description="the logged-in account; null before login")
    started: int = Field(description="Unix time the connection was opened")
    last_command: int | None = Field(description="Unix time of the last command")
    command: str | None = Field(description="the last command")
    commands: int

    @classmethod
    def of(cls, s: SessionInfo) -> SessionOut:
        return cls(
            id=s.id,
            protocol=s.protocol,
            client=s.client,
            user=s.user,
            started=int(s.started),
            last_command=None if s.last_command is None else int(s.last_command),
            command=s.command,
            commands=s.commands,
        )


def permission_names(permissions: Permission) -> list[str]:
    return [name for name in get_args(PermissionName) if Permission.parse(name) & permissions]


def permission_bits(names: list[str]) -> Permission:
    return Permission.parse(",".join(names))
