"""The extensions' RFC examples, evaluated."""

from __future__ import annotations

from kastell.sieve import Discard, FileInto, Keep, Redirect, Vacation

from .helpers import MemoryEnv, message, run, run_sequence


def _fileinto(result: object) -> list[str]:
    return [a.mailbox for a in result.actions if isinstance(a, FileInto)]


# -- variables (RFC 5229) ------------------------------------------------------


def test_rfc5229_set_and_modifiers() -> None:
    script = """require ["variables", "fileinto"];
        set "honorific"  "Mr";
        set "last_name"  "Coyote";
        set "greeting" "Dear ${HONORIFIC} ${last_name}";
        set "a" "juMBlEd lETteRS";
        set :length "len" "${a}";
        set :lower "lower" "${a}";
        set :upperfirst "uf" "${a}";
        set :upperfirst :lower "ufl" "${a}";
        set :quotewildcard "qw" "Rock*";
        set "unknown" "${nope}|${1}|${bad name}|${}";
        fileinto "${greeting}/${len}/${lower}/${uf}/${ufl}/${qw}/${unknown}";"""
    assert _fileinto(run(script)) == [
        "Dear Mr Coyote/15/jumbled letters/JuMBlEd lETteRS/Jumbled letters/Rock\\*/||${bad name}|${}"
    ]


def test_rfc5229_case_modifiers_change_only_ascii() -> None:
    # RFC 5229 §4.1.3: :lower/:upper/:lowerfirst/:upperfirst change only A-Z and a-z.
    script = """require ["variables", "fileinto"];
        set :upperfirst "w" "élan";
        set :upper "u" "straße ök";
        set :lower "l" "ÀÉÎ AbC";
        set :lowerfirst "f" "Ärger";
        set :upperfirst :lower "m" "ÉCOLE Étoile";
        set :length "n" "straße";
        fileinto "${w}|${u}|${l}|${f}|${m}|${n}";"""
    assert _fileinto(run(script)) == ["élan|STRAßE öK|ÀÉÎ abc|Ärger|École Étoile|6"]


def test_rfc5229_match_variables() -> None:
    script = """require ["fileinto", "variables"];
        if header :matches "List-ID" "*<*@*" {
            fileinto "INBOX.lists.${2}"; stop;
        }
        if header :matches "Subject" "[*] *" {
            fileinto "INBOX.lists.${1}/${2}"; stop;
        }
        if address :matches ["To", "Cc"] ["coyote@**.com", "wile@**.com"] {
            fileinto "INBOX.business.${2}|${1}|${0}"; stop;
        }"""
    assert _fileinto(run(script, message(List_ID="Sieve list <sieve@ietf.org>"))) == ["INBOX.lists.sieve"]
    subject = message(Subject="[acme-users] [fwd] version 1.0 is out")
    assert _fileinto(run(script, subject)) == ["INBOX.lists.acme-users/[fwd] version 1.0 is out"]
    to = message(To="coyote@ACME.Example.COM")
    assert _fileinto(run(script, to)) == ["INBOX.business.ACME.Example||coyote@ACME.Example.COM"]


def test_string_test_and_count() -> None:
    script = """require ["variables", "relational", "fileinto", "comparator-i;ascii-numeric"];
        set "state" "${state} pending";
        if string :matches " ${state} " "* pending *" { fileinto "pending"; }
        if string :count "eq" :comparator "i;ascii-numeric" ["a", "", "b"] "2" { fileinto "two"; }"""
    assert _fileinto(run(script)) == ["pending", "two"]


def test_variable_size_limit_truncates() -> None:
    script = 'require ["variables", "fileinto"]; set "a" "' + "x" * 5000 + '"; set :length "n" "${a}"; fileinto "${n}";'
    assert _fileinto(run(script)) == ["4096"]


# -- relational (RFC 5231) ------------------------------------------------------

RFC5231_MESSAGE = (
    b"Received: from a\r\nReceived: from b\r\nSubject: example\r\n"
    b"To: foo@example.com, baz@example.com\r\nCC: qux@example.com\r\nX-Priority: 5\r\n\r\nbody\r\n"
)


