"""The full-text index on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm): substring semantics, scope, lifecycle."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from sqlalchemy import column, func, select, table

from kastell.db import schema as s
from kastell.formats import mime
from kastell.store import fulltext
from kastell.store.mailbox import Mailbox
from kastell.store.model import NewItem

from .storehelp import Env, make_account, message, open_env


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


async def search(env: Env, box: Mailbox, folder_id: int, query: str, **kw: object) -> set[int]:
    """The answer, asserted to be the same before the background indexer ran (SQLite) and after."""
    async with env.db.read() as conn:
        before = await fulltext.search_item_ids(conn, box.org_id, box.id, folder_id, query, **kw)  # type: ignore[arg-type]
    while await fulltext.index_pending(env.db):
        pass
    async with env.db.read() as conn:
        after = await fulltext.search_item_ids(conn, box.org_id, box.id, folder_id, query, **kw)  # type: ignore[arg-type]
    assert after == before, (query, before, after)
    return after


def html_message(n: int, html: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: b@example.test\r\nSubject: html {n}\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    ).encode()


def attachment_message(payload: bytes) -> bytes:
    encoded = base64.encodebytes(payload).decode().replace("\n", "\r\n")
    return (
        "From: a@example.org\r\nTo: b@example.test\r\nSubject: with attachment\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee the attached file\r\n"
        '--b\r\nContent-Type: application/octet-stream; name="x.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + encoded
        + "--b--\r\n"
    ).encode()


def test_substrings_case_and_umlauts(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        a = await box.append(inbox.id, NewItem(message(1, "The quarterly Budget report is ready")))
        b = await box.append(inbox.id, NewItem(message(2, "Grüße aus München, schöne ÜBERRASCHUNG")))
        c = await box.append(inbox.id, NewItem(message(3, "nothing to see here")))
        assert await search(env, box, inbox.id, "budget") == {a.item_id}
        assert await search(env, box, inbox.id, "UDGET REP") == {a.item_id}  # inside words, across a space
        assert await search(env, box, inbox.id, "port is") == {a.item_id}
        assert await search(env, box, inbox.id, "münchen") == {b.item_id}
        assert await search(env, box, inbox.id, "MÜNCHEN") == {b.item_id}
        assert await search(env, box, inbox.id, "überr") == {b.item_id}
        assert await search(env, box, inbox.id, "grüße") == {b.item_id}
        assert await search(env, box, inbox.id, "absent words") == set()
        # Subject and addresses are indexed too (store/search.py serves SEARCH TEXT from the index).
        assert await search(env, box, inbox.id, "sender3@example") == {c.item_id}
        assert await search(env, box, inbox.id, "nothing to see") == {c.item_id}
        # The empty string is a substring of everything.
        assert await search(env, box, inbox.id, "") == {a.item_id, b.item_id, c.item_id}
        await env.close()

    run(main())


def test_short_queries(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        a = await box.append(inbox.id, NewItem(message(1, "qz ÄÖ", subject="s")))
        b = await box.append(inbox.id, NewItem(message(2, "xx", subject="t")))
        assert await search(env, box, inbox.id, "q") == {a.item_id}
        assert await search(env, box, inbox.id, "QZ") == {a.item_id}
        assert await search(env, box, inbox.id, "ä") == {a.item_id}
        assert await search(env, box, inbox.id, "äö") == {a.item_id}
        assert await search(env, box, inbox.id, "XX") == {b.item_id}
        assert await search(env, box, inbox.id, "ÿ") == set()
        await env.close()

    run(main())


def test_special_characters_are_literal(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        a = await box.append(inbox.id, NewItem(message(1, 'he said "hello" at 100% speed a_b c\\d')))
        b = await box.append(inbox.id, NewItem(message(2, "he said hello at 1000 speed axb cxd")))
        assert await search(env, box, inbox.id, '"hello"') == {a.item_id}
        assert await search(env, box, inbox.id, 'd "h') == {a.item_id}
        assert await search(env, box, inbox.id, "100%") == {a.item_id}
        assert await search(env, box, inbox.id, "%") == {a.item_id}
        assert await search(env, box, inbox.id, "a_b") == {a.item_id}
        assert await search(env, box, inbox.id, "_") == {a.item_id}
        assert await search(env, box, inbox.id, "c\\d") == {a.item_id}
        assert await search(env, box, inbox.id, "hello") == {a.item_id, b.item_id}
        # FTS5 query syntax in the query is just text.
        assert await search(env, box, inbox.id, "hello AND speed") == set()
        assert await search(env, box, inbox.id, "hel*") == set()
        assert await search(env, box, inbox.id, "a\x00b") == set()
        assert await search(env, box, inbox.id, "\udcff") == set()
        await env.close()

    run(main())


def test_html_and_attachments(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        h = await box.append(
            inbox.id, NewItem(html_message(1, "<p>Dear <b>customer</b>,</p><div class=x>thanks</div>"))
        )
        payload = b"zyxwvutsrq" * 300
        att = await box.append(inbox.id, NewItem(attachment_message(payload)))
        assert await search(env, box, inbox.id, "customer") == {h.item_id}
        assert await search(env, box, inbox.id, "class") == set()  # tags are not text
        assert await search(env, box, inbox.id, "<b>") == set()
        assert await search(env, box, inbox.id, "attached file") == {att.item_id}
        chunk = base64.b64encode(payload)[40:60].decode()
        assert await search(env, box, inbox.id, chunk) == set()  # base64 of attachments is not indexed
        assert await search(env, box, inbox.id, "zyxwv") == set()
        # An attached message is body: its subject and text are found.
        forwarded = (
            b"From: a@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="f"\r\n\r\n--f\r\nContent-Type: text/plain\r\n\r\nsee below\r\n'
            b"--f\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner topic\r\nFrom: x@example.net\r\n\r\n"
            b"inner words\r\n--f--\r\n"
        )
        fwd = await box.append(inbox.id, NewItem(forwarded))
        assert await search(env, box, inbox.id, "inner topic") == {fwd.item_id}
        assert await search(env, box, inbox.id, "inner words") == {fwd.item_id}
        await env.close()

    run(main())


def test_tenancy_and_folder_scope(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        alice = await make_account(env, "org", "alice@a.test")
        bob = await make_account(env, "org", "bob@a.test")
        eve = await make_account(env, "other", "eve@b.test")
        a_inbox = await alice.folder_by_role("inbox")
        a_sent = await alice.folder_by_role("sent")
        b_inbox = await bob.folder_by_role("inbox")
        e_inbox = await eve.folder_by_role("inbox")
        mine = await alice.append(a_inbox.id, NewItem(message(1, "secret plans")))
        await alice.append(a_sent.id, NewItem(message(2, "secret plans")))
        await bob.append(b_inbox.id, NewItem(message(3, "secret plans")))
        await eve.append(e_inbox.id, NewItem(message(4, "secret plans")))
        assert await search(env, alice, a_inbox.id, "secret") == {mine.item_id}
        assert await search(env, alice, a_inbox.id, "se") == {mine.item_id}
        # Another mailbox's folder id, or another organisation, finds nothing.
        assert await search(env, alice, b_inbox.id, "secret") == set()
        assert await search(env, alice, e_inbox.id, "secret") == set()
        assert await search(env, alice, b_inbox.id, "") == set()
        async with env.db.read() as conn:
            assert await fulltext.search_item_ids(conn, eve.org_id, alice.id, a_inbox.id, "secret") == set()
        await env.close()

    run(main())


def test_candidates(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        added = await box.append_many(inbox.id, [NewItem(message(n, "common words")) for n in range(1, 11)])
        ids = [a.item_id for a in added]
        assert await search(env, box, inbox.id, "common", candidates=ids[:3]) == set(ids[:3])
        assert await search(env, box, inbox.id, "co", candidates=ids[:3]) == set(ids[:3])
        assert await search(env, box, inbox.id, "common", candidates=[]) == set()
        big = set(ids[5:]) | set(range(10**6, 10**6 + 1000))  # intersected in Python
        assert await search(env, box, inbox.id, "common", candidates=big) == set(ids[5:])
        await env.close()

    run(main())


def test_delete_move_copy(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        archive = await box.folder_by_role("archive")
        trash = await box.folder_by_role("trash")
        added = await box.append_many(inbox.id, [NewItem(message(n, f"word{n} shared")) for n in range(1, 5)])
        ids = [a.item_id for a in added]
        while await fulltext.index_pending(env.db):  # SQLite indexes in the background; do it now
            pass
        # Expunge: the index row goes with the item (ON DELETE CASCADE, FTS triggers).
        await box.expunge(inbox.id, [(added[0].uid, added[0].uid)])
        assert await search(env, box, inbox.id, "word1") == set()
        assert await search(env, box, inbox.id, "shared") == set(ids[1:])
        # Move keeps the item id: found in the new folder, not in the old one.
        await box.move(inbox.id, [(added[1].uid, added[1].uid)], archive.id)
        assert await search(env, box, archive.id, "word2") == {ids[1]}
        assert await search(env, box, inbox.id, "word2") == set()
        assert await search(env, box, archive.id, "wo") == {ids[1]}
        # Copy: a new id, found in both folders.
        await box.copy(inbox.id, [(added[2].uid, added[2].uid)], trash.id)
        copied = await search(env, box, trash.id, "word3")
        assert len(copied) == 1 and copied != {ids[2]}
        assert await search(env, box, inbox.id, "word3") == {ids[2]}
        # Deleting the folder removes its items and their index rows.
        await box.delete_folder(trash.id)
        async with env.db.read() as conn:
            rows = await conn.scalar(
                select(func.count()).select_from(s.item_text).where(s.item_text.c.item_id.in_(copied))
            )
            total = await conn.scalar(select(func.count()).select_from(s.item_text))
        while await fulltext.index_pending(env.db):  # deletes leave item_words in the background too
            pass
        async with env.db.read() as conn:
            if env.db.dialect == "sqlite":
                # The word index holds exactly the rows of item_text (the triggers ran on cascades).
                fts = await conn.exec_driver_sql("SELECT rowid FROM item_words WHERE item_words MATCH '\"shared\"'")
                assert {row[0] for row in fts} == set(ids[1:])
        assert rows == 0 and total == 3
        await env.close()

    run(main())


def test_text_is_bounded_and_clean(tmp_path: Path) -> None:
    big = message(1, "x" * 10 + "\x00" + "y" * 300_000)
    parsed = mime.parse_message(big)
    body = fulltext.message_text(big, parsed)
    assert len(body) <= fulltext.TEXT_LIMIT and "\x00" not in body
    assert fulltext.message_text(b"", mime.parse_message(b"")) == ""


def test_non_messages_have_no_text(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        notes = await box.folder_by_role("notes")
        await box.append(notes.id, NewItem(b"BEGIN:VJOURNAL\r\nSUMMARY:findme\r\nEND:VJOURNAL\r\n", kind="note"))
        assert await search(env, box, notes.id, "findme") == set()
        await env.close()

    run(main())


def test_deferred_indexing_gives_the_same_answers(tmp_path: Path, db_url: str) -> None:
    """SQLite indexes in the background; answers are the same before and after, deletes stay consistent."""

    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        ids = [
            (await box.append(inbox.id, NewItem(message(n, body)))).item_id
            for n, body in enumerate(["Straße nach Köln", "STRASSE", "quarterly report", "reporting"])
        ]
        queries = ["köln", "KÖLN", "report", "PORT", "ass", "nothing at all"]
        before = {q: await search(env, box, inbox.id, q) for q in queries}
        assert before["köln"] == before["KÖLN"] == {ids[0]}
        assert before["report"] == {ids[2], ids[3]}
        while await fulltext.index_pending(env.db, 2):
            pass
        after = {q: await search(env, box, inbox.id, q) for q in queries}
        assert after == before
        # One indexed item deleted, one more added (pending), then deleted too.
        await box.expunge(inbox.id, [(1, 1)])
        late = await box.append(inbox.id, NewItem(message(9, "late köln mail")))
        assert await search(env, box, inbox.id, "köln") == {late.item_id}
        await box.expunge(inbox.id, [(late.uid, late.uid)])
        assert await search(env, box, inbox.id, "köln") == set()
        while await fulltext.index_pending(env.db, 2):  # the deleted row leaves item_words
            pass
        if env.db.dialect == "sqlite":
            async with env.db.write() as conn:
                await conn.exec_driver_sql("INSERT INTO item_words(item_words) VALUES ('integrity-check')")
                pending = await conn.scalar(
                    select(func.count()).select_from(s.item_text).where(s.item_text.c.indexed == False)  # noqa: E712
                )
            assert pending == 0
        await env.close()

    run(main())


def test_deleted_rows_leave_the_index_before_a_reused_id_enters(tmp_path: Path, db_url: str) -> None:
    """SQLite reuses the highest rowid after a delete; the old text must never answer for the new item."""

    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        old = await box.append(inbox.id, NewItem(message(1, "unicorn meadow")))
        while await fulltext.index_pending(env.db):
            pass
        await box.expunge(inbox.id, [(old.uid, old.uid)])
        new = await box.append(inbox.id, NewItem(message(2, "dragon cave")))
        if env.db.dialect == "sqlite":
            assert new.item_id == old.item_id  # the case this test is about
        for _ in range(2):  # before the indexer catches up, and after
            assert await search(env, box, inbox.id, "unicorn") == set()
            assert await search(env, box, inbox.id, "dragon") == {new.item_id}
            while await fulltext.index_pending(env.db, 1):
                pass
        if env.db.dialect == "sqlite":
            async with env.db.write() as conn:
                await conn.exec_driver_sql("INSERT INTO item_words(item_words) VALUES ('integrity-check')")
        await env.close()

    run(main())


def test_word_parts(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Letters-and-digits queries (answered from the word index on SQLite) keep substring semantics."""

    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        a = await box.append(inbox.id, NewItem(message(1, "Invoice INV2024x77 for Müller-Lüdenscheidt, snake_case")))
        b = await box.append(inbox.id, NewItem(message(2, "invoices and REPORTS, überweisung")))
        c = await box.append(inbox.id, NewItem(message(3, "nothing relevant here")))
        assert await search(env, box, inbox.id, "voice") == {a.item_id, b.item_id}
        assert await search(env, box, inbox.id, "inv2024X7") == {a.item_id}
        assert await search(env, box, inbox.id, "2024") == {a.item_id}
        assert await search(env, box, inbox.id, "lüdensch") == {a.item_id}
        assert await search(env, box, inbox.id, "ÜBERW") == {b.item_id}
        assert await search(env, box, inbox.id, "snake") == {a.item_id}
        assert await search(env, box, inbox.id, "snake_case") == {a.item_id}  # "_" is not a letter
        assert await search(env, box, inbox.id, "ake_ca") == {a.item_id}
        assert await search(env, box, inbox.id, "müller-lü") == {a.item_id}
        assert await search(env, box, inbox.id, "ller-lüdenscheidt, sn") == {a.item_id}
        assert await search(env, box, inbox.id, "ller-lüden, sn") == set()
        assert await search(env, box, inbox.id, "invoices and rep") == {b.item_id}
        assert await search(env, box, inbox.id, "voices and reports") == {b.item_id}
        assert await search(env, box, inbox.id, "invoice and") == set()  # "invoice" is not a whole word there
        assert await search(env, box, inbox.id, ", ") == {a.item_id, b.item_id}
        assert await search(env, box, inbox.id, "ports") == {b.item_id}
        assert await search(env, box, inbox.id, "re") == {b.item_id, c.item_id}
        assert await search(env, box, inbox.id, "xyzzy") == set()
        # More words contain "e" than the word index is asked for: the answer is the same.
        monkeypatch.setattr(fulltext, "_MAX_TERMS", 2)
        assert await search(env, box, inbox.id, "e") == {a.item_id, b.item_id, c.item_id}
        assert await search(env, box, inbox.id, "nvoic") == {a.item_id, b.item_id}
        if env.db.dialect == "sqlite":
            async with env.db.write() as conn:
                await conn.exec_driver_sql("INSERT INTO item_words(item_words) VALUES ('integrity-check')")
                await conn.exec_driver_sql("INSERT INTO word_terms_fts(word_terms_fts) VALUES ('integrity-check')")
        await env.close()

    run(main())


