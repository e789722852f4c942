"""The DNS records a domain needs, and the live check against what DNS publishes (a static resolver: no network)."""

from __future__ import annotations

from kastell.api.dns import check_record, domain_records
from kastell.mail.dns import StaticResolver

DKIM = ("ed202611._domainkey.ex.test", "v=DKIM1; k=ed25519; p=AAAAKEY")


def records() -> dict[tuple[str, str], object]:
    return {(r.type, r.name): r for r in domain_records("ex.test", "mail.ex.test", [DKIM])}


def test_records_cover_mail_and_client_configuration() -> None:
    found = records()
    assert ("MX", "ex.test") in found and ("TXT", "_dmarc.ex.test") in found
    assert ("TXT", DKIM[0]) in found
    assert ("CNAME", "autoconfig.ex.test") in found and ("CNAME", "autodiscover.ex.test") in found
    for label in ("_submissions._tcp", "_imaps._tcp", "_autodiscover._tcp", "_caldavs._tcp", "_carddavs._tcp"):
        assert ("SRV", f"{label}.ex.test") in found, label


def test_live_check_statuses() -> None:
    recs = domain_records("ex.test", "mail.ex.test", [DKIM])
    good = StaticResolver(
        {
            ("ex.test", "MX"): [(10, "Mail.Ex.Test.")],
            ("ex.test", "TXT"): ["v=spf1 mx -all", "google-site-verification=x"],
            ("_dmarc.ex.test", "TXT"): ["v=DMARC1; p=reject"],
            (DKIM[0], "TXT"): ["v=DKIM1; k=ed25519; p=AAAAKEY"],
        }
    )
    by_key = {(r.type, r.name): check_record(r, good) for r in recs}
    assert by_key[("MX", "ex.test")].status == "ok"
    assert by_key[("TXT", "ex.test")].status == "ok"
    assert by_key[("TXT", "_dmarc.ex.test")].status == "ok"  # a stricter policy is the operator's choice
    assert by_key[("TXT", DKIM[0])].status == "ok"
    assert by_key[("SRV", "_imaps._tcp.ex.test")].status == "unchecked"

    wrong = StaticResolver(
        {
            ("ex.test", "MX"): [(10, "mx.elsewhere.example")],
            ("ex.test", "TXT"): ["v=spf1 include:elsewhere.example -all"],
            (DKIM[0], "TXT"): ["v=DKIM1; k=ed25519; p=OTHER"],
        }
    )
    by_key = {(r.type, r.name): check_record(r, wrong) for r in recs}
    assert by_key[("MX", "ex.test")].status == "different"
    assert by_key[("MX", "ex.test")].found == ("10 mx.elsewhere.example",)
    assert by_key[("TXT", "ex.test")].status == "different"
    assert by_key[("TXT", "_dmarc.ex.test")].status == "missing"  # NXDOMAIN
    assert by_key[("TXT", DKIM[0])].status == "different"

    failing = StaticResolver({("ex.test", "FAIL"): []})
    mx = next(r for r in recs if r.type == "MX")
    assert check_record(mx, failing).status == "unknown"
