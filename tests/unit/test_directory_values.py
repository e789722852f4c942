"""Address and domain validation, permissions, password checks: pure functions, no database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kastell.directory import InvalidAddress, InvalidValue, Permission, normalise_address, normalise_domain
from kastell.directory.passwords import check_password


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Alice@Example.TEST", "alice@example.test"),
        ("first.last+tag@sub.example.test", "first.last+tag@sub.example.test"),
        ("o'brien@example.test", "o'brien@example.test"),
        ("user@example.test.", "user@example.test"),
        ("jürgen@bücher.test", "jürgen@xn--bcher-kva.test"),
        ("x@localhost", "x@localhost"),
        ("a" * 64 + "@example.test", "a" * 64 + "@example.test"),
    ],
)
def test_valid_addresses(text: str, expected: str) -> None:
    assert normalise_address(text) == expected
    assert normalise_address(expected) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        "@example.test",
        "user@",
        "two@at@example.test",
        "with space@example.test",
        "tab\t@example.test",
        "nul\x00@example.test",
        ".lead@example.test",
        "trail.@example.test",
        "dou..ble@example.test",
        '"quoted"@example.test',
        "user@[192.0.2.1]",
        "user@exa mple.test",
        "user@-bad.test",
        "user@bad-.test",
        "user@under_score.test",
        "user@a..test",
        "a" * 65 + "@example.test",
        "user@" + "a" * 64 + ".test",
        "u@" + ".".join(["abcdefghi"] * 26) + ".test",
        "line\nbreak@example.test",
        "zero\u200bwidth@example.test",
        "\ud800@example.test",
    ],
)
def test_invalid_addresses(text: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        normalise_address(text)
    assert "\n" not in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.emails(), st.text(alphabet="aZ.@+-_ \x00ü\u200b[]").map(str)))
def test_property_validation_raises_only_invalid_address(text: str) -> None:
    for function in (normalise_address, normalise_domain):
        try:
            result = function(text)
        except InvalidAddress as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 300
        else:
            assert result == result.strip() and result.isprintable() and " " not in result


@settings(max_examples=200, deadline=None)
@given(st.emails())
def test_property_every_ascii_email_normalises_idempotently(text: str) -> None:
    try:
        first = normalise_address(text)
    except InvalidAddress:
        return  # hypothesis' emails() allows a few forms we refuse (e.g. very long addresses)
    assert normalise_address(first) == first == first.lower()


def test_permissions_parse_and_format() -> None:
    assert Permission.parse("imap,pop3,dav") == Permission.IMAP | Permission.POP3 | Permission.DAV
    assert Permission.parse(" IMAP  smtp ") == Permission.IMAP | Permission.SMTP
    assert Permission.parse("all") == Permission.ALL and Permission.parse("none") == Permission.NONE
    assert Permission.parse("") == Permission.NONE
    assert (Permission.IMAP | Permission.JMAP).format() == "imap,jmap"
    assert Permission.ALL.format() == "all" and Permission.NONE.format() == "none"
    for value in (Permission.NONE, Permission.EWS | Permission.MAPI, Permission.ALL, Permission.WEB):
        assert Permission.parse(value.format()) == value
    with pytest.raises(InvalidValue, match="unknown permission 'gopher'"):
        Permission.parse("imap,gopher")
    assert Permission.for_protocol("submission") == Permission.SMTP
    assert Permission.for_protocol("CalDAV") == Permission.DAV
    assert Permission.for_protocol("managesieve") == Permission.IMAP
    with pytest.raises(InvalidValue):
        Permission.for_protocol("gopher")
    assert len({int(p) for p in Permission if p not in (Permission.NONE, Permission.ALL)}) == 9


def test_password_checks() -> None:
    check_password("x")
    check_password("ü" * 1024)
    for bad in ("", "x" * 1025, "a\x00b"):
        with pytest.raises(InvalidValue):
            check_password(bad)
