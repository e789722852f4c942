"""The blocking half: everything that talks to an LDAP server, with ldap3.

Every function here blocks and is meant for ``asyncio.to_thread``; none touches
the database. Each one opens its own connection, uses it and unbinds (sources
are synced every few minutes at most and logins are rare next to mail; a pool
would buy nothing but stale sockets after a directory restart).

Time is bounded everywhere: ``CONNECT_TIMEOUT`` for the TCP (and TLS)
handshake, ``RECEIVE_TIMEOUT`` for every answer, and ``TIME_LIMIT`` as the
server-side limit of a search, so an unreachable or hanging directory is an
``LdapError`` within seconds, never a hung worker thread.

ldap3 is imported inside the functions: the server imports this module at start
and most installations never configure LDAP (ldap3 costs a few MB).
"""

from __future__ import annotations

import ipaddress
import ssl
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from kastell.directory.errors import DirectoryError

CONNECT_TIMEOUT = 5.0
RECEIVE_TIMEOUT = 15  # an int: ldap3 packs it into SO_RCVTIMEO
TIME_LIMIT = 60  # seconds; what the server may spend on one search
PAGE_SIZE = 500  # Active Directory answers at most 1,000 entries per page
SEARCH_LIMIT = 50  # entries that search() returns at most


class LdapError(DirectoryError):
    """The directory could not be reached, refused the bind or failed a search (one line, no secrets)."""


class BindRefused(LdapError):
    """The directory answered the bind with an error (wrong DN or password, account locked)."""


@dataclass(frozen=True, slots=True)
class Connect:
    """How to reach and bind to a directory; ``password`` is clear text, so never logged (repr hides it)."""

    url: str
    starttls: bool
    ca_cert: str | None
    bind_dn: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Mapping:
    """Where the users and groups are and which attributes mean what."""

    base_dn: str
    user_filter: str
    mail_attr: str
    name_attr: str
    id_attr: str
    group_base: str | None
    group_filter: str | None
    member_attr: str


@dataclass(frozen=True, slots=True)
class UserEntry:
    dn: str
    external_id: str
    mail: str | None
    name: str


@dataclass(frozen=True, slots=True)
class GroupEntry:
    dn: str
    external_id: str
    mail: str | None
    name: str
    members: tuple[str, ...]  # member DNs as the directory gave them


