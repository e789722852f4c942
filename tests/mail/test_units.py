"""The sans-network parts of kastell.mail: routing, backoff, DSN format, resolver table, trace headers."""

from __future__ import annotations

import email
import email.policy

import pytest

from kastell.mail.authres import from_domain, org_domain
from kastell.mail.dns import DnsTempError, NoSuchDomain, StaticResolver
from kastell.mail.dsn import RecipientStatus, build_dsn, status_of
from kastell.mail.outbound import RouteError, mx_hosts
from kastell.mail.queue import backoff
from kastell.mail.submit import from_addresses
from kastell.mail.trace import complete_submission, received


def test_mx_routing_rules() -> None:
    dns = StaticResolver()
    dns.add("multi.example", "MX", (20, "b.multi.example"), (10, "a.multi.example"))
    dns.add("implicit.example", "A", "192.0.2.1")
    dns.add("null.example", "MX", (0, "."))
    dns.add("flaky.example", "FAIL", "")
    assert mx_hosts(dns, "multi.example") == ["a.multi.example", "b.multi.example"]
    assert mx_hosts(dns, "implicit.example") == ["implicit.example"]  # RFC 5321 5.1 implicit MX
    for domain, code, status in (
        ("null.example", 556, "5.1.10"),
        ("nowhere.example", 550, "5.1.2"),
        ("flaky.example", 451, "4.4.3"),
    ):
        with pytest.raises(RouteError) as failed:
            mx_hosts(dns, domain)
        assert failed.value.code == code and failed.value.text.startswith(status)


def test_static_resolver_semantics() -> None:
    dns = StaticResolver({("a.example", "A"): ["192.0.2.1"], ("a.example", "AAAA"): ["2001:db8::1"]})
    assert dns.addresses("a.example") == ["2001:db8::1", "192.0.2.1"]
    assert dns.txt("a.example") == []  # the name exists: no records of the type
    with pytest.raises(NoSuchDomain):
        dns.txt("b.example")
    dns.add("c.example", "FAIL", "")
    with pytest.raises(DnsTempError):
        dns.mx("c.example")


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 300, 3600) for n in range(1, 7)] == [300, 600, 1200, 2400, 3600, 3600]


def test_dsn_is_rfc3464() -> None:
    original = b"From: a@example.test\r\nSubject: hi\r\n\r\nsecret body\r\n"
    raw = build_dsn(
        reporting_mta="mx.example.test",
        to="a@example.test",
        original=original,
        statuses=[
            RecipientStatus("d@remote.example", "failed", "5.1.1", "smtp; 550 5.1.1 no such user", "mx.remote.example")
        ],
        arrival=1700000000,
    )
    assert b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "delivery-status"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert b"Reporting-MTA: dns; mx.example.test" in raw and b"Remote-MTA: dns; mx.remote.example" in raw
    assert b"Subject: hi" in raw and b"secret body" not in raw  # headers only are returned
    assert status_of(550, "5.1.1 no") == "5.1.1" and status_of(451, "busy") == "4.0.0"


def test_header_helpers() -> None:
    assert from_domain(b"From: A <a@Sub.Example.COM>\r\n\r\n") == "sub.example.com"
    assert from_domain(b"From: a@x.example, b@y.example\r\n\r\n") is None  # RFC 7489 6.6.1: not one author
    assert from_addresses(b"From: A <a@x.example>,\r\n b@y.example\r\nTo: c@z\r\n\r\n") == [
        "a@x.example",
        "b@y.example",
    ]
    assert org_domain("a.b.example.co.uk") == "example.co.uk"
    assert org_domain("mail.shop.example") == "shop.example"
    completed = complete_submission(b"Subject: x\r\n\r\nbody\r\n", "mx.example.test")
    assert completed.startswith(b"Date: ") and b"Message-ID: <" in completed
    trace = received(helo="evil\r\nInjected: yes", client_ip="192.0.2.1", by="mx", protocol="ESMTP")
    assert trace.count(b"\r\n") == 3 and b"Injected: yes\r\n" not in trace


def test_mta_sts_policy_parsing_and_cache() -> None:
    from kastell.mail.mtasts import StsCache, parse_policy

    text = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.backup.example.com\r\nmax_age: 86400\r\n"
    policy = parse_policy(text)
    assert policy is not None and policy.mode == "enforce"
    assert policy.allows("mail.example.com") and policy.allows("a.backup.example.com")
    assert not policy.allows("a.b.backup.example.com") and not policy.allows("evil.example.com")
    assert parse_policy("version: STSv1\nmode: enforce\nmax_age: 10\n") is None  # enforce without mx
    assert parse_policy("mode: none\nmax_age: 10\n") is None  # no version
    fetched: list[str] = []
    cache = StsCache(lambda domain: fetched.append(domain) or text)
    dns = StaticResolver()
    assert cache.policy_for("example.com", dns) is None  # no _mta-sts record: no fetch
    dns.add("_mta-sts.example.com", "TXT", "v=STSv1; id=1")
    assert cache.policy_for("example.com", dns) == cache.policy_for("example.com", dns)
    assert fetched == ["example.com"]  # cached until the id changes