def test_rfc5231_examples() -> None:
    head = 'require ["relational", "comparator-i;ascii-numeric"];\n'
    cases = {
        'address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"]': True,
        'anyof (address :count "ge" :comparator "i;ascii-numeric" ["to"] ["3"], '
        'address :count "ge" :comparator "i;ascii-numeric" ["cc"] ["3"])': False,
        'header :count "ge" :comparator "i;ascii-numeric" ["received"] ["3"]': False,
        'header :count "ge" :comparator "i;ascii-numeric" ["received", "subject"] ["3"]': True,
        'header :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] ["3"]': False,
        'header :value "gt" :comparator "i;ascii-numeric" ["x-priority"] ["3"]': True,
        'header :value "lt" :comparator "i;ascii-numeric" ["x-priority"] ["10"]': True,
        'header :value "lt" ["x-priority"] ["10"]': False,  # i;ascii-casemap: "5" > "10"
        'header :value "eq" :comparator "i;ascii-numeric" "subject" "999999"': True,  # non-digits = infinity? no
    }
    for test, expected in cases.items():
        result = run(head + f"if {test} {{ discard; }}", RFC5231_MESSAGE)
        got = result.actions == [Discard()]
        if test.endswith('"999999"'):
            assert not got
            continue
        assert got is expected, test


def test_ascii_numeric_infinity() -> None:
    head = 'require ["relational", "comparator-i;ascii-numeric"];\n'
    assert run(head + 'if header :value "gt" :comparator "i;ascii-numeric" "subject" "99999" { discard; }').actions == [
        Discard()
    ]
    assert run(
        head + 'if header :is :comparator "i;ascii-numeric" "x-n" "7" { discard; }', message(X_N="007 apples")
    ).actions == [Discard()]


# -- imap4flags (RFC 5232) --------------------------------------------------------


def test_imap4flags() -> None:
    script = """require ["imap4flags", "fileinto"];
        if header :contains "from" "alice" {
            setflag "\\\\Flagged";
            fileinto "INBOX.From Boss";
        }
        addflag ["\\\\Seen", "Junk Junk \\\\seen"];
        removeflag "junk";
        fileinto :flags "\\\\Deleted custom" "Trash";
        keep;"""
    result = run(script)
    assert result.actions == [
        FileInto("INBOX.From Boss", flags=("\\Flagged",)),
        FileInto("Trash", flags=("\\Deleted", "custom")),
        Keep(flags=("\\Flagged", "\\Seen")),
    ]


def test_imap4flags_implicit_keep_and_variables() -> None:
    script = """require ["imap4flags", "variables"];
        addflag "flagvar" ["a", "b"];
        removeflag "flagvar" "a";
        if hasflag :is "flagvar" "b" { addflag "\\\\Answered"; }
        if hasflag :contains "\\\\ans" { addflag "$Label1"; }
        if not hasflag "nope" { addflag "\\\\Recent"; }"""
    assert run(script).actions == [Keep(flags=("\\Answered", "$Label1"), implicit=True)]


def test_hasflag_count() -> None:
    script = """require ["imap4flags", "relational", "comparator-i;ascii-numeric"];
        setflag "a b c";
        if hasflag :count "eq" :comparator "i;ascii-numeric" "3" { discard; }"""
    assert run(script).actions == [Discard()]


# -- date (RFC 5260) ------------------------------------------------------------


def test_rfc5260_examples() -> None:
    script = """require ["date", "relational", "fileinto"];
        if allof(header :is "from" "boss@example.com",
                 date :value "ge" :originalzone "date" "hour" "09",
                 date :value "lt" :originalzone "date" "hour" "17")
        { fileinto "urgent"; }"""
    msg = message(From="boss@example.com", Date="Fri, 15 Mar 2024 10:00:00 +0100")
    assert _fileinto(run(script, msg)) == ["urgent"]
    late = message(From="boss@example.com", Date="Fri, 15 Mar 2024 18:00:00 +0100")
    assert _fileinto(run(script, late)) == []

    script = """require ["date", "relational", "vacation"];
        if allof(currentdate :value "ge" "date" "2024-03-10",
                 currentdate :value "le" "date" "2024-03-20")
        { vacation :days 7  "I'm away during the first week in July."; }"""
    assert isinstance(run(script).actions[0], Vacation)

    script = """require ["date", "variables", "fileinto"];
        if currentdate :matches "month" "*" { set "month" "${1}"; }
        if currentdate :matches "year"  "*" { set "year" "${1}"; }
        fileinto "${month}-${year}";"""
    assert _fileinto(run(script)) == ["03-2024"]