def ldap3_module() -> Any:
    """ldap3, imported on first use; the pyasn1 deprecation warnings its import causes are not ours to fix.

    ldap3 checks the server's name itself after the TLS handshake, with
    ``ssl.match_hostname`` (deprecated since Python 3.7, gone in 3.12, where it
    falls back to a copy that rejects IP addresses); ``match_hostname`` below
    takes its place.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="(tagMap|typeMap) is deprecated", category=DeprecationWarning)
        import ldap3
        import ldap3.core.tls
        import ldap3.utils.conv  # noqa: F401
    ldap3.core.tls.match_hostname = match_hostname
    return ldap3


def match_hostname(cert: dict[str, Any], hostname: str) -> None:
    """Does the peer certificate ``cert`` (``getpeercert()``) name ``hostname``? ssl.CertificateError if not.

    RFC 6125: an IP address must be an iPAddress entry of subjectAltName; a
    host name a dNSName entry, where ``*`` may stand for the whole leftmost
    label only. The subject's CN is not consulted (browsers stopped in 2017).
    """
    try:
        wanted_ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(hostname)
    except ValueError:
        wanted_ip = None
    host = hostname.rstrip(".").lower()
    for kind, value in cert.get("subjectAltName", ()):
        if wanted_ip is not None:
            if kind == "IP Address":
                try:
                    if ipaddress.ip_address(value.strip()) == wanted_ip:
                        return
                except ValueError:
                    continue
        elif kind == "DNS":
            name = value.rstrip(".").lower()
            if name == host:
                return
            if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:] and host.split(".", 1)[0]:
                return
    from ldap3.core.tls import CertificateError  # what ldap3's caller catches (ssl's, or its own on 3.12)

    raise CertificateError(f"the certificate does not name {hostname!r}")


def _server(url: str, ca_cert: str | None) -> Any:
    ldap3 = ldap3_module()

    parts = urlsplit(url)
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise LdapError(f"invalid LDAP URL {url[:200]!r}: ldap://host[:port] or ldaps://host[:port]")
    # Certificates are always verified (ldap3's default is not to): against ``ca_cert`` when given, else
    # the system's CAs; ldap3 checks the name after the handshake (``valid_names``: the URL's host only).
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_data=ca_cert or None,
        sni=parts.hostname,
        valid_names=[parts.hostname],
    )
    return ldap3.Server(
        parts.hostname,
        port=parts.port,
        use_ssl=parts.scheme == "ldaps",
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=CONNECT_TIMEOUT,
    )


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]


def _close(conn: Any) -> None:
    """Unbind and close; a connection that already broke may fail at that too, which changes nothing."""
    from ldap3.core.exceptions import LDAPException

    try:
        conn.unbind()
    except (LDAPException, OSError):
        pass


def _open(connect: Connect, dn: str, password: str) -> Any:
    """A bound connection as ``dn``; LdapError if the server is unreachable or refuses the bind.

    An empty ``dn`` binds anonymously (a directory that allows it); an empty
    password with a DN is refused here, before the server could treat it as an
    unauthenticated bind (RFC 4513 §5.1.2) and answer "success".
    """
    ldap3 = ldap3_module()
    from ldap3.core.exceptions import LDAPException

    if dn and not password:
        raise LdapError("a bind DN needs a password (an unauthenticated bind is never used)")
    server = _server(connect.url, connect.ca_cert)
    conn = ldap3.Connection(
        server,
        user=dn or None,
        password=password or None,
        authentication=ldap3.SIMPLE if dn else ldap3.ANONYMOUS,
        auto_bind=ldap3.AUTO_BIND_NONE,
        read_only=True,
        auto_referrals=False,
        receive_timeout=RECEIVE_TIMEOUT,
        raise_exceptions=False,
    )
    try:
        conn.open()
        if connect.starttls and not server.ssl and not conn.start_tls():
            raise LdapError(f"StartTLS with {connect.url} failed: {conn.result.get('description', 'refused')}")
        if not conn.bind():
            reason = conn.result.get("description") or "refused"
            raise BindRefused(f"the bind as {dn or 'anonymous'} was refused by {connect.url}: {reason}")
    except LdapError:
        _close(conn)
        raise
    except LDAPException as exc:
        _close(conn)
        raise LdapError(f"cannot use {connect.url}: {_describe(exc)}") from None
    except (OSError, ssl.SSLError) as exc:
        _close(conn)
        raise LdapError(f"cannot reach {connect.url}: {_describe(exc)}") from None
    return conn


def _paged(conn: Any, base: str, search_filter: str, attributes: list[str]) -> Iterator[dict[str, Any]]:
    """Every entry under ``base`` matching the filter, page by page (simple paged results, RFC 2696)."""
    ldap3 = ldap3_module()
    from ldap3.core.exceptions import LDAPException

    try:
        for item in conn.extend.standard.paged_search(
            base,
            search_filter,
            search_scope=ldap3.SUBTREE,
            attributes=attributes,
            paged_size=PAGE_SIZE,
            time_limit=TIME_LIMIT,
            generator=True,
        ):
            if item.get("type") == "searchResEntry":
                yield item
    except LDAPException as exc:
        raise LdapError(f"the search under {base} failed: {_describe(exc)}") from None
    if conn.result and conn.result.get("result", 0) not in (0,):
        raise LdapError(f"the search under {base} failed: {conn.result.get('description')}")


def _values(item: dict[str, Any], attribute: str) -> list[bytes]:
    raw = item.get("raw_attributes") or {}
    for key, values in raw.items():
        if key.lower() == attribute.lower():
            return [bytes(v) for v in values]
    return []


def _text(item: dict[str, Any], attribute: str) -> str | None:
    for value in _values(item, attribute):
        try:
            text = value.decode("utf-8").strip()
        except UnicodeDecodeError:
            continue
        if text:
            return text
    return None


def _external_id(item: dict[str, Any], attribute: str) -> str | None:
    """The entry's immutable id as text: a UUID for AD's binary objectGUID, else the value itself."""
    values = _values(item, attribute)
    if not values or not values[0]:
        return None
    value = values[0]
    if attribute.lower() == "objectguid" and len(value) == 16:
        return str(uuid.UUID(bytes_le=value))
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return value.hex()
    return text if text.isprintable() else value.hex()


def _user(item: dict[str, Any], mapping: Mapping) -> UserEntry | None:
    external_id = _external_id(item, mapping.id_attr)
    if external_id is None:
        return None
    mail = _text(item, mapping.mail_attr)
    return UserEntry(item["dn"], external_id[:255], mail, (_text(item, mapping.name_attr) or "")[:255])


def _user_attributes(mapping: Mapping) -> list[str]:
    return [mapping.mail_attr, mapping.name_attr, mapping.id_attr]


def check(connect: Connect, mapping: Mapping) -> tuple[int, int | None]:
    """Bind with the source's account and count users (and groups, when synced) under the base."""
    conn = _open(connect, connect.bind_dn, connect.password)
    try:
        users = sum(1 for _ in _paged(conn, mapping.base_dn, mapping.user_filter, ["1.1"]))
        groups = None
        if mapping.group_filter:
            groups = sum(1 for _ in _paged(conn, mapping.group_base or mapping.base_dn, mapping.group_filter, ["1.1"]))
        return users, groups
    finally:
        _close(conn)


