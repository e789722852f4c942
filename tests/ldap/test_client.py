"""Pieces of the LDAP client that need no server: certificate names, external ids."""

from __future__ import annotations

import ssl
import uuid

import pytest

from kastell.directory.ldap import client

CERT = {"subjectAltName": (("DNS", "dc1.acme.example"), ("DNS", "*.ldap.acme.example"), ("IP Address", "192.0.2.7"),
                           ("IP Address", "2001:DB8:0:0:0:0:0:1\n"))}  # fmt: skip


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("dc1.acme.example", True),
        ("DC1.Acme.Example.", True),
        ("a.ldap.acme.example", True),
        ("a.b.ldap.acme.example", False),  # the wildcard is one label
        ("ldap.acme.example", False),
        ("dc2.acme.example", False),
        ("192.0.2.7", True),
        ("2001:db8::1", True),
        ("192.0.2.8", False),
        ("acme.example", False),
    ],
)
def test_certificate_names(host: str, ok: bool) -> None:
    client.ldap3_module()
    if ok:
        client.match_hostname(CERT, host)
    else:
        with pytest.raises((ssl.CertificateError, ValueError)):
            client.match_hostname(CERT, host)
    with pytest.raises((ssl.CertificateError, ValueError)):
        client.match_hostname({"subject": ((("commonName", host),),)}, host)  # the CN alone is not enough


def test_external_ids() -> None:
    guid = uuid.uuid4()
    item = {"raw_attributes": {"objectGUID": [guid.bytes_le], "entryUUID": [b"0b4c-11"], "odd": [b"\xff\x00"]}}
    assert client._external_id(item, "objectguid") == str(guid)
    assert client._external_id(item, "entryUUID") == "0b4c-11"
    assert client._external_id(item, "odd") == "ff00"
    assert client._external_id(item, "missing") is None


def test_empty_passwords_never_reach_the_server() -> None:
    nowhere = client.Connect("ldap://192.0.2.1", False, None, "", "")  # TEST-NET: would time out if asked
    assert client.verify(nowhere, "uid=a,dc=x", "") is False
    assert client.verify(nowhere, "", "secret") is False
    with pytest.raises(client.LdapError, match="needs a password"):
        client.check(client.Connect("ldap://192.0.2.1", False, None, "cn=svc,dc=x", ""), _mapping())


def _mapping() -> client.Mapping:
    return client.Mapping("dc=x", "(objectClass=*)", "mail", "cn", "entryUUID", None, None, "member")
