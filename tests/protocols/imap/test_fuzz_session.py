"""Hypothesis-generated command lines against a live session: never a crash, never a server bug.

Every generated line must get a tagged answer (OK, NO or BAD) without
``[SERVERBUG]`` (what the session says when a handler raised something
unexpected), and the connection must still answer NOOP afterwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.protocols.imap.conftest import ImapServer, start_server, stop_server
from tests.protocols.imap.test_session import Raw

MESSAGE = b"From: a@example.org\r\nSubject: fuzz\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n"
# Commands that change the connection itself (TLS, compression, IDLE, logout) are left out.
VERBS = [
    "FETCH", "UID FETCH", "SEARCH", "UID SEARCH", "STORE", "UID STORE", "COPY", "UID COPY", "MOVE", "UID MOVE",
    "LIST", "LSUB", "STATUS", "SELECT", "EXAMINE", "SORT", "UID SORT", "THREAD", "UID THREAD", "CREATE",
    "DELETE", "RENAME", "SUBSCRIBE", "ENABLE", "EXPUNGE", "UID EXPUNGE", "CLOSE", "UNSELECT", "NOOP",
    "GETQUOTAROOT", "NAMESPACE", "ID", "CHECK", "APPEND", "CAPABILITY",
]  # fmt: skip
WORDS = [
    "1", "2", "*", "1:*", "$", "0", "4294967296", "1,3:2", "INBOX", "Trash", '""', '"a b"', "(", ")", "()",
    "(FLAGS)", "BODY[]", "BODY.PEEK[1.2.MIME]<0.5>", "BINARY[2]", "BODY[HEADER.FIELDS (X)]", "ENVELOPE",
    "BODYSTRUCTURE", "FLAGS", "+FLAGS", "-FLAGS.SILENT", "(\\Seen $x)", "\\Deleted", "OR", "NOT", "ALL",
    "FROM", "x", "HEADER", "SINCE", "1-Jan-2024", "bogus-date", "LARGER", "-1", "UID", "MODSEQ", "RETURN",
    "(MIN MAX)", "(SAVE)", "CHARSET", "UTF-8", "(SUBJECT REVERSE)", "REFERENCES", "(CHANGEDSINCE 1)",
    "(UNCHANGEDSINCE 0)", "(QRESYNC (1 1))", "(CONDSTORE)", "QRESYNC", "CONDSTORE", "UTF8=ACCEPT", "%",
    "NIL", "(MESSAGES SIZE DELETED)", "&AOQ-", "\u00e4", "\\", '"\\"', "~",
]  # fmt: skip


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Raw]:
    server: ImapServer
    server, thread = start_server(tmp_path_factory.mktemp("fuzz") / "data")
    raw = Raw(server)
    raw.login()
    for folder in (b"INBOX", b"Trash"):
        raw.send(b"a APPEND %s {%d+}\r\n%s\r\n" % (folder, len(MESSAGE), MESSAGE))
        raw.until(b"a")
    yield raw
    raw.close()
    stop_server(server, thread)


_tags = itertools.count()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(VERBS), st.lists(st.sampled_from(WORDS), max_size=7))
def test_random_commands_never_break_the_session(session: Raw, verb: str, words: list[str]) -> None:
    tag = b"f%d" % next(_tags)
    session.send(tag + b" " + " ".join([verb, *words]).encode() + b"\r\n")
    lines = session.until(tag)
    assert lines[-1].split(b" ")[1] in (b"OK", b"NO", b"BAD"), lines[-1]
    assert not any(b"SERVERBUG" in line for line in lines), lines
    check = b"n%d" % next(_tags)
    session.send(check + b" NOOP\r\n")
    assert session.until(check)[-1].startswith(check + b" OK")