def test_answers_are_the_substring_answers(tmp_path: Path, db_url: str) -> None:
    """Random texts and queries (substrings across word boundaries, punctuation, case): the index
    answers exactly what a case-insensitive substring scan of the stored texts answers."""
    import random

    rng = random.Random(7)
    pieces = ["Report", "port", "über", "ÜBER", "a1", "42", "x", "snake_case", "-", ", ", ". ", "  ", "@", "é", "Σ"]

    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        for n in range(40):
            body = "".join(rng.choice(pieces) + rng.choice(["", " "]) for _ in range(rng.randint(1, 12)))
            await box.append(inbox.id, NewItem(message(n, body)))
        async with env.db.read() as conn:
            rows = (await conn.execute(select(s.item_text.c.item_id, s.item_text.c.text))).all()
        texts = {int(item_id): fulltext.unpack(stored).lower() for item_id, stored in rows}
        queries = ["", "report", "port ", " port", "er a1", "42x", "-", "@", ", ", "e_c"]
        for _ in range(150):
            item_text = rng.choice(list(texts.values()))
            start = rng.randrange(len(item_text))
            queries.append(item_text[start : start + rng.randint(1, 12)])
            queries.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 3))))
        for query in queries:
            expected = {item_id for item_id, body in texts.items() if query.lower() in body}
            assert await search(env, box, inbox.id, query) == expected, query
        await env.close()

    run(main())


