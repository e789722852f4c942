"""RFC 5228 semantics and examples, with fileinto/reject/copy/envelope."""

from __future__ import annotations

from kastell.sieve import Discard, Envelope, FileInto, Keep, Redirect, Reject

from .helpers import ENVELOPE, message, run

RFC5228_9_1 = """
# Example Sieve Filter
# Declare any optional features or extension used by the script
require ["fileinto"];

# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
"""


def test_rfc5228_example_9_1() -> None:
    list_mail = message(Sender="owner-ietf-mta-filters@imc.org")
    assert run(RFC5228_9_1, list_mail).actions == [FileInto("filter")]
    company = message(To="bob@example.com")
    assert run(RFC5228_9_1, company).actions == [Keep()]
    spam = message(To="someone@other.example", Subject="MAKE lots of MONEY FAST")
    assert run(RFC5228_9_1, spam).actions == [FileInto("spam")]
    not_to_me = message(To="someone@other.example", Cc="ME@example.com ")
    assert run(RFC5228_9_1, not_to_me).actions == [FileInto("personal")]


def test_rfc5228_3_1_if_elsif_else() -> None:
    script = """require "fileinto";
        if header :contains "from" "coyote" {
            discard;
        } elsif header :contains ["subject"] ["$$$"] {
            discard;
        } else {
            fileinto "INBOX";
        }"""
    assert run(script, message(From="Wile E. Coyote <coyote@desert.example>")).actions == [Discard()]
    assert run(script, message(Subject="win $$$")).actions == [Discard()]
    assert run(script).actions == [FileInto("INBOX")]


def test_stop_and_implicit_keep() -> None:
    assert run("stop; discard;").actions == [Keep(implicit=True)]
    assert run("discard; stop;").actions == [Discard()]
    assert run('require "fileinto"; fileinto "a"; stop; fileinto "b";').actions == [FileInto("a")]


def test_duplicates_collapse() -> None:
    script = 'require "fileinto"; fileinto "a"; fileinto "a"; keep; fileinto "INBOX"; redirect "x@example.net"; redirect "X@example.net";'
    assert run(script).actions == [FileInto("a"), Keep(), Redirect("x@example.net")]


def test_copy() -> None:
    script = 'require ["copy", "fileinto"]; redirect :copy "sales@example.com"; fileinto :copy "Archive";'
    assert run(script).actions == [
        Redirect("sales@example.com", copy=True),
        FileInto("Archive", copy=True),
        Keep(implicit=True),
    ]


def test_inbox_copy_and_implicit_keep_store_once() -> None:
    script = 'require ["copy", "fileinto"]; fileinto :copy "INBOX";'
    assert run(script).actions == [FileInto("INBOX", copy=True)]


def test_too_many_redirects_is_runtime_error() -> None:
    script = "".join(f'redirect "u{i}@example.net";' for i in range(5))
    result = run(script)
    assert result.actions == [Keep(implicit=True)]
    assert result.errors and "too many redirects" in result.errors[0]
    assert run(script, max_redirects=5).errors == []


def test_reject_conflicts() -> None:
    script = """require ["reject"];
        if header :contains "from" "coyote@desert.example.org" {
           reject text:
I am not taking mail from you, and I don't
want your birdseed, either!
.
;
        }"""
    result = run(script, message(From="coyote@desert.example.org"))
    assert result.actions == [Reject("I am not taking mail from you, and I don't\nwant your birdseed, either!\n")]
    assert run('require "ereject"; ereject "no";').actions == [Reject("no", extended=True)]
    for other in ('require ["reject", "fileinto"]; fileinto "x"; reject "no";', 'require "reject"; reject "no"; keep;',
                  'require "reject"; redirect "a@b.example"; reject "no";', 'require "reject"; reject "a"; reject "b";',
                  'require ["reject", "vacation"]; vacation "away"; reject "no";'):  # fmt: skip
        result = run(other)
        assert result.actions == [Keep(implicit=True)], other
        assert result.errors, other
    assert run('require "reject"; discard; reject "no";').errors == []


