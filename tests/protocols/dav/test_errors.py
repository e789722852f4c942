"""Raw HTTP against the DAV endpoint: the error cases a client must get right."""

from __future__ import annotations

import httpx
import pytest

from tests.protocols.dav.conftest import ALICE, BOB, Dav

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\n"
    "SUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
PROPFIND = b'<?xml version="1.0"?><propfind xmlns="DAV:"><prop><getetag/></prop></propfind>'


@pytest.fixture
def http(dav_server: Dav) -> httpx.Client:
    return httpx.Client(base_url=dav_server.url, auth=ALICE)


def cal(path: str = "") -> str:
    return f"/dav/calendars/{ALICE[0]}/Calendar/{path}"


def test_well_known_redirects(dav_server: Dav) -> None:
    for name in ("caldav", "carddav"):
        r = httpx.get(f"{dav_server.url}/.well-known/{name}")
        assert r.status_code == 301 and r.headers["location"] == "/dav/"


def test_authentication(dav_server: Dav) -> None:
    r = httpx.request("PROPFIND", f"{dav_server.url}/dav/", headers={"Depth": "0"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith('Basic realm="Kastell"')
    r = httpx.request("PROPFIND", f"{dav_server.url}/dav/", auth=(ALICE[0], "wrong"), headers={"Depth": "0"})
    assert r.status_code == 401


def test_options(http: httpx.Client) -> None:
    r = http.options(cal())
    assert "calendar-access" in r.headers["dav"] and "addressbook" in r.headers["dav"]
    assert "REPORT" in r.headers["allow"] and "MKCALENDAR" in r.headers["allow"]


def test_if_match_and_if_none_match(http: httpx.Client) -> None:
    created = http.put(cal("pre.ics"), content=ICS.format(uid="pre"), headers={"If-None-Match": "*"})
    assert created.status_code == 201
    etag = created.headers["etag"]
    assert http.put(cal("pre.ics"), content=ICS.format(uid="pre"), headers={"If-None-Match": "*"}).status_code == 412
    assert http.put(cal("pre.ics"), content=ICS.format(uid="pre"), headers={"If-Match": '"1"'}).status_code == 412
    updated = http.put(cal("pre.ics"), content=ICS.format(uid="pre"), headers={"If-Match": etag})
    assert updated.status_code == 204 and updated.headers["etag"] != etag
    assert http.delete(cal("pre.ics"), headers={"If-Match": etag}).status_code == 412
    assert http.get(cal("pre.ics"), headers={"If-None-Match": updated.headers["etag"]}).status_code == 304
    assert http.get(cal("pre.ics")).headers["etag"] == updated.headers["etag"]


def test_uid_conflict(http: httpx.Client) -> None:
    assert http.put(cal("u1.ics"), content=ICS.format(uid="same-uid")).status_code == 201
    r = http.put(cal("u2.ics"), content=ICS.format(uid="same-uid"))
    assert r.status_code == 409 and "no-uid-conflict" in r.text
    assert http.get(cal("u2.ics")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"not a calendar",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:a\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
        b"\xff\xfe\x00garbage",
    ],
)
def test_invalid_calendar_data_is_refused(http: httpx.Client, body: bytes) -> None:
    r = http.put(cal("bad.ics"), content=body)
    assert r.status_code == 403 and "valid-calendar-data" in r.text
    assert http.get(cal("bad.ics")).status_code == 404


def test_invalid_vcard_and_component_type(http: httpx.Client) -> None:
    book = f"/dav/addressbooks/{ALICE[0]}/Contacts/"
    r = http.put(book + "bad.vcf", content=b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n")
    assert r.status_code == 403 and "valid-address-data" in r.text
    todo = ICS.replace("VEVENT", "VTODO").format(uid="t1")
    r = http.put(cal("todo.ics"), content=todo)
    assert r.status_code == 403 and "supported-calendar-component" in r.text


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b'<propfind xmlns="DAV:"><prop><displayname>&lol2;</displayname></prop></propfind>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<propfind xmlns="DAV:"><prop><displayname>&xxe;</displayname></prop></propfind>',
        b"<propfind xmlns='DAV:'><prop><getetag></prop>",
    ],
)
def test_hostile_or_malformed_xml(http: httpx.Client, body: bytes) -> None:
    r = http.request("PROPFIND", cal(), headers={"Depth": "0"}, content=body)
    assert r.status_code == 400
    assert "root:" not in r.text
    assert r.text.startswith("<?xml") and "error" in r.text