def test_vocabulary_forgets_words_of_deleted_mail(tmp_path: Path) -> None:
    async def main() -> None:
        env = await open_env(tmp_path)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        gone = await box.append(inbox.id, NewItem(message(1, "tracking id zq7x9k2 and shared words")))
        kept = await box.append(inbox.id, NewItem(message(2, "shared words stay")))
        while await fulltext.index_pending(env.db):
            pass
        assert await fulltext.prune_vocabulary(env.db) == 0  # every word still has a message
        await box.expunge(inbox.id, [(gone.uid, gone.uid)])
        while await fulltext.index_pending(env.db):
            pass
        assert await fulltext.prune_vocabulary(env.db) >= 2  # "zq7x9k2", "tracking", ...
        async with env.db.read() as conn:
            terms = set(await conn.scalars(select(column("term")).select_from(table("word_terms"))))
        assert "zq7x9k2" not in terms and "tracking" not in terms and {"shared", "words", "stay"} <= terms
        assert await search(env, box, inbox.id, "shared wor") == {kept.item_id}
        assert await search(env, box, inbox.id, "zq7x") == set()
        # A word that comes back after being forgotten is found again.
        again = await box.append(inbox.id, NewItem(message(3, "zq7x9k2 returns")))
        assert await search(env, box, inbox.id, "q7x9") == {again.item_id}
        async with env.db.write() as conn:
            await conn.exec_driver_sql("INSERT INTO word_terms_fts(word_terms_fts) VALUES ('integrity-check')")
        await env.close()

    run(main())