def test_size_and_exists() -> None:
    big = message(body="x" * 2000)
    assert run("if size :over 1K { discard; }", big).actions == [Discard()]
    assert run("if size :under 1K { discard; }", big).actions == [Keep(implicit=True)]
    assert run('if exists ["From", "Date"] { discard; }').actions == [Discard()]
    assert run('if exists ["From", "X-Nope"] { discard; }').actions == [Keep(implicit=True)]
    assert run('if not exists "X-Nope" { discard; }').actions == [Discard()]


def test_header_comparators_and_encoded_words() -> None:
    msg = message(Subject="=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=")
    assert run('if header :contains "subject" "Grüße" { discard; }', msg).actions == [Discard()]
    assert run('if header :is "Subject" "GRÜßE AUS KÖLN" { discard; }', msg).actions == [Keep(implicit=True)]
    assert run('if header :is "Subject" "GRüßE AUS KöLN" { discard; }', msg).actions == [Discard()]
    assert run('if header :is :comparator "i;octet" "Subject" "grüße aus köln" { discard; }', msg).actions == [
        Keep(implicit=True)
    ]
    assert run('if header :contains "subject" "" { discard; }', msg).actions == [Discard()]
    assert run('if header :matches "x-missing" "*" { discard; }', msg).actions == [Keep(implicit=True)]
    folded = b"Subject: one\r\n two\r\nFrom: a@b.c\r\n\r\nbody"
    assert run('if header :is "subject" "one two" { discard; }', folded).actions == [Discard()]


def test_matches_wildcards() -> None:
    assert run('if header :matches "subject" "T?st" { discard; }').actions == [Discard()]
    assert run('if header :matches "subject" "T\\\\?st" { discard; }').actions == [Keep(implicit=True)]
    msg = message(Subject="a*b")
    assert run('if header :matches "subject" "a\\\\*b" { discard; }', msg).actions == [Discard()]
    pathological = message(Subject="a" * 3000)
    assert run('if header :matches "subject" "*a*a*a*a*a*a*a*a*a*b" { discard; }', pathological).actions == [
        Keep(implicit=True)
    ]


def test_matches_question_mark_is_one_octet() -> None:
    # RFC 5228 §2.7.1 with RFC 4790 §9.2/§9.3: i;ascii-casemap and i;octet work on octets, so "?"
    # is one octet of the UTF-8 form: é (two octets) needs "??".
    msg = message(Subject="=?utf-8?q?R=C3=A9sum=C3=A9_de_la_r=C3=A9union?=")
    for comparator in ("i;ascii-casemap", "i;octet"):
        one = f'if header :matches :comparator "{comparator}" "subject" "R?sum? *" {{ discard; }}'
        assert run(one, msg).actions == [Keep(implicit=True)]
        two = f'if header :matches :comparator "{comparator}" "subject" "R??sum?? *" {{ discard; }}'
        assert run(two, msg).actions == [Discard()]
    # "*" still matches whole characters, and the captures are text again
    script = """require ["variables", "fileinto"];
        if header :matches "subject" "R*sum* de *" { fileinto "${1}|${2}|${3}"; }"""
    assert run(script, msg).actions == [FileInto("é|é|la réunion")]
    # a "?" capture that holds half a character comes back as U+FFFD, never as a broken string
    script = """require ["variables", "fileinto"];
        if header :matches "subject" "R?*" { fileinto "${1}${2}"; }"""
    assert run(script, msg).actions == [FileInto("\ufffd\ufffdsumé de la réunion")]
    # ASCII case folding still applies under i;ascii-casemap only
    assert run('if header :matches "subject" "r??SUM?? *" { discard; }', msg).actions == [Discard()]
    octet = 'if header :matches :comparator "i;octet" "subject" "r??SUM?? *" { discard; }'
    assert run(octet, msg).actions == [Keep(implicit=True)]


