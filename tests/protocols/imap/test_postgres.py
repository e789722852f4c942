"""The IMAP paths that reach SQL (store.search, FETCH listing, SELECT) on PostgreSQL too.

The other IMAP tests run on the embedded SQLite; this one repeats the queries
that differ by dialect (aggregate_strings, ILIKE, the pg_trgm full-text index)
against a private PostgreSQL cluster (tests/peers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import PostgresCluster
from tests.protocols.imap.conftest import ImapServer, start_server, stop_server
from tests.protocols.imap.test_search import MESSAGES


@pytest.fixture
def pg_server(tmp_path: Path, postgres: PostgresCluster) -> Iterator[ImapServer]:
    server, thread = start_server(tmp_path / "data", db_url=postgres.new_database())
    yield server
    stop_server(server, thread)


def test_search_sort_thread_fetch_on_postgresql(pg_server: ImapServer) -> None:
    assert pg_server.app.settings.database_url.startswith("postgresql")
    client = pg_server.client()
    for message, flags, when in MESSAGES:
        client.append("INBOX", flags, f'"{when}"', message)
    assert client.select("INBOX")[1] == [b"5"]
    for criteria, expected in [
        ("FROM bob", "1 4"),
        ("SUBJECT LUNCH", "1 2 4"),
        ("BODY noon", "1 2"),
        ("TEXT invoice", "3 5"),
        ("HEADER X-Priority 1", "2"),
        ("OR FLAGGED DRAFT", "3 5"),
        ("NOT OR DELETED SEEN", "3 5"),
        ("SINCE 4-Jan-2024", "4 5"),
        ("KEYWORD $Bill", "3"),
        ("LARGER 1000", "2"),
    ]:
        assert client.search(None, criteria)[1] == [expected.encode()], criteria
    assert client.sort("(SUBJECT)", "UTF-8", "ALL")[1] == [b"3 5 1 2 4"]
    assert client.thread("REFERENCES", "UTF-8", "ALL")[1] == [b"(1 2 4)(3 5)"]
    typ, data = client.fetch("1:*", "(UID FLAGS ENVELOPE BODYSTRUCTURE)")
    assert typ == "OK" and len(data) == 5
    client.store("4", "+FLAGS", "(\\Deleted)")
    assert client.expunge()[1] == [b"4"]
    typ, data = client.uid("MOVE", "1", "Archive")
    assert typ == "OK"
    assert b"MESSAGES 3" in client.status("INBOX", "(MESSAGES)")[1][0]
    client.logout()