def test_date_parts_and_zones() -> None:
    parts = {
        "year": "2024", "month": "03", "day": "15", "date": "2024-03-15", "julian": "60384",
        "hour": "12", "minute": "30", "second": "45", "time": "12:30:45",
        "iso8601": "2024-03-15T12:30:45+00:00", "std11": "Fri, 15 Mar 2024 12:30:45 +0000",
        "zone": "+0000", "weekday": "5",
    }  # fmt: skip
    for part, value in parts.items():
        script = f'require "date"; if currentdate :is "{part}" "{value}" {{ discard; }}'
        assert run(script).actions == [Discard()], part
    script = 'require "date"; if currentdate :zone "-0800" :is "time" "04:30:45" { discard; }'
    assert run(script).actions == [Discard()]
    # header date converted to the local zone (that of `now`) unless :originalzone
    script = 'require "date"; if date :is "date" "hour" "09" { discard; }'
    assert run(script).actions == [Discard()]
    script = 'require "date"; if date :zone "+0530" :is "date" "time" "14:30:00" { discard; }'
    assert run(script).actions == [Discard()]
    # a missing or broken date never matches
    assert run('require "date"; if date :matches "date" "year" "*" { discard; }', message(Date="garbage")).actions == [
        Keep(implicit=True)
    ]
    received = message(headers="Received: from x by y; Sat, 16 Mar 2024 01:02:03 +0000\r\n")
    script = 'require "date"; if date :is "received" "day" "16" { discard; }'
    assert run(script, received).actions == [Discard()]


# -- body (RFC 5173) ------------------------------------------------------------

MULTIPART = (
    b"From: a@example.org\r\nTo: bob@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"The missile coordinates: Z=FCrich\r\n"
    b"--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"PHA+cHJvamVjdCA8Yj5zY2hlZHVsZTwvYj48L3A+\r\n"
    b"--b\r\nContent-Type: audio/mp3\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
    b"--b--\r\n"
)


def test_rfc5173_examples() -> None:
    assert run(
        'require "body"; if body :raw :contains "MAKE MONEY FAST" { discard; }', message(body="make money fast")
    ).actions == [Discard()]
    script = 'require ["body", "fileinto"]; if body :content "text" :contains ["missile", "coordinates"] { fileinto "secrets"; }'
    assert _fileinto(run(script, MULTIPART)) == ["secrets"]
    script = 'require ["body", "fileinto"]; if body :content "audio/mp3" :contains "" { fileinto "jukebox"; }'
    assert _fileinto(run(script, MULTIPART)) == ["jukebox"]
    script = 'require ["body", "fileinto"]; if body :text :contains "project schedule" { fileinto "project/schedule"; }'
    assert _fileinto(run(script, MULTIPART)) == ["project/schedule"]
    # transfer and charset decoding for :text, none for :raw
    assert run('require "body"; if body :text :contains "Zürich" { discard; }', MULTIPART).actions == [Discard()]
    assert run('require "body"; if body :raw :contains "Zürich" { discard; }', MULTIPART).actions == [
        Keep(implicit=True)
    ]
    assert run('require "body"; if body :raw :contains "Z=FCrich" { discard; }', MULTIPART).actions == [Discard()]


FORWARDED = (
    b"From: uma@example.com\r\nTo: bob@example.com\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="fw"\r\n\r\n'
    b"This is the preamble.\r\n"
    b"--fw\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
    b"--fw\r\nContent-Type: message/rfc822\r\n\r\n"
    b"Message-ID: <inner@example.com>\r\nSubject: Quarterly\r\nContent-Type: text/plain\r\n\r\n"
    b"The inner invoice.\r\n"
    b"--fw--\r\n"
    b"trailing epilogue words\r\n"
)


def test_rfc5173_content_multipart_and_message() -> None:
    # §5.3: a matching multipart is searched in its prologue and epilogue only, a matching
    # message/rfc822 in the nested message's header only; the search still descends into both.
    def hits(content: str, key: str) -> bool:
        script = f'require "body"; if body :content "{content}" :contains "{key}" {{ discard; }}'
        return run(script, FORWARDED).actions == [Discard()]

    assert hits("multipart", "preamble") and hits("multipart", "epilogue words")
    assert not hits("multipart", "See below") and not hits("multipart", "--fw")
    assert hits("message/rfc822", "inner@example.com") and hits("message/rfc822", "Subject: Quarterly")
    assert not hits("message/rfc822", "inner invoice")
    assert hits("text/plain", "inner invoice") and not hits("text/plain", "inner@example.com")
    assert hits("", "preamble") and hits("", "inner@example.com") and hits("", "inner invoice")
    # a multipart without a closing delimiter has a prologue but no epilogue
    unclosed = FORWARDED.split(b"--fw--")[0]
    assert run('require "body"; if body :content "multipart" :contains "preamble" { discard; }', unclosed).actions == [
        Discard()
    ]
    # :text is unchanged: text parts only
    assert run('require "body"; if body :text :contains "preamble" { discard; }', FORWARDED).actions == [
        Keep(implicit=True)
    ]