def test_fileinto_inbox_is_canonical() -> None:
    # RFC 3501 §5.1: INBOX is case-insensitive; the result always names it "INBOX", so that
    # delivery never creates a separate "inbox" folder, and it collapses with keep.
    script = """require ["fileinto", "imap4flags"];
        fileinto "inbox";
        keep :flags "\\\\Seen";
        fileinto :flags "\\\\Flagged" "Sub.Folder";"""
    assert run(script).actions == [FileInto("INBOX", ("\\Seen",)), FileInto("Sub.Folder", ("\\Flagged",))]
    assert run('require "fileinto"; fileinto "InBoX";').actions == [FileInto("INBOX")]
    assert run('require "fileinto"; fileinto "inbox.sub";').actions == [FileInto("inbox.sub")]


def test_address_parts_and_malformed() -> None:
    msg = message(From='"Doe, John" <John.Doe+lists@Example.COM>', To="undisclosed-recipients:;")
    assert run('if address :localpart :is "from" "john.doe+lists" { discard; }', msg).actions == [Discard()]
    assert run('if address :domain :is "from" "example.com" { discard; }', msg).actions == [Discard()]
    assert run('require "subaddress"; if address :user "from" "john.doe" { discard; }', msg).actions == [Discard()]
    assert run('require "subaddress"; if address :detail "from" "lists" { discard; }', msg).actions == [Discard()]
    assert run('if address :contains "to" "" { discard; }', msg).actions == [Keep(implicit=True)]
    broken = message(From="<<<@@@>>> garbage ,,, \x01")
    result = run('if address :all :contains "from" "x" { discard; }', broken)
    assert result.errors == []


def test_envelope() -> None:
    script = 'require "envelope"; if envelope :all :is "from" "alice@example.org" { discard; }'
    assert run(script).actions == [Discard()]
    null = Envelope("", "bob+tag@example.com")
    assert run('require "envelope"; if envelope :is "from" "" { discard; }', envelope=null).actions == [Discard()]
    assert run('require "envelope"; if envelope :domain :is "from" "" { discard; }', envelope=null).actions == [
        Discard()
    ]
    script = 'require ["envelope", "subaddress"]; if envelope :detail "to" "tag" { discard; }'
    assert run(script, envelope=null).actions == [Discard()]
    script = 'require "envelope"; if envelope :is "auth" "alice" { discard; }'
    assert run(script).actions == [Keep(implicit=True)]
    assert run(script, envelope=Envelope("a@b.c", "d@e.f", auth="alice")).actions == [Discard()]


def test_rfc5233_subaddress_examples() -> None:
    script = """require ["envelope", "subaddress", "fileinto"];
        if envelope :user "to" "postmaster" { fileinto "inbox.postmaster"; stop; }
        if envelope :detail :is "to" "mta-filters" { fileinto "inbox.ietf-mta-filters"; stop; }
        if envelope :detail "to" "" { fileinto "inbox.empty"; stop; }"""
    assert run(script, envelope=Envelope("a@b.c", "postmaster+x@example.org")).actions == [FileInto("inbox.postmaster")]
    assert run(script, envelope=Envelope("a@b.c", "ken+mta-filters@example.org")).actions == [
        FileInto("inbox.ietf-mta-filters")
    ]
    assert run(script, envelope=Envelope("a@b.c", "ken+@example.org")).actions == [FileInto("inbox.empty")]
    assert run(script, envelope=ENVELOPE).actions == [Keep(implicit=True)]


def test_broken_messages_are_data() -> None:
    script = 'require ["body", "envelope"]; if anyof(header :contains "subject" "x", body :text :contains "x", address :is "to" "x") { discard; }'
    for raw in (
        b"",
        b"\x00\x00\xff",
        b"Subject: \xff\xfe\r\n\r\n\x00",
        b"no colon line\n\nbody",
        b"Content-Type: multipart/mixed\r\n\r\n--",
    ):
        result = run(script, raw)
        assert result.errors == [], raw