def test_depth_infinity_refused(http: httpx.Client) -> None:
    r = http.request("PROPFIND", cal(), headers={"Depth": "infinity"}, content=PROPFIND)
    assert r.status_code == 403 and "propfind-finite-depth" in r.text


def test_other_users_collections_are_closed(http: httpx.Client) -> None:
    for path in (f"/dav/calendars/{BOB[0]}/Calendar/", f"/dav/addressbooks/{BOB[0]}/"):
        assert http.request("PROPFIND", path, headers={"Depth": "1"}, content=PROPFIND).status_code == 403
    assert http.put(f"/dav/calendars/{BOB[0]}/Calendar/x.ics", content=ICS.format(uid="x")).status_code == 403


def _sync(http: httpx.Client, token: str) -> httpx.Response:
    body = (
        '<?xml version="1.0"?><sync-collection xmlns="DAV:"><sync-token>'
        + token
        + "</sync-token><sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
    )
    return http.request("REPORT", f"/dav/addressbooks/{ALICE[0]}/Contacts/", content=body.encode())


def test_sync_collection_after_deletes(http: httpx.Client) -> None:
    book = f"/dav/addressbooks/{ALICE[0]}/Contacts/"
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{0}\r\nFN:{0}\r\nEND:VCARD\r\n"
    for name in ("s1", "s2", "s3"):
        assert http.put(f"{book}{name}.vcf", content=card.format(name)).status_code == 201
    first = _sync(http, "")
    assert first.status_code == 207
    import re

    token = re.search(r"<D:sync-token>([^<]+)</D:sync-token>", first.text)
    assert token is not None
    old = token.group(1)
    assert http.delete(f"{book}s2.vcf").status_code == 204
    http.put(f"{book}s3.vcf", content=card.format("s3").replace("FN:s3", "FN:s3 changed"))
    later = _sync(http, old)
    assert later.status_code == 207
    assert "s2.vcf</D:href><D:status>HTTP/1.1 404" in later.text
    assert "s3.vcf" in later.text and "s1.vcf" not in later.text
    bad = _sync(http, "http://example.com/sync/1")
    assert bad.status_code == 403 and "valid-sync-token" in bad.text
    future = _sync(http, "http://kastell.org/ns/sync/99999999")
    assert future.status_code == 403 and "valid-sync-token" in future.text


def test_vcard_conversion_and_addressbook_query(http: httpx.Client) -> None:
    book = f"/dav/addressbooks/{ALICE[0]}/Contacts/"
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:conv-1\r\nFN:Zoe Query\r\nEMAIL;TYPE=work:zoe@example.com\r\nEND:VCARD\r\n"
    )
    assert http.put(book + "conv.vcf", content=card).status_code == 201
    r = http.get(book + "conv.vcf", headers={"Accept": "text/vcard; version=4.0"})
    assert "VERSION:4.0" in r.text
    query = (
        b'<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">'
        b'<D:prop><D:getetag/><C:address-data content-type="text/vcard" version="4.0"/></D:prop>'
        b'<C:filter><C:prop-filter name="EMAIL"><C:text-match match-type="ends-with">@example.com</C:text-match>'
        b"</C:prop-filter></C:filter></C:addressbook-query>"
    )
    r = http.request("REPORT", book, headers={"Depth": "1"}, content=query)
    assert r.status_code == 207 and "Zoe Query" in r.text and "VERSION:4.0" in r.text