# -- mailbox (RFC 5490), copy, fileinto :create -----------------------------------


def test_mailbox() -> None:
    script = """require ["mailbox", "fileinto", "reject"];
        fileinto :create "SomeMailbox";
        if mailboxexists "Partners" { fileinto "Partners"; }"""
    assert run(script).actions == [FileInto("SomeMailbox", create=True)]
    assert run(script, env=MemoryEnv(mailboxes={"Partners"})).actions == [
        FileInto("SomeMailbox", create=True),
        FileInto("Partners"),
    ]


# -- include (RFC 6609) ------------------------------------------------------------


def test_rfc6609_include_and_globals() -> None:
    main = """require ["include", "variables", "relational", "fileinto"];
        global "test";
        global "test_mailbox";
        set "test" "$$";
        include "subject_tests";
        set "test" "Make money";
        include "subject_tests";
        if string :count "eq" "${test_mailbox}" "1" { fileinto "${test_mailbox}"; stop; }"""
    sub = """require ["include", "variables"];
        global ["test", "test_mailbox"];
        if header :contains "Subject" "${test}" { set "test_mailbox" "spam-${test}"; }"""
    env = MemoryEnv(scripts={("personal", "subject_tests"): sub})
    assert _fileinto(run(main, message(Subject="Make money fast"), env=env)) == ["spam-Make money"]
    assert _fileinto(run(main, message(Subject="cheap $$"), env=env)) == ["spam-$$"]
    assert run(main, env=env).actions == [Keep(implicit=True)]


def test_include_return_once_optional_and_errors() -> None:
    env = MemoryEnv(
        scripts={
            ("personal", "a"): 'require ["include", "fileinto"]; fileinto "a"; return; fileinto "not";',
            ("global", "g"): 'require "fileinto"; fileinto "g";',
            ("personal", "loop"): 'require "include"; include "loop";',
            ("personal", "broken"): "bogus;",
            ("personal", "stopper"): "stop;",
        }
    )
    script = 'require ["include", "fileinto"]; include "a"; include :once "a"; include :global "g"; include :optional "missing"; fileinto "end";'
    assert _fileinto(run(script, env=env)) == ["a", "g", "end"]
    for bad in ('include "missing";', 'include "loop";', 'include "broken";'):
        result = run('require "include"; ' + bad, env=env)
        assert result.actions == [Keep(implicit=True)] and result.errors, bad
    # stop in an included script ends everything; return at top level acts like stop
    assert run('require ["include", "fileinto"]; include "stopper"; fileinto "x";', env=env).actions == [
        Keep(implicit=True)
    ]
    assert run('require ["include", "fileinto"]; return; fileinto "x";').actions == [Keep(implicit=True)]


# -- duplicate (RFC 7352) -----------------------------------------------------------


def test_rfc7352_examples() -> None:
    script = 'require ["duplicate", "fileinto", "mailbox"]; if duplicate { fileinto :create "Trash/Duplicate"; }'
    first = run(script)
    assert first.actions == [Keep(implicit=True)]
    [(key, seconds)] = first.duplicate_marks
    assert seconds == 7 * 86400
    again = run(script, env=MemoryEnv(seen={key}))
    assert again.actions == [FileInto("Trash/Duplicate", create=True)]
    assert again.duplicate_marks == []  # not refreshed without :last

    script = """require ["duplicate", "variables", "imap4flags", "fileinto"];
        if header :matches "subject" "ALERT: *" {
          if duplicate :seconds 60 :uniqueid "${1}" { setflag "\\\\seen"; }
          fileinto "Alerts";
        }"""
    first = run(script, message(Subject="ALERT: disk full"))
    assert first.actions == [FileInto("Alerts")]
    [(key, seconds)] = first.duplicate_marks
    assert seconds == 60
    again = run(script, message(Subject="ALERT: disk full", Message_ID="<other@x>"), env=MemoryEnv(seen={key}))
    assert again.actions == [FileInto("Alerts", flags=("\\Seen",))]

    script = 'require ["duplicate"]; if duplicate :header "X-Event-ID" :handle "notifier" :last { discard; }'
    assert run(script).duplicate_marks == []  # no such header: no tracking
    first = run(script, message(X_Event_ID="42"))
    [(key, _)] = first.duplicate_marks
    again = run(script, message(X_Event_ID="42"), env=MemoryEnv(seen={key}))
    assert again.actions == [Discard()] and again.duplicate_marks == [(key, 7 * 86400)]  # :last refreshes
    other_handle = run(script.replace("notifier", "other"), message(X_Event_ID="42"))
    assert other_handle.duplicate_marks[0][0] != key


