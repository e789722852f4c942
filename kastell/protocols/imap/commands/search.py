"""SEARCH/UID SEARCH (RFC 9051 §6.4.4) with ESEARCH results (RFC 4731, SAVE RFC 5182),
CONDSTORE MODSEQ (RFC 7162 §3.1.5), SORT and THREAD (RFC 5256).

Keys become a ``kastell.store.search`` tree; sequence numbers are turned into
UID ranges here, because only the session knows its numbering.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kastell.protocols.imap.args import atom_arg, list_arg, number_arg, text_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command, Token
from kastell.protocols.imap.responses import compress_set, parse_search_date, quoted, untagged
from kastell.protocols.imap.selected import Selected
from kastell.protocols.imap.thread import thread_orderedsubject, thread_references
from kastell.store import search as s
from kastell.store.flags import Flag

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

_SET = re.compile(r"[0-9*:,]+\Z|\$\Z")
_FLAGS = {
    "ANSWERED": (Flag.ANSWERED, True),
    "DELETED": (Flag.DELETED, True),
    "DRAFT": (Flag.DRAFT, True),
    "FLAGGED": (Flag.FLAGGED, True),
    "SEEN": (Flag.SEEN, True),
    "UNANSWERED": (Flag.ANSWERED, False),
    "UNDELETED": (Flag.DELETED, False),
    "UNDRAFT": (Flag.DRAFT, False),
    "UNFLAGGED": (Flag.FLAGGED, False),
    "UNSEEN": (Flag.SEEN, False),
}
_TEXT = {"BCC": "bcc", "BODY": "body", "CC": "cc", "FROM": "from", "SUBJECT": "subject", "TEXT": "text", "TO": "to"}
_DATES = {
    "BEFORE": ("internal", "before"),
    "ON": ("internal", "on"),
    "SINCE": ("internal", "since"),
    "SENTBEFORE": ("sent", "before"),
    "SENTON": ("sent", "on"),
    "SENTSINCE": ("sent", "since"),
}
_NOTHING = s.Not(s.All())
CHARSETS = {"UTF-8", "US-ASCII"}
# Bounds on a search program: nesting (NOT, OR, parentheses) and keys in all. Real
# clients stay far below; beyond them a hostile command would exhaust the stack or
# the database's expression limits (SQLite: depth 1000).
MAX_KEY_DEPTH = 200
MAX_KEYS = 500


class _Keys:
    def __init__(self, tokens: list[Token], selected: Selected, budget: list[int] | None = None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.selected = selected
        self.uses_modseq = False
        self.budget = budget if budget is not None else [MAX_KEYS]  # shared with nested lists

    def take(self) -> Token:
        if self.pos >= len(self.tokens):
            raise Bad("Missing search key argument")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def all(self, depth: int = 0) -> s.Key:
        keys = []
        while self.pos < len(self.tokens):
            keys.append(self.key(depth))
        if not keys:
            raise Bad("Missing search key")
        return keys[0] if len(keys) == 1 else s.And(tuple(keys))

    def key(self, depth: int = 0) -> s.Key:
        if depth > MAX_KEY_DEPTH:
            raise Bad("Search keys nested too deeply")
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise Bad("Too many search keys")
        token = self.take()
        if isinstance(token, list):
            inner = _Keys(token, self.selected, self.budget)
            key = inner.all(depth + 1)
            self.uses_modseq |= inner.uses_modseq
            return key
        if isinstance(token, bytes):
            raise Bad("Unexpected string in search")
        name = token.upper()
        if _SET.match(name):
            return s.UidKey(tuple(self.selected.seq_ranges(str(token))))
        if name in _FLAGS:
            flag, present = _FLAGS[name]
            return s.FlagKey(int(flag), present)
        if name in _TEXT:
            return s.TextKey(_TEXT[name], text_arg(self.take()))  # type: ignore[arg-type]
        if name in _DATES:
            which, op = _DATES[name]
            try:
                day = parse_search_date(text_arg(self.take()))
            except (ValueError, IndexError):
                raise Bad("Invalid search date") from None
            return s.DateKey(which, op, day)  # type: ignore[arg-type]
        if name == "ALL":
            return s.All()
        if name in ("RECENT", "NEW", "OLD"):
            recent = sorted(self.selected.recent)
            is_recent: s.Key = s.UidKey(tuple((u, u) for u in recent)) if recent else _NOTHING
            if name == "NEW":
                return s.And((is_recent, s.FlagKey(int(Flag.SEEN), False)))
            return s.Not(is_recent) if name == "OLD" else is_recent
        if name in ("KEYWORD", "UNKEYWORD"):
            return s.KeywordKey(text_arg(self.take()), name == "KEYWORD")
        if name in ("LARGER", "SMALLER"):
            return s.SizeKey("larger" if name == "LARGER" else "smaller", number_arg(self.take()))
        if name == "HEADER":
            field = text_arg(self.take())
            return s.HeaderKey(field, text_arg(self.take()))
        if name == "NOT":
            return s.Not(self.key(depth + 1))
        if name == "OR":
            return s.Or(self.key(depth + 1), self.key(depth + 1))
        if name == "UID":
            return s.UidKey(tuple(self.selected.uid_ranges(text_arg(self.take()))))
        if name == "MODSEQ":
            self.uses_modseq = True
            value = self.take()
            if isinstance(value, bytes):  # entry-name entry-type-req: accepted, not distinguished
                self.take()
                value = self.take()
            return s.ModSeqKey(number_arg(value))
        raise Bad(f"Unknown search key {name[:30]}")


def _criteria(session: Session, tokens: list[Token]) -> tuple[s.Key, bool]:
    """CHARSET handling and the key tree; (key, uses MODSEQ)."""
    if len(tokens) >= 2 and isinstance(tokens[0], Atom) and tokens[0].upper() == "CHARSET":
        charset = text_arg(tokens[1]).upper()
        if charset not in CHARSETS:
            raise No("Unsupported charset", "BADCHARSET (UTF-8 US-ASCII)")
        tokens = tokens[2:]
    keys = _Keys(tokens, session.require_selected())
    key = keys.all()
    return key, keys.uses_modseq


async def handle_search(session: Session, command: Command) -> str:
    selected = session.require_selected()
    uid_mode = command.name == "UID SEARCH"
    tokens = list(command.args)
    returns: list[str] | None = None
    if len(tokens) >= 2 and isinstance(tokens[0], Atom) and tokens[0].upper() == "RETURN":
        returns = [atom_arg(t) for t in list_arg(tokens[1])] or ["ALL"]
        tokens = tokens[2:]
    elif session.rev2:
        returns = ["ALL"]  # RFC 9051 §6.4.4: IMAP4rev2 answers with ESEARCH
    key, uses_modseq = _criteria(session, tokens)
    if uses_modseq:
        session.enabled.add("CONDSTORE")
    found = await s.search(session.require_mailbox(), selected.folder.id, key, within=_view(selected))
    hits = [(seq, uid) for seq, uid in selected.filter_known(uid for uid, _ in found)]
    modseq = max((m for uid, m in found if selected.seq_of(uid)), default=0)
    numbers = [uid if uid_mode else seq for seq, uid in hits]
    if returns is None:
        tail = f" (MODSEQ {modseq})" if uses_modseq and numbers else ""
        session.send(untagged("SEARCH" + "".join(f" {n}" for n in numbers) + tail))
        return f"{command.name} completed"
    if "SAVE" in returns:
        selected.saved = [uid for _, uid in hits]
        if returns == ["SAVE"]:
            return f"{command.name} completed"
    parts = [b"ESEARCH (TAG " + quoted(command.tag) + b")"]
    if uid_mode:
        parts.append(b"UID")
    if numbers:
        if "MIN" in returns:
            parts.append(b"MIN %d" % min(numbers))
        if "MAX" in returns:
            parts.append(b"MAX %d" % max(numbers))
        if "ALL" in returns:
            parts.append(b"ALL " + compress_set(numbers).encode())
    if "COUNT" in returns:
        parts.append(b"COUNT %d" % len(numbers))
    if uses_modseq and numbers:
        parts.append(b"MODSEQ %d" % modseq)
    session.send(untagged(b" ".join(parts)))
    return f"{command.name} completed"


def _view(selected: Selected) -> list[tuple[int, int]] | None:
    """The UID span this session knows (new arrivals are not searchable before EXISTS)."""
    return [(1, selected.max_uid())] if selected.uids else [(0, 0)]


_SORT_KEYS = {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO"}


async def handle_sort(session: Session, command: Command) -> str:
    selected = session.require_selected()
    uid_mode = command.name == "UID SORT"
    if len(command.args) < 3:
        raise Bad("SORT needs criteria, a charset and search keys")
    order: list[tuple[s.SortKey, bool]] = []
    reverse = False
    for token in list_arg(command.args[0]):
        name = atom_arg(token)
        if name == "REVERSE":
            reverse = True
            continue
        if name not in _SORT_KEYS:
            raise Bad(f"Unknown sort criterion {name[:30]}")
        order.append((name.lower(), reverse))  # type: ignore[arg-type]
        reverse = False
    if not order:
        raise Bad("Empty sort criteria")
    key, _ = _criteria(session, [Atom("CHARSET"), *command.args[1:]])
    uids = await s.sort(session.require_mailbox(), selected.folder.id, key, order, within=_view(selected))
    numbers = [uid if uid_mode else selected.seq_of(uid) for uid in uids if selected.seq_of(uid)]
    session.send(untagged("SORT" + "".join(f" {n}" for n in numbers)))
    return f"{command.name} completed"


async def handle_thread(session: Session, command: Command) -> str:
    selected = session.require_selected()
    uid_mode = command.name == "UID THREAD"
    if len(command.args) < 3:
        raise Bad("THREAD needs an algorithm, a charset and search keys")
    algorithm = atom_arg(command.args[0])
    if algorithm not in ("REFERENCES", "ORDEREDSUBJECT"):
        raise No("Unsupported threading algorithm")
    key, _ = _criteria(session, [Atom("CHARSET"), *command.args[1:]])
    rows = await s.thread_rows(session.require_mailbox(), selected.folder.id, key, within=_view(selected))
    rows = [r for r in rows if selected.seq_of(r.uid)]
    threads = thread_references(rows) if algorithm == "REFERENCES" else thread_orderedsubject(rows)
    number = (lambda uid: uid) if uid_mode else selected.seq_of
    rendered = "".join(t.render(number) for t in threads)
    session.send(untagged("THREAD" + (" " + rendered if rendered else "")))
    return f"{command.name} completed"