def test_gal_lists_the_organisation(http: httpx.Client) -> None:
    r = http.get(f"/dav/addressbooks/{ALICE[0]}/gal/")
    assert r.status_code == 200 and BOB[0] in r.text and ALICE[0] in r.text
    assert "KIND:group" in r.text and f"MEMBER:mailto:{BOB[0]}" in r.text
    card = http.get(f"/dav/addressbooks/{ALICE[0]}/gal/team@dav.test.vcf")
    assert card.status_code == 200 and "FN:The Team" in card.text and card.headers["etag"]
    assert http.put(f"/dav/addressbooks/{ALICE[0]}/gal/x.vcf", content=b"BEGIN:VCARD").status_code == 403


def test_principal_properties(http: httpx.Client) -> None:
    body = (
        b'<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="urn:ietf:params:xml:ns:carddav">'
        b"<prop><current-user-principal/><principal-URL/><C:calendar-home-set/><A:addressbook-home-set/>"
        b"<C:calendar-user-address-set/><current-user-privilege-set/></prop></propfind>"
    )
    r = http.request("PROPFIND", f"/dav/principals/{ALICE[0]}/", headers={"Depth": "0"}, content=body)
    assert r.status_code == 207
    for needle in (f"/dav/calendars/{ALICE[0]}/", f"/dav/addressbooks/{ALICE[0]}/", f"mailto:{ALICE[0]}", "<D:write/>"):
        assert needle in r.text
    quota = http.request(
        "PROPFIND",
        cal(),
        headers={"Depth": "0"},
        content=b'<propfind xmlns="DAV:"><prop><quota-used-bytes/><sync-token/></prop></propfind>',
    )
    assert "<D:quota-used-bytes>" in quota.text and "<D:sync-token>" in quota.text


def test_oversize_body(http: httpx.Client) -> None:
    big = ICS.format(uid="big").replace("SUMMARY:x", "SUMMARY:" + "x" * (11 * 1024 * 1024))
    r = http.put(cal("big.ics"), content=big, timeout=60)
    assert r.status_code == 403 and "max-resource-size" in r.text


