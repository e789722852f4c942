"""Validation: the untyped tree from ``grammar`` checked against the command
table, producing :class:`~kastell.sieve.nodes.Node` objects.

The table (:data:`COMMANDS`, :data:`TESTS`) is data: for each command or
test, the extension that must be required, the tags it accepts (with their
argument type, their mutually exclusive group and the extension that
enables them), and the positional signatures.  A few commands need checks
that do not fit a table (``require`` placement, ``elsif`` after ``if``,
constant-argument checks such as a valid relational operator, a compilable
regex, a known date part); those live in ``_CHECKS``.

Every error is a :class:`SieveSyntaxError` pointing at the offending token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .errors import SieveSyntaxError
from .grammar import RawArg, RawCommand, RawTest
from .nodes import Arg, Node
from .regex import RegexError, compile_regex

__all__ = ["ADDRESS_HEADERS", "COMPARATORS", "DATE_PARTS", "EXTENSIONS", "RELATIONS", "validate"]

#: What ManageSieve advertises in its "SIEVE" capability (RFC 5804 §1.7).
EXTENSIONS: tuple[str, ...] = (
    "fileinto",
    "reject",
    "ereject",
    "envelope",
    "encoded-character",
    "body",
    "variables",
    "relational",
    "comparator-i;ascii-numeric",
    "subaddress",
    "imap4flags",
    "date",
    "copy",
    "mailbox",
    "include",
    "duplicate",
    "vacation",
    "vacation-seconds",
    "spamtest",
    "spamtestplus",
    "virustest",
    "regex",
)
# The two comparators every implementation has may be required too (§2.7.3).
_ACCEPTED = frozenset(EXTENSIONS) | {"comparator-i;octet", "comparator-i;ascii-casemap"}
# Requiring one extension makes another available (RFC 6131 §2, RFC 5235 §3.2).
_IMPLIES = {"vacation-seconds": ("vacation",), "spamtestplus": ("spamtest",)}

COMPARATORS = {
    "i;octet": None,
    "i;ascii-casemap": None,
    "i;ascii-numeric": "comparator-i;ascii-numeric",
}
RELATIONS = frozenset({"gt", "ge", "lt", "le", "eq", "ne"})
DATE_PARTS = frozenset(
    {
        "year",
        "month",
        "day",
        "date",
        "julian",
        "hour",
        "minute",
        "second",
        "time",
        "iso8601",
        "std11",
        "zone",
        "weekday",
    }
)
#: Headers the address test accepts (RFC 5228 §5.1 requires a restriction;
#: this is the list Pigeonhole uses).
ADDRESS_HEADERS = frozenset(
    {
        "from", "to", "cc", "bcc", "sender", "resent-from", "resent-to", "reply-to", "resent-reply-to",
        "resent-sender", "resent-cc", "resent-bcc", "for-approval", "for-handling", "for-comment",
        "apparently-to", "errors-to", "delivered-to", "return-receipt-to", "x-admin", "read-receipt-to",
        "x-confirm-reading-to", "return-receipt-requested", "registered-mail-reply-requested-by",
        "mail-followup-to", "mail-reply-to", "abuse-reports-to", "x-complaints-to", "x-report-abuse-to",
        "x-beenthere", "x-original-from", "x-original-to", "return-path",
    }
)  # fmt: skip
_ENVELOPE_PARTS = frozenset({"from", "to", "auth"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ZONE = re.compile(r"[+-][0-9]{4}\Z")
_VARIABLE_REF = "${"
_REFERENCE = re.compile(r"\$\{([^{}]*)\}")
# RFC 5229 §3: variable-ref = "${" [namespace] variable-name "}",
# namespace = identifier "." *(variable-name "."); group 1 is the namespace's
# first component, group 2 the sub-namespaces, group 3 the variable name.
_NAMESPACED = re.compile(
    r"([A-Za-z_][A-Za-z0-9_]*)\.((?:(?:[0-9]+|[A-Za-z_][A-Za-z0-9_]*)\.)*)([0-9]+|[A-Za-z_][A-Za-z0-9_]*)\Z"
)

S, SL, N = "string", "string-list", "number"


@dataclass(frozen=True)
class TagSpec:
    arg: str | None = None  # None for a flag tag, else S / SL / N
    group: str | None = None  # tags of one group exclude each other
    ext: str | None = None  # the extension that must be required


@dataclass(frozen=True)
class Spec:
    ext: tuple[str, ...] = ()  # one of these must be required
    tags: Mapping[str, TagSpec] = field(default_factory=dict)
    positional: tuple[tuple[str, ...], ...] = ((),)
    tests: str = "none"  # "none" | "one" | "list" | "optional-one"
    block: bool = False
    required_group: str | None = None


MATCH = {
    ":is": TagSpec(group="match"),
    ":contains": TagSpec(group="match"),
    ":matches": TagSpec(group="match"),
    ":regex": TagSpec(group="match", ext="regex"),
    ":count": TagSpec(S, "match", "relational"),
    ":value": TagSpec(S, "match", "relational"),
    ":comparator": TagSpec(S, "comparator"),
}
ADDRESS_PART = {
    ":all": TagSpec(group="address-part"),
    ":localpart": TagSpec(group="address-part"),
    ":domain": TagSpec(group="address-part"),
    ":user": TagSpec(group="address-part", ext="subaddress"),
    ":detail": TagSpec(group="address-part", ext="subaddress"),
}
_FLAGS = {":flags": TagSpec(SL, ext="imap4flags")}

COMMANDS: dict[str, Spec] = {
    "require": Spec(positional=((SL,),)),
    "if": Spec(tests="one", block=True),
    "elsif": Spec(tests="one", block=True),
    "else": Spec(block=True),
    "stop": Spec(),
    "keep": Spec(tags=_FLAGS),
    "discard": Spec(),
    "fileinto": Spec(
        ext=("fileinto",),
        tags={**_FLAGS, ":copy": TagSpec(ext="copy"), ":create": TagSpec(ext="mailbox")},
        positional=((S,),),
    ),
    "redirect": Spec(tags={":copy": TagSpec(ext="copy")}, positional=((S,),)),
    "reject": Spec(ext=("reject",), positional=((S,),)),
    "ereject": Spec(ext=("ereject",), positional=((S,),)),
    "vacation": Spec(
        ext=("vacation",),
        tags={
            ":days": TagSpec(N, "period"),
            ":seconds": TagSpec(N, "period", "vacation-seconds"),
            ":subject": TagSpec(S),
            ":from": TagSpec(S),
            ":addresses": TagSpec(SL),
            ":mime": TagSpec(),
            ":handle": TagSpec(S),
        },
        positional=((S,),),
    ),
    "set": Spec(
        ext=("variables",),
        tags={
            ":lower": TagSpec(group="case"),
            ":upper": TagSpec(group="case"),
            ":lowerfirst": TagSpec(group="first"),
            ":upperfirst": TagSpec(group="first"),
            ":quotewildcard": TagSpec(),
            ":quoteregex": TagSpec(ext="regex"),
            ":length": TagSpec(),
        },
        positional=((S, S),),
    ),
    "setflag": Spec(ext=("imap4flags",), positional=((SL,), (S, SL))),
    "addflag": Spec(ext=("imap4flags",), positional=((SL,), (S, SL))),
    "removeflag": Spec(ext=("imap4flags",), positional=((SL,), (S, SL))),
    "include": Spec(
        ext=("include",),
        tags={
            ":personal": TagSpec(group="location"),
            ":global": TagSpec(group="location"),
            ":once": TagSpec(),
            ":optional": TagSpec(),
        },
        positional=((S,),),
    ),
    "return": Spec(ext=("include",)),
    "global": Spec(ext=("include",), positional=((SL,),)),
}

TESTS: dict[str, Spec] = {
    "address": Spec(tags={**MATCH, **ADDRESS_PART}, positional=((SL, SL),)),
    "envelope": Spec(ext=("envelope",), tags={**MATCH, **ADDRESS_PART}, positional=((SL, SL),)),
    "header": Spec(tags=MATCH, positional=((SL, SL),)),
    "exists": Spec(positional=((SL,),)),
    "size": Spec(
        tags={":over": TagSpec(group="size"), ":under": TagSpec(group="size")},
        positional=((N,),),
        required_group="size",
    ),
    "allof": Spec(tests="list"),
    "anyof": Spec(tests="list"),
    "not": Spec(tests="one"),
    "true": Spec(),
    "false": Spec(),
    "body": Spec(
        ext=("body",),
        tags={
            **MATCH,
            ":raw": TagSpec(group="transform"),
            ":content": TagSpec(SL, "transform"),
            ":text": TagSpec(group="transform"),
        },
        positional=((SL,),),
    ),
    "string": Spec(ext=("variables",), tags=MATCH, positional=((SL, SL),)),
    "hasflag": Spec(ext=("imap4flags",), tags=MATCH, positional=((SL,), (SL, SL))),
    "date": Spec(
        ext=("date",),
        tags={**MATCH, ":zone": TagSpec(S, "zone"), ":originalzone": TagSpec(group="zone")},
        positional=((S, S, SL),),
    ),
    "currentdate": Spec(ext=("date",), tags={**MATCH, ":zone": TagSpec(S, "zone")}, positional=((S, SL),)),
    "mailboxexists": Spec(ext=("mailbox",), positional=((SL,),)),
    "duplicate": Spec(
        ext=("duplicate",),
        tags={
            ":handle": TagSpec(S),
            ":header": TagSpec(S, "id"),
            ":uniqueid": TagSpec(S, "id"),
            ":seconds": TagSpec(N),
            ":last": TagSpec(),
        },
    ),
    "spamtest": Spec(ext=("spamtest",), tags={**MATCH, ":percent": TagSpec(ext="spamtestplus")}, positional=((S,),)),
    "virustest": Spec(ext=("virustest",), tags=MATCH, positional=((S,),)),
}


def _err(line: int, column: int, reason: str) -> SieveSyntaxError:
    return SieveSyntaxError(line, column, reason)


# Encoded characters (RFC 5228 §2.4.2.4).  A sequence that does not match
# the grammar is left as it is; one that matches but yields invalid UTF-8 or
# an invalid code point is an error.
_ENCODED = re.compile(r"\$\{(hex|unicode):([ \t\r\n0-9A-Fa-f]*)\}", re.I)


def decode_encoded(value: str, line: int, column: int) -> str:
    if "${" not in value:
        return value

    def repl(m: re.Match[str]) -> str:
        kind = m.group(1).lower()
        items = m.group(2).split()
        if kind == "hex":
            if any(len(item) > 2 for item in items):
                return m.group(0)
            try:
                return bytes(int(item, 16) for item in items).decode("utf-8")
            except UnicodeDecodeError:
                raise _err(line, column, "invalid UTF-8 in ${hex:...} encoded character") from None
        out = []
        for item in items:
            code = int(item, 16) if len(item) <= 8 else 0x110000
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise _err(line, column, f"invalid unicode character {item!r} in ${{unicode:...}}")
            out.append(chr(code))
        return "".join(out)

    return _ENCODED.sub(repl, value)


class _Validator:
    def __init__(self) -> None:
        self.requires: set[str] = set()
        self.seen_other = False
        self.positions: dict[int, list[RawArg]] = {}  # id(raw node) -> its positional arguments

    def has(self, ext: str) -> bool:
        return ext in self.requires

    # -- strings ------------------------------------------------------------

    def arg_value(self, arg: RawArg) -> Arg:
        if arg.kind == "number":
            assert isinstance(arg.value, int)
            return arg.value
        assert isinstance(arg.value, list)
        values = arg.value
        if self.has("encoded-character"):
            values = [decode_encoded(v, arg.line, arg.column) for v in values]
        if self.has("variables"):
            for value in values:
                self.check_namespaces(value, arg.line, arg.column)
        if not arg.is_list:
            return values[0]
        return values

    def check_namespaces(self, value: str, line: int, column: int) -> None:
        """RFC 5229 §3: "References to namespaces without a prior require
        statement for the relevant extension MUST cause an error."  Every
        reference is in the script text (substitution is one pass, so a
        value never forms a new reference), so this is checked here, at
        upload.  The only namespace is "global." of include (RFC 6609 §3.5),
        which has no sub-namespaces."""
        if "${" not in value:
            return
        for m in _REFERENCE.finditer(value):
            ref = _NAMESPACED.match(m.group(1))
            if ref is None:
                continue  # no namespace, or not a reference at all (left as text)
            namespace = ref.group(1).lower()
            if namespace == "global" and self.has("include"):
                if ref.group(2) or not _IDENTIFIER.match(ref.group(3)):
                    raise _err(line, column, f"invalid variable name {m.group(1)!r} in the 'global' namespace")
                continue
            raise _err(line, column, f"reference {m.group(0)!r} to the unknown namespace '{ref.group(1)}'")

    def constant(self, value: str) -> bool:
        """True when ``value`` cannot change at run time."""
        return not (self.has("variables") and _VARIABLE_REF in value)

    # -- the generic table check ------------------------------------------

    def node(self, raw: RawCommand | RawTest, spec: Spec, what: str) -> Node:
        node = Node(raw.name, raw.line, raw.column)
        if spec.ext and not any(self.has(e) for e in spec.ext):
            raise _err(raw.line, raw.column, f"{what} '{raw.name}' requires extension '{spec.ext[0]}'")
        groups: dict[str, str] = {}
        positional: list[RawArg] = []
        i = 0
        args = raw.args
        while i < len(args):
            arg = args[i]
            i += 1
            if arg.kind != "tag":
                positional.append(arg)
                continue
            if positional:
                raise _err(
                    arg.line, arg.column, f"tag '{arg.value}' must come before the positional arguments of '{raw.name}'"
                )
            name = str(arg.value)
            tspec = spec.tags.get(name)
            if tspec is None:
                raise _err(arg.line, arg.column, f"unknown tag '{name}' for {what} '{raw.name}'")
            if tspec.ext and not self.has(tspec.ext):
                raise _err(arg.line, arg.column, f"tag '{name}' requires extension '{tspec.ext}'")
            if name in node.tags:
                raise _err(arg.line, arg.column, f"tag '{name}' given twice")
            if tspec.group is not None:
                if tspec.group in groups:
                    raise _err(arg.line, arg.column, f"tag '{name}' cannot be combined with '{groups[tspec.group]}'")
                groups[tspec.group] = name
            if tspec.arg is None:
                node.tags[name] = True
                continue
            if i >= len(args) or args[i].kind == "tag":
                raise _err(arg.line, arg.column, f"tag '{name}' needs a {tspec.arg} argument")
            value_arg = args[i]
            i += 1
            self.check_type(value_arg, tspec.arg, f"argument of tag '{name}'")
            node.tags[name] = self.arg_value(value_arg)
        self.positions[id(raw)] = positional
        if spec.required_group is not None and spec.required_group not in groups:
            raise _err(raw.line, raw.column, f"{what} '{raw.name}' needs one of {self.group_names(spec)}")
        signature = next((sig for sig in spec.positional if len(sig) == len(positional)), None)
        if signature is None:
            counts = " or ".join(str(len(sig)) for sig in spec.positional)
            where = positional[len(spec.positional[-1])] if len(positional) > len(spec.positional[-1]) else raw
            raise _err(
                where.line,
                where.column,
                f"{what} '{raw.name}' takes {counts} positional argument(s), got {len(positional)}",
            )
        for arg, kind in zip(positional, signature, strict=True):
            self.check_type(arg, kind, f"argument of {what} '{raw.name}'")
            node.args.append(self.arg_value(arg))
        # tests
        if spec.tests == "none" and raw.tests:
            t = raw.tests[0]
            raise _err(t.line, t.column, f"{what} '{raw.name}' takes no test (missing ';' before '{t.name}'?)")
        if spec.tests == "one" and (len(raw.tests) != 1 or raw.test_list):
            raise _err(raw.line, raw.column, f"{what} '{raw.name}' needs exactly one test")
        if spec.tests == "list" and not raw.test_list:
            raise _err(raw.line, raw.column, f"{what} '{raw.name}' needs a test list in parentheses")
        node.tests = [self.test(t) for t in raw.tests]
        self.match_options(node, raw)
        return node

    @staticmethod
    def group_names(spec: Spec) -> str:
        return "/".join(n for n, t in spec.tags.items() if t.group == spec.required_group)

    @staticmethod
    def check_type(arg: RawArg, kind: str, what: str) -> None:
        if kind == N and arg.kind != "number":
            raise _err(arg.line, arg.column, f"{what} must be a number")
        if kind == S and (arg.kind != "strings" or arg.is_list):
            raise _err(arg.line, arg.column, f"{what} must be a string")
        if kind == SL and arg.kind != "strings":
            raise _err(arg.line, arg.column, f"{what} must be a string list")

    def match_options(self, node: Node, raw: RawCommand | RawTest) -> None:
        """Resolve match type, comparator and address part; check them."""
        for tag in (":is", ":contains", ":matches", ":regex", ":count", ":value"):
            if tag in node.tags:
                node.match = tag
                if tag in (":count", ":value"):
                    rel = node.tags[tag]
                    assert isinstance(rel, str)
                    if rel.lower() not in RELATIONS:
                        line, col = self.tag_pos(raw, tag)
                        raise _err(line, col, f"invalid relational operator {rel!r} for '{tag}'")
                    node.relation = rel.lower()
        if node.name in ("spamtest", "virustest"):
            node.comparator = "i;ascii-numeric"  # RFC 5235 §3.1 default
        comparator = node.tags.get(":comparator")
        if isinstance(comparator, str):
            line, col = self.tag_pos(raw, ":comparator")
            name = comparator.lower()
            if name not in COMPARATORS:
                raise _err(line, col, f"unknown comparator {comparator!r}")
            ext = COMPARATORS[name]
            if ext is not None and not self.has(ext):
                raise _err(line, col, f"comparator {comparator!r} requires extension '{ext}'")
            node.comparator = name
        if node.comparator == "i;ascii-numeric" and node.match in (":contains", ":matches", ":regex"):
            line, col = self.tag_pos(raw, node.match)
            raise _err(line, col, f"comparator 'i;ascii-numeric' does not support the '{node.match}' match type")
        for tag in ADDRESS_PART:
            if tag in node.tags:
                node.address_part = tag

    @staticmethod
    def tag_pos(raw: RawCommand | RawTest, tag: str) -> tuple[int, int]:
        for arg in raw.args:
            if arg.kind == "tag" and arg.value == tag:
                return arg.line, arg.column
        return raw.line, raw.column

    def positional_pos(self, raw: RawCommand | RawTest, index: int) -> tuple[int, int]:
        pos = self.positions.get(id(raw), [])
        if index < len(pos):
            return pos[index].line, pos[index].column
        return raw.line, raw.column

    # -- commands -----------------------------------------------------------

    def commands(self, raws: list[RawCommand], top: bool) -> list[Node]:
        out: list[Node] = []
        previous: str | None = None
        for raw in raws:
            if raw.name == "require":
                if not top or self.seen_other:
                    raise _err(raw.line, raw.column, "'require' must come before any other command")
            else:
                self.seen_other = True
            if raw.name in ("elsif", "else") and previous not in ("if", "elsif"):
                raise _err(raw.line, raw.column, f"'{raw.name}' without a preceding 'if'")
            out.append(self.command(raw))
            previous = raw.name
        return out

    def command(self, raw: RawCommand) -> Node:
        spec = COMMANDS.get(raw.name)
        if spec is None:
            if raw.name in TESTS:
                raise _err(raw.line, raw.column, f"'{raw.name}' is a test, not a command")
            raise _err(raw.line, raw.column, f"unknown command '{raw.name}'")
        if spec.block and raw.block is None:
            raise _err(raw.line, raw.column, f"'{raw.name}' needs a block")
        if not spec.block and raw.block is not None:
            raise _err(raw.line, raw.column, f"'{raw.name}' takes no block (missing ';'?)")
        node = self.node(raw, spec, "command")
        check = _CHECKS.get(raw.name)
        if check is not None:
            check(self, node, raw)
        if raw.block is not None:
            node.block = self.commands(raw.block, False)
        return node

    def test(self, raw: RawTest) -> Node:
        spec = TESTS.get(raw.name)
        if spec is None:
            if raw.name in COMMANDS:
                raise _err(raw.line, raw.column, f"'{raw.name}' is a command, not a test")
            raise _err(raw.line, raw.column, f"unknown test '{raw.name}'")
        node = self.node(raw, spec, "test")
        self.check_keys(node, raw)
        check = _CHECKS.get(raw.name)
        if check is not None:
            check(self, node, raw)
        return node

    def check_keys(self, node: Node, raw: RawTest) -> None:
        """Constant :regex keys must compile (checked at upload, like Pigeonhole)."""
        if node.match != ":regex" or not node.args:
            return
        keys = node.strings(len(node.args) - 1)
        line, col = self.positional_pos(raw, len(node.args) - 1)
        for key in keys:
            if self.constant(key):
                try:
                    compile_regex(key, node.comparator)
                except RegexError as exc:
                    raise _err(line, col, f"invalid regular expression {key!r}: {exc}") from None


# -- per-command checks ------------------------------------------------------

_Check = Callable[[_Validator, Node, RawCommand | RawTest], None]


def _check_require(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    line, col = v.positional_pos(raw, 0)
    for ext in node.strings(0):
        if ext not in _ACCEPTED:
            raise _err(line, col, f"unsupported extension {ext!r}")
        v.requires.add(ext)
        v.requires.update(_IMPLIES.get(ext, ()))


def _check_set(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    name = node.string(0)
    if not v.constant(name) or not _valid_variable_name(name, v.has("include")):
        line, col = v.positional_pos(raw, 0)
        raise _err(line, col, f"invalid variable name {name!r}")


def _valid_variable_name(name: str, include: bool) -> bool:
    if _IDENTIFIER.match(name):
        return True
    head, _, tail = name.partition(".")
    return include and head.lower() == "global" and bool(_IDENTIFIER.match(tail))


def _check_flag_variable(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    if len(node.args) == 2:
        line, col = v.positional_pos(raw, 0)
        if not v.has("variables"):
            raise _err(line, col, f"the variable argument of '{node.name}' requires extension 'variables'")
        names = node.strings(0)
        for name in names:
            if not v.constant(name) or not _valid_variable_name(name, v.has("include")):
                raise _err(line, col, f"invalid variable name {name!r}")


def _check_address(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    line, col = v.positional_pos(raw, 0)
    for header in node.strings(0):
        if v.constant(header) and header.lower() not in ADDRESS_HEADERS:
            raise _err(line, col, f"header {header!r} is not allowed for the address test")


def _check_envelope(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    line, col = v.positional_pos(raw, 0)
    for part in node.strings(0):
        if v.constant(part) and part.lower() not in _ENVELOPE_PARTS:
            raise _err(line, col, f"unknown envelope part {part!r}")


def _check_date(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    index = 1 if node.name == "date" else 0
    part = node.string(index)
    if v.constant(part) and part.lower() not in DATE_PARTS:
        line, col = v.positional_pos(raw, index)
        raise _err(line, col, f"unknown date part {part!r}")
    zone = node.tag_string(":zone")
    if zone is not None and v.constant(zone) and not _ZONE.match(zone):
        line, col = v.tag_pos(raw, ":zone")
        raise _err(line, col, f"invalid time zone {zone!r} (expected +hhmm or -hhmm)")


def _check_redirect(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    from .addresses import valid_mailbox

    address = node.string(0)
    if v.constant(address) and not valid_mailbox(address):
        line, col = v.positional_pos(raw, 0)
        raise _err(line, col, f"invalid redirect address {address!r}")


def _check_vacation(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    from .addresses import valid_mailbox

    sender = node.tag_string(":from")
    if sender is not None and v.constant(sender) and not valid_mailbox(sender, allow_phrase=True):
        line, col = v.tag_pos(raw, ":from")
        raise _err(line, col, f"invalid :from address {sender!r}")


def _check_include(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    name = node.string(0)
    if v.constant(name) and not valid_script_name(name):
        line, col = v.positional_pos(raw, 0)
        raise _err(line, col, f"invalid script name {name!r}")


def valid_script_name(name: str) -> bool:
    """RFC 5804 §1.6 script names: non-empty, no control characters; no "/"
    (Pigeonhole's file storage rule)."""
    return 0 < len(name) <= 256 and "/" not in name and not any(ord(c) < 32 or ord(c) == 127 for c in name)


def _check_global(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    line, col = v.positional_pos(raw, 0)
    if not v.has("variables"):
        raise _err(raw.line, raw.column, "command 'global' requires extension 'variables'")
    for name in node.strings(0):
        if not v.constant(name) or not _IDENTIFIER.match(name):
            raise _err(line, col, f"invalid global variable name {name!r}")


def _check_duplicate(v: _Validator, node: Node, raw: RawCommand | RawTest) -> None:
    header = node.tag_string(":header")
    if header is not None and v.constant(header) and not re.fullmatch(r"[!-9;-~]+", header):
        line, col = v.tag_pos(raw, ":header")
        raise _err(line, col, f"invalid header name {header!r}")


_CHECKS: dict[str, _Check] = {
    "require": _check_require,
    "set": _check_set,
    "setflag": _check_flag_variable,
    "addflag": _check_flag_variable,
    "removeflag": _check_flag_variable,
    "hasflag": _check_flag_variable,
    "address": _check_address,
    "envelope": _check_envelope,
    "date": _check_date,
    "currentdate": _check_date,
    "redirect": _check_redirect,
    "vacation": _check_vacation,
    "include": _check_include,
    "global": _check_global,
    "duplicate": _check_duplicate,
}


def validate(raws: list[RawCommand]) -> tuple[list[Node], frozenset[str]]:
    """Check the tree; returns the nodes and the set of required extensions."""
    v = _Validator()
    nodes = v.commands(raws, True)
    return nodes, frozenset(v.requires)
