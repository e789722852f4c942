"""One delivery attempt: a message to the recipients of one domain, over one SMTP connection.

Routing (RFC 5321 5.1): the configured smarthost, else the domain's MX hosts
by preference; no MX record → the domain itself (the implicit MX); a single
MX of "." → the domain accepts no mail (null MX, RFC 7505 3.2: 556 5.1.10);
NXDOMAIN → 550 5.1.2. Each host's addresses are tried in turn until one
answers. STARTTLS is opportunistic (RFC 3207; RFC 7435: an unauthenticated
encryption beats none, so certificates are not checked) unless the smarthost
is configured to require TLS.

The result maps every recipient to ``(code, text, remote host)``: the queue
decides from the code (2xx delivered, 4xx retry, 5xx bounce).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import TYPE_CHECKING

import aiosmtplib

from kastell.config import parse_endpoint
from kastell.mail.dns import DnsTempError, NoSuchDomain, Resolver

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.mail.outbound")
Result = tuple[int, str, str]


class RouteError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


def mx_hosts(resolver: Resolver, domain: str) -> list[str]:
    """The hosts to try for ``domain``, best first; raises RouteError. Blocking (DNS)."""
    try:
        records = resolver.mx(domain)
    except NoSuchDomain:
        raise RouteError(550, "5.1.2 Recipient domain does not exist") from None
    except DnsTempError:
        raise RouteError(451, "4.4.3 DNS lookup of the recipient domain failed") from None
    if not records:
        return [domain]  # implicit MX
    if len(records) == 1 and records[0][1].strip(".") == "":
        raise RouteError(556, "5.1.10 Recipient domain accepts no mail (null MX)")
    return [host for _pref, host in sorted(records) if host.strip(".")]


def _addresses(resolver: Resolver, host: str) -> list[str]:
    try:
        return resolver.addresses(host)
    except (NoSuchDomain, DnsTempError):
        return []


async def deliver_group(
    app: Kastell, resolver: Resolver, sender: str, recipients: list[str], source: bytes
) -> dict[str, Result]:
    config = app.settings.config.delivery
    sender = "" if sender == "<>" else sender
    if config.smarthost:
        endpoint = parse_endpoint(config.smarthost)
        assert endpoint is not None
        targets = [(endpoint[0], endpoint[1], endpoint[0])]
    else:
        domain = recipients[0].rpartition("@")[2]
        try:
            hosts = await asyncio.to_thread(mx_hosts, resolver, domain)
        except RouteError as exc:
            return {r: (exc.code, exc.text, "") for r in recipients}
        targets = []
        for host in hosts[:10]:  # a bound on work per attempt
            for ip in await asyncio.to_thread(_addresses, resolver, host):
                targets.append((ip, config.mx_port, host))
        if not targets:
            return {r: (451, "4.4.4 No address for the recipient domain's mail servers", "") for r in recipients}
    last: Result = (451, "4.4.1 No answer from the recipient domain's mail servers", "")
    for ip, port, name in targets:
        try:
            return await _attempt(app, ip, port, name, sender, recipients, source)
        except (TimeoutError, OSError, aiosmtplib.SMTPException, ssl.SSLError) as exc:
            log.info("delivery to %s (%s:%d) failed: %s", name, ip, port, exc)
            last = (451, f"4.4.1 Connection to {name} failed: {str(exc)[:200]}", name)
    return {r: last for r in recipients}


async def _attempt(
    app: Kastell, ip: str, port: int, name: str, sender: str, recipients: list[str], source: bytes
) -> dict[str, Result]:
    config = app.settings.config.delivery
    mode = config.smarthost_tls if config.smarthost else "opportunistic"
    client = aiosmtplib.SMTP(
        hostname=ip,
        port=port,
        local_hostname=app.settings.config.server.hostname,
        timeout=config.connect_timeout,
        use_tls=mode == "implicit",
        start_tls={"starttls": True, "opportunistic": None, "none": False, "implicit": False}[mode],
        validate_certs=mode in ("starttls", "implicit"),
    )
    results: dict[str, Result] = {}
    await client.connect()
    try:
        if config.smarthost and config.smarthost_username and client.is_connected:
            if not (client.get_transport_info("sslcontext") or mode != "none"):
                raise aiosmtplib.SMTPException("refusing to send smarthost credentials without TLS")
            await client.login(config.smarthost_username, config.smarthost_password)
        options = ["BODY=8BITMIME"] if client.supports_extension("8bitmime") else []
        try:
            await client.mail(sender, options=options)
        except aiosmtplib.SMTPResponseException as exc:
            return {r: (exc.code, exc.message, name) for r in recipients}
        accepted = []
        for r in recipients:
            try:
                await client.rcpt(r)
                accepted.append(r)
            except aiosmtplib.SMTPResponseException as exc:
                results[r] = (exc.code, exc.message, name)
        if accepted:
            try:
                response = await client.data(source)
                results.update({r: (response.code, response.message, name) for r in accepted})
            except aiosmtplib.SMTPResponseException as exc:
                results.update({r: (exc.code, exc.message, name) for r in accepted})
        return results
    finally:
        try:
            await client.quit()
        except (TimeoutError, aiosmtplib.SMTPException, OSError):
            client.close()
