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
from kastell.mail.mtasts import StsCache

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
    app: Kastell, resolver: Resolver, sender: str, recipients: list[str], source: bytes, sts: StsCache | None = None
) -> dict[str, Result]:
    """One attempt for ``recipients`` (all of one domain); ``sts`` is the MTA-STS policy cache."""
    config = app.settings.config.delivery
    sender = "" if sender == "<>" else sender
    verify = False
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
        if config.mta_sts and sts is not None:
            policy = await asyncio.to_thread(sts.policy_for, domain, resolver)
            if policy is not None and policy.mode == "enforce":
                verify = True
                hosts = [h for h in hosts if policy.allows(h)]
                if not hosts:
                    text = "4.7.5 No MX host of the recipient domain is allowed by its MTA-STS policy"
                    return {r: (451, text, "") for r in recipients}
        targets = []
        for host in hosts[:10]:  # a bound on work per attempt
            for ip in await asyncio.to_thread(_addresses, resolver, host):
                targets.append((ip, config.mx_port, host))
        if not targets:
            return {r: (451, "4.4.4 No address for the recipient domain's mail servers", "") for r in recipients}
    last: Result = (451, "4.4.1 No answer from the recipient domain's mail servers", "")
    for ip, port, name in targets:
        try:
            return await _attempt(app, ip, port, name, sender, recipients, source, verify=verify)
        except TlsRequired as exc:
            last = (451, f"4.7.5 {exc}", name)
        except (TimeoutError, OSError, aiosmtplib.SMTPException, ssl.SSLError) as exc:
            log.info("delivery to %s (%s:%d) failed: %s", name, ip, port, exc)
            prefix = "4.7.5 TLS to" if verify else "4.4.1 Connection to"
            last = (451, f"{prefix} {name} failed: {str(exc)[:200]}", name)
    return {r: last for r in recipients}


class TlsRequired(Exception):
    """TLS is required (MTA-STS, or credentials for the smarthost) and not available."""


async def _attempt(
    app: Kastell,
    ip: str,
    port: int,
    name: str,
    sender: str,
    recipients: list[str],
    source: bytes,
    *,
    verify: bool = False,
) -> dict[str, Result]:
    """``verify``: MTA-STS enforce — STARTTLS is required and the certificate must name ``name``."""
    config = app.settings.config.delivery
    mode = config.smarthost_tls if config.smarthost else "opportunistic"
    starttls = {"starttls": True, "opportunistic": None, "none": False, "implicit": False}[mode]
    client = aiosmtplib.SMTP(
        hostname=ip,
        port=port,
        local_hostname=app.settings.config.server.hostname,
        timeout=config.connect_timeout,
        use_tls=mode == "implicit",
        start_tls=False if verify else starttls,
        validate_certs=mode in ("starttls", "implicit"),
    )
    results: dict[str, Result] = {}
    await client.connect()
    try:
        if verify:
            await client.ehlo()
            if not client.supports_extension("starttls"):
                raise TlsRequired(f"{name} offers no STARTTLS, which the MTA-STS policy requires")
            await client.starttls(server_hostname=name, validate_certs=True)
        if config.smarthost and config.smarthost_username:
            if client.get_transport_info("sslcontext") is None:
                raise TlsRequired("refusing to send the smarthost credentials without TLS")
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