# -- spamtest / virustest (RFC 5235) ---------------------------------------------------


def test_rfc5235_spamtest() -> None:
    script = """require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric"];
        if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "INBOX.unclassified"; }
        elsif spamtest :value "ge" :comparator "i;ascii-numeric" "3" { fileinto "INBOX.spam-trap"; }"""
    assert _fileinto(run(script)) == ["INBOX.unclassified"]
    assert _fileinto(run(script, spam_score=2)) == []
    assert _fileinto(run(script, spam_score=7)) == ["INBOX.spam-trap"]

    script = """require ["spamtestplus", "fileinto", "relational", "comparator-i;ascii-numeric"];
        if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "INBOX.unclassified"; }
        elsif spamtest :percent :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "INBOX.not-spam"; }
        elsif spamtest :percent :value "lt" :comparator "i;ascii-numeric" "37" { fileinto "INBOX.spam-trap"; }
        else { discard; }"""
    assert _fileinto(run(script)) == ["INBOX.unclassified"]
    assert _fileinto(run(script, spam_score=1, spam_percent=0)) == ["INBOX.not-spam"]
    assert _fileinto(run(script, spam_score=4, spam_percent=30)) == ["INBOX.spam-trap"]
    assert run(script, spam_score=9, spam_percent=90).actions == [Discard()]


def test_rfc5235_virustest() -> None:
    script = """require ["virustest", "fileinto", "relational", "comparator-i;ascii-numeric"];
        if virustest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "INBOX.unclassified"; }
        if virustest :value "eq" :comparator "i;ascii-numeric" "4" { fileinto "INBOX.quarantine"; }
        elsif virustest :value "eq" :comparator "i;ascii-numeric" "5" { discard; }"""
    assert _fileinto(run(script)) == ["INBOX.unclassified"]
    assert _fileinto(run(script, virus_score=4)) == ["INBOX.quarantine"]
    assert run(script, virus_score=5).actions == [Discard()]
    assert run(script, virus_score=1).actions == [Keep(implicit=True)]


# -- regex ------------------------------------------------------------------------------


def test_regex() -> None:
    script = 'require ["regex", "variables", "fileinto"]; if header :regex "List-ID" "<([a-z]+)\\\\.(.*)>" { fileinto "lists.${1}.${2}"; }'
    assert _fileinto(run(script, message(List_ID="Sieve <SIEVE.ietf.org>"))) == ["lists.SIEVE.ietf.org"]
    script = 'require ["regex", "variables"]; set "p" "("; if header :regex "subject" "${p}" { discard; }'
    result = run(script)
    assert result.actions == [Keep(implicit=True)] and "invalid regular expression" in result.errors[0]
    script = 'require ["regex", "variables", "fileinto"]; set :quoteregex "q" "a.b*"; if string :regex "xa.b*y" "${q}" { fileinto "${q}"; }'
    assert _fileinto(run(script)) == ["a\\.b\\*"]
    assert run('require "regex"; if header :regex "subject" "^[[:alpha:]]+$" { discard; }').actions == [Discard()]


# -- vacation (RFC 5230, RFC 6131) -------------------------------------------------------


def test_rfc5230_examples() -> None:
    script = """require "vacation";
        if header :contains "subject" "cyrus" {
            vacation "I'm out -- send mail to cyrus-bugs";
        } else {
            vacation "I'm out -- call me at +1 304 555 0123";
        }"""
    [vacation, keep] = run(script).actions
    assert isinstance(vacation, Vacation) and keep == Keep(implicit=True)
    assert vacation.reason == "I'm out -- call me at +1 304 555 0123"
    assert vacation.reply_to == "alice@example.org" and vacation.seconds == 7 * 86400
    assert vacation.suppressed is None and vacation.handle

    script = """require ["vacation", "variables"];
        if header :matches "subject" "*" { vacation :subject "Automatic response to: ${1}" "I'm away"; }"""
    [vacation, _] = run(script).actions
    assert isinstance(vacation, Vacation) and vacation.subject == "Automatic response to: Test"

    script = """require "vacation";
        vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"]
         "I'm away until October 19. If it's an emergency, call 911, I guess." ;"""
    msg = message(To="tjs@example.edu")
    [vacation, _] = run(script, msg).actions
    assert isinstance(vacation, Vacation)
    assert vacation.seconds == 23 * 86400 and vacation.suppressed is None
    assert vacation.addresses == ("tjs@example.edu", "ts4z@landru.example.edu")


