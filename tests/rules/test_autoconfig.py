"""Thunderbird autoconfig over HTTP, checked against the listeners that really run."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from tests.mail.mailenv import MailEnv, Sink

pytestmark = pytest.mark.anyio


async def test_autoconfig_describes_the_listeners(rules_env: tuple[MailEnv, Sink]) -> None:
    env, _ = rules_env
    base = f"http://127.0.0.1:{env.ports['http']}"
    async with httpx.AsyncClient(base_url=base) as client:
        by_query = await client.get("/mail/config-v1.1.xml", params={"emailaddress": "Ali@Example.test"})
        well_known = await client.get(
            "/.well-known/autoconfig/mail/config-v1.1.xml", headers={"Host": "autoconfig.example.test"}
        )
        odd_case = await client.get("/.WELL-KNOWN/Autoconfig/Mail/config-v1.1.xml", headers={"Host": "example.test"})
        foreign = await client.get("/mail/config-v1.1.xml", params={"emailaddress": "x@elsewhere.example"})
        garbage = await client.get("/mail/config-v1.1.xml", params={"emailaddress": "not an address"})
    assert by_query.status_code == 200 and by_query.headers["content-type"].startswith("application/xml")
    assert well_known.status_code == 200 and odd_case.status_code == 200
    assert foreign.status_code == 404 and garbage.status_code == 404

    root = etree.fromstring(by_query.content)
    assert root.tag == "clientConfig"
    provider = root.find("emailProvider")
    assert provider is not None and provider.get("id") == "example.test"
    servers = {
        (s.get("type"), s.findtext("socketType")): (s.findtext("hostname"), s.findtext("port"), s.findtext("username"))
        for s in provider
        if s.tag in ("incomingServer", "outgoingServer")
    }
    # Exactly the listeners that are on (this server runs imap, submission and submissions, no pop3).
    assert servers == {
        ("imap", "STARTTLS"): ("mx.kastell.test", str(env.ports["imap"]), "alice@example.test"),
        ("smtp", "SSL"): ("mx.kastell.test", str(env.ports["submissions"]), "alice@example.test"),
        ("smtp", "STARTTLS"): ("mx.kastell.test", str(env.ports["submission"]), "alice@example.test"),
    }
    # Without an address, the client substitutes the one the user typed.
    generic = etree.fromstring(well_known.content)
    assert {u.text for u in generic.iter("username")} == {"%EMAILADDRESS%"}
