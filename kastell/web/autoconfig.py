"""Thunderbird autoconfig: an account from an address and a password alone.

Thunderbird asks ``https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=…``
and ``https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml``; the answer
(the "clientConfig" format of Mozilla's ISPDB) lists the IMAP, POP3 and
submission listeners that are on, implicit TLS first, with the server's host
name and the configured ports. The login name is the account's primary address:
asked for an alias, the document names the primary address itself.
A domain that is not ours gets 404, so the client goes on to its next source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kastell.directory.addresses import normalise_address, normalise_domain
from kastell.directory.errors import DirectoryError, InvalidAddress

if TYPE_CHECKING:
    from kastell.app import Kastell

PATHS = ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml")

# (listener, element, type, socketType) in the order clients should prefer them.
_SERVERS = (
    ("imaps", "incomingServer", "imap", "SSL"),
    ("imap", "incomingServer", "imap", "STARTTLS"),
    ("pop3s", "incomingServer", "pop3", "SSL"),
    ("pop3", "incomingServer", "pop3", "STARTTLS"),
    ("submissions", "outgoingServer", "smtp", "SSL"),
    ("submission", "outgoingServer", "smtp", "STARTTLS"),
)


async def _domain_and_login(kastell: Kastell, request: Request) -> tuple[str, str] | None:
    """(domain, username) for the request, or None when the domain is not served here."""
    given = request.query_params.get("emailaddress", "").strip()
    login = "%EMAILADDRESS%"
    if given:
        try:
            address = normalise_address(given)
        except InvalidAddress:
            return None
        domain = address.rpartition("@")[2]
        resolution = await kastell.directory.resolve(address)
        if resolution.found and len(resolution.accounts) == 1 and not resolution.group:
            login = resolution.accounts[0].address
    else:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0]
        try:
            domain = normalise_domain(host.removeprefix("autoconfig."))
        except InvalidAddress:
            return None
    try:
        await kastell.directory.get_domain(domain)
    except DirectoryError:
        return None
    return domain, login


def document(kastell: Kastell, domain: str, login: str) -> bytes:
    from lxml import etree  # only when a client asks (the idle server's memory)

    config = kastell.settings.config
    hostname = config.server.hostname
    root = etree.Element("clientConfig", version="1.1")
    provider = etree.SubElement(root, "emailProvider", id=domain)
    etree.SubElement(provider, "domain").text = domain
    etree.SubElement(provider, "displayName").text = f"{domain} (Kastell)"
    etree.SubElement(provider, "displayShortName").text = domain
    for service, element, kind, socket_type in _SERVERS:
        endpoint = config.listen.endpoint(service)
        if endpoint is None:
            continue
        server = etree.SubElement(provider, element, type=kind)
        etree.SubElement(server, "hostname").text = hostname
        etree.SubElement(server, "port").text = str(endpoint[1])
        etree.SubElement(server, "socketType").text = socket_type
        etree.SubElement(server, "authentication").text = "password-cleartext"
        etree.SubElement(server, "username").text = login
    https = config.listen.endpoint("https")
    if https is not None:
        base = f"https://{hostname}" + ("" if https[1] == 443 else f":{https[1]}")
        for kind, path in (("carddav", "/dav/"), ("caldav", "/dav/")):
            book = etree.SubElement(root, "addressBook" if kind == "carddav" else "calendar", type=kind)
            etree.SubElement(book, "username").text = login
            etree.SubElement(book, "authentication").text = "http-basic"
            etree.SubElement(book, "serverURL").text = base + path
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def routes(kastell: Kastell) -> list[Route]:
    async def autoconfig(request: Request) -> Response:
        found = await _domain_and_login(kastell, request)
        if found is None:
            return Response("no such domain here\n", status_code=404, media_type="text/plain")
        return Response(
            document(kastell, *found), media_type="application/xml", headers={"Cache-Control": "max-age=3600"}
        )

    return [Route(path, autoconfig, methods=["GET", "HEAD"]) for path in PATHS]


class CaseInsensitivePaths:
    """Clients spell the self-configuration paths as they like (/Autodiscover/...): match them regardless."""

    def __init__(self, app: ASGIApp, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = {p.lower(): p for p in paths}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope.get("path", "")
            canonical = self.paths.get(path.lower())
            if canonical is not None and canonical != path:
                scope = dict(scope, path=canonical, raw_path=canonical.encode())
        await self.app(scope, receive, send)