def test_vacation_periods_and_handles() -> None:
    def period(tags: str, **kwargs: int) -> int:
        [vacation, _] = run(f'require ["vacation-seconds"]; vacation {tags} "x";', **kwargs).actions
        assert isinstance(vacation, Vacation)
        return vacation.seconds

    assert period("") == 7 * 86400
    assert period(":days 0") == 86400  # Pigeonhole's default minimum: one day
    assert period(":days 400") == 400 * 86400  # no maximum by default
    assert period(":seconds 30") == 86400
    assert period(":seconds 30", vacation_min_period=0) == 30
    assert period(":days 40", vacation_max_period=30 * 86400) == 30 * 86400
    a = run('require "vacation"; vacation :subject "s" "x";').actions[0]
    b = run('require "vacation"; vacation :subject "t" "x";').actions[0]
    c = run('require "vacation"; vacation :handle "h" "x";').actions[0]
    assert isinstance(a, Vacation) and isinstance(b, Vacation) and isinstance(c, Vacation)
    assert a.handle != b.handle and c.handle == "h"
    twice = run('require "vacation"; vacation "a"; vacation "b";')
    assert twice.actions == [Keep(implicit=True)] and twice.errors


# -- sequences (Pigeonhole sieve_before / personal / sieve_after) --------------------------


def test_sequence() -> None:
    before = 'require "fileinto"; if header :contains "subject" "spam" { fileinto "Junk"; stop; }'
    personal = 'require ["fileinto", "copy"]; fileinto :copy "Copy"; stop;'
    after = 'require "fileinto"; fileinto "After";'
    # the before script files away: the rest does not run
    result = run_sequence([before, personal, after], message(Subject="spam"))
    assert result.actions == [FileInto("Junk")]
    # stop only ends its own script; the message is still kept, so "after" runs
    result = run_sequence([before, personal, after])
    assert result.actions == [FileInto("Copy", copy=True), FileInto("After")]
    # explicit keep lets the sequence go on
    result = run_sequence(["keep;", 'redirect "x@example.net";'])
    assert result.actions == [Keep(), Redirect("x@example.net")]
    # an error in a later script keeps the earlier scripts' actions and the message
    result = run_sequence(['require "copy"; redirect :copy "a@example.net";', 'require "reject"; keep; reject "x";'])
    assert result.actions == [Redirect("a@example.net", copy=True), Keep(implicit=True)] and result.errors


def test_sequence_shares_imap4flags() -> None:
    # Pigeonhole keeps one internal flags variable for the sequence: the next script starts with the
    # flags the previous one left, and once a script used imap4flags, keep/fileinto in later
    # scripts (even without imap4flags) carry the flags.
    before = 'require ["fileinto", "copy", "imap4flags"]; fileinto :copy "Audit"; addflag "audited";'
    assert run_sequence([before, 'require "fileinto"; fileinto "Other";']).actions == [
        FileInto("Audit", copy=True),
        FileInto("Other", flags=("audited",)),
    ]
    assert run_sequence([before, 'require "imap4flags"; if hasflag "audited" { addflag "seen-it"; }']).actions == [
        FileInto("Audit", copy=True),
        Keep(flags=("audited", "seen-it"), implicit=True),
    ]
    # the later script's implicit keep after an earlier explicit keep: one INBOX store carrying both
    # scripts' flags
    after = 'require ["imap4flags", "copy"]; addflag "after"; redirect :copy "archive@example.org";'
    assert run_sequence([before, "keep;", after]).actions == [
        FileInto("Audit", copy=True),
        Keep(flags=("audited", "after")),
        Redirect("archive@example.org", copy=True),
    ]
    result = run_sequence([before, 'require ["imap4flags"]; keep :flags "";', after])
    assert result.actions == [
        FileInto("Audit", copy=True),
        Keep(flags=("audited", "after")),
        Redirect("archive@example.org", copy=True),
    ]
    # without imap4flags anywhere nothing carries flags
    assert run_sequence(['require ["fileinto", "copy"]; fileinto :copy "A";', "keep;"]).actions == [
        FileInto("A", copy=True),
        Keep(),
    ]