ODD_BODIES = [
    ("REPORT", b"<x/>"),
    ("REPORT", b'<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>'),
    (
        "REPORT",
        b'<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter/></C:filter></C:calendar-query>',
    ),
    (
        "REPORT",
        b'<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR">'
        b'<C:comp-filter name="VEVENT"><C:time-range start="2026"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>',
    ),
    (
        "REPORT",
        b'<C:calendar-multiget xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:"><D:href>/etc/passwd</D:href><D:href>../../x</D:href></C:calendar-multiget>',
    ),
    ("REPORT", b'<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"/>'),
    (
        "REPORT",
        b'<D:sync-collection xmlns:D="DAV:"><D:sync-token>http://kastell.org/ns/sync/abc</D:sync-token></D:sync-collection>',
    ),
    (
        "REPORT",
        b'<A:addressbook-query xmlns:A="urn:ietf:params:xml:ns:carddav"><A:filter><A:prop-filter name="FN"><A:text-match match-type="regex">x</A:text-match></A:prop-filter></A:filter></A:addressbook-query>',
    ),
    ("PROPFIND", b'<D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>'),
    ("PROPFIND", b'<D:propfind xmlns:D="DAV:"><D:bogus/></D:propfind>'),
    ("PROPPATCH", b'<D:propertyupdate xmlns:D="DAV:"><D:set/></D:propertyupdate>'),
    (
        "PROPPATCH",
        b'<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag></D:prop></D:set></D:propertyupdate>',
    ),
    ("LOCK", b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope></D:lockinfo>'),
    ("MKCALENDAR", b"<not-mkcalendar/>"),
    ("POST", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
]


@pytest.mark.parametrize(("method", "body"), ODD_BODIES)
def test_odd_requests_get_protocol_errors_not_500(http: httpx.Client, method: str, body: bytes) -> None:
    target = f"/dav/addressbooks/{ALICE[0]}/Contacts/" if b"carddav" in body else cal()
    if method == "MKCALENDAR":
        target = f"/dav/calendars/{ALICE[0]}/odd-{len(body)}/"
    r = http.request(method, target, content=body, headers={"Depth": "1"})
    assert r.status_code < 500, (r.status_code, r.text)
    if method == "LOCK" and r.status_code == 200:
        http.request("UNLOCK", target, headers={"Lock-Token": r.headers["lock-token"]})


def test_tasks_and_notes_collections(http: httpx.Client) -> None:
    base = f"/dav/calendars/{ALICE[0]}/"
    journal = ICS.replace("VEVENT", "VJOURNAL").replace("DTEND:20260301T110000Z\r\n", "").format(uid="note-1")
    assert http.put(base + "Notes/n1.ics", content=journal).status_code == 201
    assert http.put(base + "Notes/n2.ics", content=ICS.format(uid="ev-in-notes")).status_code == 403
    todo = ICS.replace("VEVENT", "VTODO").replace("DTEND", "DUE").format(uid="task-1")
    assert http.put(base + "Tasks/t1.ics", content=todo).status_code == 201
    query = (
        b'<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
        b'<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VJOURNAL"/></C:comp-filter></C:filter>'
        b"</C:calendar-query>"
    )
    r = http.request("REPORT", base + "Notes/", content=query, headers={"Depth": "1"})
    assert r.status_code == 207 and "n1.ics" in r.text
    comps = http.request(
        "PROPFIND",
        base,
        headers={"Depth": "1"},
        content=b'<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop>'
        b"<C:supported-calendar-component-set/></prop></propfind>",
    )
    assert '<C:comp name="VJOURNAL"/>' in comps.text and '<C:comp name="VTODO"/>' in comps.text


def test_principals_of_the_organisation_only(http: httpx.Client) -> None:
    assert http.request("PROPFIND", f"/dav/principals/{BOB[0]}/", headers={"Depth": "0"}).status_code == 207
    assert http.request("PROPFIND", "/dav/principals/nobody@else.example/", headers={"Depth": "0"}).status_code == 404


def test_principal_property_search(http: httpx.Client) -> None:
    body = (
        b'<D:principal-property-search xmlns:D="DAV:"><D:property-search><D:prop><D:displayname/></D:prop>'
        b"<D:match>bob</D:match></D:property-search><D:prop><D:displayname/></D:prop>"
        b"</D:principal-property-search>"
    )
    r = http.request("REPORT", "/dav/principals/", content=body, headers={"Depth": "0"})
    assert r.status_code == 207 and f"/dav/principals/{BOB[0]}/" in r.text and ALICE[0] not in r.text


def test_sync_token_older_than_the_kept_tombstones(http: httpx.Client, dav_server: Dav) -> None:
    """After store.tombstone_days the deletions before a token are unknown: 403 valid-sync-token, full resync."""
    import asyncio
    import re

    from kastell.app import Kastell
    from kastell.config import load

    book = f"/dav/addressbooks/{ALICE[0]}/Contacts/"
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{0}\r\nFN:{0}\r\nEND:VCARD\r\n"
    assert http.put(f"{book}p1.vcf", content=card.format("p1")).status_code == 201
    token = re.search(r"<D:sync-token>([^<]+)</D:sync-token>", _sync(http, "").text)
    assert token is not None
    assert http.delete(f"{book}p1.vcf").status_code == 204

    async def prune() -> int:
        core = await Kastell.open(load(dav_server.data))
        try:
            return await core.store.prune_tombstones(-10)
        finally:
            await core.close()

    assert asyncio.run(prune()) >= 1
    expired = _sync(http, token.group(1))
    assert expired.status_code == 403 and "valid-sync-token" in expired.text
    fresh = _sync(http, "")
    assert fresh.status_code == 207 and "p1.vcf" not in fresh.text
    new_token = re.search(r"<D:sync-token>([^<]+)</D:sync-token>", fresh.text)
    assert new_token is not None and _sync(http, new_token.group(1)).status_code == 207
