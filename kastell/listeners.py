"""The contract between the server process and a protocol's TCP listener.

Each TCP protocol package (IMAP, POP3, SMTP, LMTP, ManageSieve) exposes one
coroutine ``listen(app, spec) -> Listener``. The server process calls it for
every configured service with a bound-and-listening socket, logs the line, and
on shutdown calls ``stop(timeout)``: stop accepting, let sessions finish (or
say goodbye: ``* BYE``, ``421``) within ``timeout`` seconds, then close them.

Protocols share policy helpers from here rather than from each other.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import socket

    from kastell.app import Kastell


@dataclass(frozen=True)
class ListenSpec:
    service: str  # "imap", "imaps", "smtp", ...
    sock: socket.socket  # bound, listening, non-blocking
    tls: ssl.SSLContext  # for STARTTLS, or for every connection when implicit_tls
    implicit_tls: bool  # imaps, pop3s, submissions


class Listener(Protocol):
    async def stop(self, timeout: float) -> None: ...


ListenFunction = Callable[["Kastell", ListenSpec], Awaitable[Listener]]


def plaintext_auth_allowed(app: Kastell, peer_ip: str | None, tls_active: bool) -> bool:
    """May a client send a password on this connection? Always over TLS; without TLS
    only from the networks in ``auth.plaintext_without_tls_from`` (loopback by default)."""
    if tls_active:
        return True
    if not peer_ip:
        return False
    try:
        address = ipaddress.ip_address(peer_ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(
        address in ipaddress.ip_network(net, strict=False)
        for net in app.settings.config.auth.plaintext_without_tls_from
    )
