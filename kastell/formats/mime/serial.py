"""Compact, exact serialisation of :class:`ParsedMessage` for the cache.

Format: UTF-8 JSON of positional arrays (no key names), the first element
being :data:`FORMAT_VERSION`.  Raw header bytes travel as latin-1 strings
(a lossless byte<->code point mapping); lone surrogates, which only exotic
charsets such as UTF-7 can produce, pass through ``surrogatepass``.  JSON
rather than pickle/marshal because the cache outlives Python versions and
must never execute anything when read.  :func:`loads` raises ValueError on
data it does not understand; callers re-parse the raw message then.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .model import Address, BodyPart, Envelope, ParsedMessage

__all__ = ["FORMAT_VERSION", "dumps", "loads"]

FORMAT_VERSION = 1

_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_load = json.JSONDecoder().decode


def _b(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _unb(value: str | None) -> bytes | None:
    return None if value is None else value.encode("latin-1")


def _addrs(addrs: tuple[Address, ...]) -> list[Any]:
    return [[a.name, a.mailbox, a.host, _b(a.raw_name)] for a in addrs]


def _env(e: Envelope) -> list[Any]:
    return [
        _b(e.date), _b(e.subject), _addrs(e.from_), _addrs(e.sender), _addrs(e.reply_to),
        _addrs(e.to), _addrs(e.cc), _addrs(e.bcc), _b(e.in_reply_to), _b(e.message_id),
    ]  # fmt: skip


def _part(p: BodyPart) -> list[Any]:
    out = [
        p.header_start, p.body_start, p.body_end, p.type, p.subtype,
        p.params, p.id, p.description, p.encoding,
        p.disposition, p.disposition_params,
        list(p.language), p.location, p.md5, p.lines,
        [_part(c) for c in p.children], None if p.envelope is None else _env(p.envelope),
    ]  # fmt: skip
    # IMAP's parameter forms and names, rarely set: only then written (entries
    # written before they existed have 17 or 19 elements and load with None).
    if p.imap_names is not None:
        out += [p.imap_params, p.imap_disposition_params, p.imap_names]
    elif p.imap_params is not None or p.imap_disposition_params is not None:
        out += [p.imap_params, p.imap_disposition_params]
    return out


def dumps(msg: ParsedMessage) -> bytes:
    """Serialise ``msg``; ``loads(dumps(msg)) == msg`` always holds."""
    data = [
        FORMAT_VERSION, msg.size, _part(msg.root), _env(msg.envelope), msg.subject,
        msg.from_addr, msg.from_name, msg.to_addrs, msg.cc_addrs,
        None if msg.date is None else msg.date.isoformat(),
        msg.message_id, msg.in_reply_to, msg.references, msg.has_attachments, msg.preview,
    ]  # fmt: skip
    if msg.imap_differs:  # rare: only then written (older entries load as False)
        data.append(True)
    return _dump(data).encode("utf-8", "surrogatepass")


def _load_addrs(items: list[Any]) -> tuple[Address, ...]:
    # Most lists are empty or hold one address: skip the generator machinery.
    if not items:
        return ()
    return tuple([Address(n, m, h, None if r is None else r.encode("latin-1")) for n, m, h, r in items])


def _load_env(e: list[Any]) -> Envelope:
    return Envelope(
        _unb(e[0]), _unb(e[1]), _load_addrs(e[2]), _load_addrs(e[3]), _load_addrs(e[4]),
        _load_addrs(e[5]), _load_addrs(e[6]), _load_addrs(e[7]), _unb(e[8]), _unb(e[9]),
    )  # fmt: skip


def _pairs(pairs: list[list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple(map(tuple, pairs))  # type: ignore[arg-type]


def _load_part(p: list[Any]) -> BodyPart:
    env = p[16]
    wire = p[17:19] if len(p) > 17 else (None, None)
    names = p[19] if len(p) > 19 else None
    return BodyPart(
        p[0], p[1], p[2], p[3], p[4], _pairs(p[5]) if p[5] else (), p[6], p[7], p[8],
        p[9], _pairs(p[10]) if p[10] else (), tuple(p[11]), p[12], p[13], p[14],
        tuple(map(_load_part, p[15])) if p[15] else (),
        None if env is None else _load_env(env),
        None if wire[0] is None else _pairs(wire[0]),
        None if wire[1] is None else _pairs(wire[1]),
        None if names is None else tuple(names),
    )  # fmt: skip


def loads(data: bytes) -> ParsedMessage:
    """Inverse of :func:`dumps`.  Raises ValueError for foreign or corrupt
    data (the caller should then re-parse the message)."""
    try:
        d = _load(data.decode("utf-8", "surrogatepass"))
        if not isinstance(d, list) or not d or d[0] != FORMAT_VERSION:
            raise ValueError("unknown MIME cache format")
        date = d[9]
        return ParsedMessage(
            d[1], _load_part(d[2]), _load_env(d[3]), d[4], d[5], d[6], tuple(d[7]), tuple(d[8]),
            None if date is None else datetime.fromisoformat(date),
            d[10], tuple(d[11]), tuple(d[12]), d[13], d[14], len(d) > 15 and d[15] is True,
        )  # fmt: skip
    except ValueError:
        raise
    except Exception as exc:  # IndexError, TypeError, ... on corrupt data
        raise ValueError(f"corrupt MIME cache entry: {exc}") from exc