def search(connect: Connect, mapping: Mapping, text: str, limit: int = SEARCH_LIMIT) -> list[UserEntry]:
    """Users whose mail or name contains ``text`` (all users for ""), at most ``limit``."""
    ldap3_module()
    from ldap3.utils.conv import escape_filter_chars

    if text:
        pattern = "*" + escape_filter_chars(text) + "*"
        search_filter = f"(&{mapping.user_filter}(|({mapping.mail_attr}={pattern})({mapping.name_attr}={pattern})))"
    else:
        search_filter = mapping.user_filter
    conn = _open(connect, connect.bind_dn, connect.password)
    found: list[UserEntry] = []
    try:
        for item in _paged(conn, mapping.base_dn, search_filter, _user_attributes(mapping)):
            user = _user(item, mapping)
            if user is not None:
                found.append(user)
            if len(found) >= limit:
                break  # the paged search is not resumed; unbind ends it
    finally:
        _close(conn)
    return found


def fetch(connect: Connect, mapping: Mapping) -> tuple[list[UserEntry], list[GroupEntry] | None]:
    """Every user and (if ``group_filter``) every group of the source, for a sync."""
    conn = _open(connect, connect.bind_dn, connect.password)
    try:
        users = [u for u in (_user(i, mapping) for i in _paged(conn, mapping.base_dn, mapping.user_filter,
                                                                  _user_attributes(mapping))) if u is not None]  # fmt: skip
        groups: list[GroupEntry] | None = None
        if mapping.group_filter:
            groups = []
            attributes = [mapping.id_attr, mapping.name_attr, mapping.mail_attr, mapping.member_attr]
            for item in _paged(conn, mapping.group_base or mapping.base_dn, mapping.group_filter, attributes):
                external_id = _external_id(item, mapping.id_attr)
                if external_id is None:
                    continue
                members = tuple(v.decode("utf-8", "replace") for v in _values(item, mapping.member_attr))
                name = _text(item, "cn") or _text(item, mapping.name_attr) or ""
                groups.append(GroupEntry(item["dn"], external_id[:255], _text(item, mapping.mail_attr), name[:255],
                                         members))  # fmt: skip
        return users, groups
    finally:
        _close(conn)


def verify(connect: Connect, dn: str, password: str) -> bool:
    """Does the directory accept ``password`` for ``dn``? False for a refused bind.

    Empty passwords and DNs are refused without asking: a simple bind with a
    DN and no password is an *unauthenticated* bind that servers may answer
    with success (RFC 4513 §5.1.2). LdapError when the server cannot be used.
    """
    if not dn or not password:
        return False
    try:
        conn = _open(connect, dn, password)
    except BindRefused:
        return False
    _close(conn)
    return True
