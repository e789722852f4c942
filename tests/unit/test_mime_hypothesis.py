"""Property tests for kastell.formats.mime (hypothesis).

1. parse_message never raises: arbitrary bytes, and structured random MIME
   (random nesting, boundaries that prefix each other, CRLF/LF/mixed line
   endings, unclosed multiparts, random truncation).
2. Invariants: offsets in range and nested, loads(dumps(m)) == m, every
   part number answers BODY[n] / BODY[n.MIME] with the part's bytes.
3. imap_bodystructure / imap_envelope always produce well-formed IMAP
   (checked by a small independent IMAP value parser, literals included).
4. Well-formed generated messages parse to exactly the generated tree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kastell.formats.mime import (
    BodyPart,
    ParsedMessage,
    dumps,
    extract_text,
    imap_bodystructure,
    imap_envelope,
    iter_parts,
    loads,
    parse_imap_view,
    part_text,
    section,
    to_crlf,
)
from kastell.formats.mime.addresses import _parse_simple, parse_address_list_general
from kastell.formats.mime.charsets import decode_charset
from kastell.formats.mime.encoded_words import decode_words
from kastell.formats.mime.message import parse_message_strict
from kastell.formats.mime.transfer import b64decode, qpdecode

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- an independent IMAP value parser ------------------------------------------------

_ATOM = re.compile(rb"NIL|[0-9]+")
_QUOTED = re.compile(rb'"((?:[^"\\\r\n]|\\["\\])*)"')
_LITERAL = re.compile(rb"\{([0-9]+)\}\r\n")

Imap: TypeAlias = "None | int | bytes | list[Imap]"


def imap_parse(data: bytes) -> Imap:
    """Parse one IMAP value (list, quoted, literal, NIL, number); raise on
    anything else, including trailing bytes."""
    value, pos = _value(data, 0)
    assert pos == len(data), f"trailing bytes at {pos}: {data[pos : pos + 40]!r}"
    return value


def _value(data: bytes, pos: int) -> tuple[Imap, int]:
    if data[pos : pos + 1] == b"(":
        items: list[Imap] = []
        pos += 1
        while data[pos : pos + 1] != b")":
            if items and data[pos : pos + 1] == b" ":
                pos += 1
            item, pos = _value(data, pos)
            items.append(item)
        return items, pos + 1
    m = _QUOTED.match(data, pos)
    if m:
        return re.sub(rb"\\(.)", rb"\1", m.group(1)), m.end()
    m = _LITERAL.match(data, pos)
    if m:
        n = int(m.group(1))
        body = data[m.end() : m.end() + n]
        assert len(body) == n and b"\x00" not in body
        return body, m.end() + n
    m = _ATOM.match(data, pos)
    assert m, f"unexpected {data[pos : pos + 40]!r}"
    return (None if m.group() == b"NIL" else int(m.group())), m.end()


def check_envelope(env: Imap) -> None:
    assert isinstance(env, list) and len(env) == 10
    for addrs in env[2:8]:
        assert addrs is None or (isinstance(addrs, list) and all(isinstance(a, list) and len(a) == 4 for a in addrs))


def check_body(body: Imap, part: BodyPart, ext: bool) -> None:
    """The parsed BODY[STRUCTURE] matches the part tree field by field."""
    assert isinstance(body, list)
    if part.type == "multipart":
        kids = [x for x in body if isinstance(x, list)][: max(1, len(part.children))]
        if not part.children:  # IMAP view of a broken multipart: one empty text/plain stand-in
            assert kids[0][:8] == [b"text", b"plain", [b"charset", b"us-ascii"], None, None, b"7bit", 0, 0]
        assert len(kids) == max(1, len(part.children))
        for k, c in zip(kids, part.children, strict=False):
            check_body(k, c, ext)
        rest = body[len(kids) :]
        assert rest[0] == part.subtype.encode()
        assert len(rest) == (5 if ext else 1)
        return
    assert isinstance(body[0], bytes) and isinstance(body[1], bytes)
    assert isinstance(body[6], int) and body[6] == part.body_end - part.body_start
    n = 7
    if body[0] == b"text":
        assert body[7] == part.lines
        n = 8
    elif body[0] == b"message" and body[1] in (b"rfc822", b"global"):
        check_envelope(body[7])
        check_body(body[8], part.children[0], ext)
        assert body[9] == part.lines
        n = 10
    assert len(body) == (n + 4 if ext else n)


# --- structural invariants ------------------------------------------------------------


def part_paths(root: BodyPart) -> Iterator[tuple[str, BodyPart]]:
    """Every IMAP part number with its part (RFC 9051 §6.4.5), written
    independently of section.resolve_part."""

    def message(msg_root: BodyPart, prefix: str) -> Iterator[tuple[str, BodyPart]]:
        if msg_root.is_multipart:
            for i, child in enumerate(msg_root.children, 1):
                yield from walk(child, f"{prefix}{i}")
        else:
            yield from walk(msg_root, f"{prefix}1")

    def walk(part: BodyPart, path: str) -> Iterator[tuple[str, BodyPart]]:
        yield path, part
        if part.is_multipart:
            for i, child in enumerate(part.children, 1):
                yield from walk(child, f"{path}.{i}")
        elif part.is_message:
            yield from message(part.children[0], f"{path}.")

    yield from message(root, "")


def check_all(raw: bytes, msg: ParsedMessage) -> None:
    size = len(raw)
    assert msg.size == size and msg.root.header_start == 0 and msg.root.body_end == size
    stack = [msg.root]
    while stack:
        p = stack.pop()
        assert 0 <= p.header_start <= p.body_start <= p.body_end <= size
        body = raw[p.body_start : p.body_end]
        assert p.lines == body.count(b"\n")  # line ends, as Dovecot counts
        prev = p.body_start
        for c in p.children:
            assert prev <= c.header_start and c.body_end <= p.body_end
            prev = c.body_end
        stack.extend(p.children)
    assert loads(dumps(msg)) == msg
    for ext in (True, False):
        bs = imap_bodystructure(msg.root, ext)
        check_body(imap_parse(bs), msg.root, ext)
        view = parse_imap_view(to_crlf(raw))
        check_body(imap_parse(imap_bodystructure(view.root, ext)), view.root, ext)
    check_envelope(imap_parse(imap_envelope(msg.envelope)))
    for path, part in part_paths(msg.root):
        assert section(raw, msg, path) == raw[part.body_start : part.body_end]
        assert section(raw, msg, path + ".MIME") == raw[part.header_start : part.body_start]
        if part.is_message:
            inner = part.children[0]
            assert section(raw, msg, path + ".HEADER") == raw[inner.header_start : inner.body_start]
            assert section(raw, msg, path + ".TEXT") == raw[inner.body_start : inner.body_end]
        part_text(raw, part)
    assert section(raw, msg, "HEADER") + section(raw, msg, "TEXT") == raw  # type: ignore[operator]
    assert section(raw, msg, "HEADER.FIELDS (SUBJECT FROM)") is not None
    extract_text(raw, msg, limit=5000)


@SETTINGS
@given(st.binary(max_size=4000))
def test_arbitrary_bytes(raw: bytes) -> None:
    check_all(raw, parse_message_strict(raw))


_HEADERISH = st.sampled_from(
    [b"Content-Type: multipart/mixed; boundary=x\r\n", b"\r\n", b"\n", b"--x\r\n", b"--x--\n",
     b"Content-Type: message/rfc822\n", b"Subject: =?utf-8?B?w6k=?=\r\n", b"From: a <b@c>, d:;\r\n",
     b" folded\r\n", b"Content-Transfer-Encoding: base64\r\n", b"\x00\xff", b"Content-Type: text/html\n"]
)  # fmt: skip


@SETTINGS
@given(st.lists(st.one_of(_HEADERISH, st.binary(max_size=20)), max_size=60))
def test_mime_like_soup(chunks: list[bytes]) -> None:
    raw = b"".join(chunks)
    check_all(raw, parse_message_strict(raw))


# --- structured random MIME --------------------------------------------------------------


@dataclass
class Leaf:
    ctype: bytes | None
    headers: list[bytes]
    lines: list[bytes]


@dataclass
class Multi:
    subtype: str
    boundary: bytes
    children: list[Any]
    closed: bool
    preamble: list[bytes]


@dataclass
class Msg:
    headers: list[bytes]
    child: Any


# Bodies never contain "=", boundaries always do: well-formed messages can
# then never contain a stray delimiter line, while boundaries may still be
# prefixes of one another ("=a" and "=ab").
_BODY_LINE = st.binary(max_size=30).map(
    lambda b: b.replace(b"\n", b"").replace(b"\r", b"").replace(b"=", b"")
) | st.sampled_from([b"--", b"--a", b"-- x", b"", b" ", b"\xc3\xa9t\xc3\xa9"])
_BOUNDARY = st.text(alphabet="ab", min_size=1, max_size=4).map(lambda s: ("=" + s).encode())
_LEAF_TYPE = st.sampled_from(
    [None, b"text/plain", b"text/html; charset=utf-8", b'application/pdf; name="a.pdf"', b"image/png"]
)
_LEAF_HEADER = st.sampled_from(
    [b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: quoted-printable", b"Content-ID: <x@y>",
     b"Content-Disposition: attachment; filename*=utf-8''%C3%A9.txt", b"Content-Language: en, de",
     b"Content-Description: caf\xc3\xa9", b"X-Junk: \x00\x01"]
)  # fmt: skip
_MSG_HEADER = st.sampled_from(
    [b"Subject: =?iso-8859-1?q?caf=E9?=", b"From: \"Doe, J\" <j@x>", b"To: g: a@b, c@d;", b"Date: Tue, 14 May 2024 09:12:40 +0200",
     b"Message-ID: <m@x>", b"Cc: undisclosed-recipients:;", b"Subject: \xe9t\xe9", b"Reply-To: (c) <r@x>"]
)  # fmt: skip

leaves = st.builds(Leaf, _LEAF_TYPE, st.lists(_LEAF_HEADER, max_size=2), st.lists(_BODY_LINE, max_size=4))


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        Multi, st.sampled_from(["mixed", "alternative", "related"]), _BOUNDARY, st.lists(children, max_size=4),
        st.booleans(), st.lists(_BODY_LINE, max_size=2),
    ) | st.builds(Msg, st.lists(_MSG_HEADER, max_size=3), children)  # fmt: skip


trees = st.recursive(leaves, _containers, max_leaves=10)


def _unique_boundaries(node: Any, seen: set[bytes]) -> bool:
    if isinstance(node, Multi):
        if node.boundary in seen:
            return False
        seen = seen | {node.boundary}
        return all(_unique_boundaries(c, seen) for c in node.children)
    if isinstance(node, Msg):
        return _unique_boundaries(node.child, seen)
    return True


def render(node: Any, eol: Iterator[bytes], bodies: list[bytes]) -> bytes:
    """The entity's bytes; ``eol`` yields the line ending to use next;
    leaf bodies are appended to ``bodies`` in document order."""
    if isinstance(node, Leaf):
        head = b"".join(h + next(eol) for h in ([b"Content-Type: " + node.ctype] if node.ctype else []) + node.headers)
        body = b"".join(line + next(eol) for line in node.lines[:-1]) + (node.lines[-1] if node.lines else b"")
        bodies.append(body)
        return head + next(eol) + body
    if isinstance(node, Msg):
        head = b"Content-Type: message/rfc822" + next(eol) + next(eol)
        return head + b"".join(h + next(eol) for h in node.headers) + render(node.child, eol, bodies)
    out = [
        b"Content-Type: multipart/" + node.subtype.encode() + b'; boundary="' + node.boundary + b'"',
        next(eol),
        next(eol),
    ]
    for line in node.preamble:
        out += [line, next(eol)]
    for child in node.children:
        out += [b"--" + node.boundary, next(eol), render(child, eol, bodies), next(eol)]
    if node.closed:
        out += [b"--" + node.boundary + b"--", next(eol)]
    return b"".join(out)


def expected_shape(node: Any) -> Any:
    if isinstance(node, Leaf):
        main = (node.ctype or b"text/plain").split(b";")[0].decode()
        return main
    if isinstance(node, Msg):
        return ["message/rfc822", expected_shape(node.child)]
    if not node.children:
        return "text/plain"  # a multipart without parts becomes a text/plain leaf
    return ["multipart/" + node.subtype] + [expected_shape(c) for c in node.children]


def shape(part: BodyPart) -> Any:
    name = f"{part.type}/{part.subtype}"
    if part.children:
        return [name] + [shape(c) for c in part.children]
    return name


@st.composite
def messages(draw: st.DrawFn) -> tuple[Any, bytes, list[bytes]]:
    tree = draw(trees)
    mode = draw(st.sampled_from(["crlf", "lf", "mixed"]))
    if mode == "mixed":
        pattern = draw(st.lists(st.sampled_from([b"\r\n", b"\n"]), min_size=1, max_size=16))
    else:
        pattern = [b"\r\n" if mode == "crlf" else b"\n"]

    def eols() -> Iterator[bytes]:
        i = 0
        while True:
            yield pattern[i % len(pattern)]
            i += 1

    headers = draw(st.lists(_MSG_HEADER, max_size=4))
    bodies: list[bytes] = []
    raw = b"".join(h + b"\r\n" for h in headers) + render(tree, eols(), bodies)
    return tree, raw, bodies


@SETTINGS
@given(messages(), st.data())
def test_structured_mime_never_raises_even_truncated(
    message: tuple[Any, bytes, list[bytes]], data: st.DataObject
) -> None:
    _tree, raw, _ = message
    check_all(raw, parse_message_strict(raw))
    cut = data.draw(st.integers(0, len(raw)))
    check_all(raw[:cut], parse_message_strict(raw[:cut]))


def _all_closed(node: Any) -> bool:
    if isinstance(node, Multi):
        return node.closed and all(_all_closed(c) for c in node.children)
    if isinstance(node, Msg):
        return _all_closed(node.child)
    return True


@SETTINGS
@given(messages())
def test_well_formed_messages_parse_to_the_generated_tree(message: tuple[Any, bytes, list[bytes]]) -> None:
    tree, raw, bodies = message
    assume(_all_closed(tree) and _unique_boundaries(tree, set()))
    msg = parse_message_strict(raw)
    assert shape(msg.root) == expected_shape(tree)
    leaves = [p for p in iter_parts(msg.root) if not p.children and p.type != "multipart"]
    generated = [b for b in bodies]
    if len(leaves) == len(generated):  # (empty multiparts become leaves of their own)
        assert [raw[p.body_start : p.body_end] for p in leaves] == generated


# --- small components ------------------------------------------------------------------------

_ADDR_TOKENS = st.sampled_from(
    [b"a@b", b"x.y@example.com", b"John", b"Doe", b" ", b"  ", b"\t", b",", b"<", b">", b"@", b'"', b'"Doe, J"', b'"a\\"b"',
     b"(c)", b":", b";", b".", b"=?utf-8?q?J=C3=B6rg?=", b"=?utf-8?q?a b?=", b"\xc3\xa9", b"\xff", b"[1.2.3.4]", b"\\", b"\r\n "]
)  # fmt: skip


@SETTINGS
@given(st.lists(_ADDR_TOKENS, max_size=14).map(b"".join))
def test_address_fast_path_agrees_with_general_parser(value: bytes) -> None:
    fast = _parse_simple(value)
    general = parse_address_list_general(value)
    if fast is not None:
        assert fast == general
    for a in general:
        assert a.host is not None or a.mailbox is None or a.raw_name is not None


@SETTINGS
@given(st.text(max_size=200), st.binary(max_size=200))
def test_decoders_never_raise(text: str, data: bytes) -> None:
    decode_words(text)
    decode_words("=?" + text + "?=")
    b64decode(data)
    qpdecode(data)
    qpdecode(data, header=True)
    decode_charset(data, text[:40] or None)
