"""Fuzzing: parse raises only SieveSyntaxError; evaluate never raises."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kastell.sieve import EXTENSIONS, Envelope, Keep, SieveSyntaxError, evaluate, parse

from .helpers import MemoryEnv

TOKENS = [
    "require", "if", "elsif", "else", "stop", "keep", "discard", "fileinto", "redirect", "reject", "vacation",
    "set", "setflag", "addflag", "hasflag", "include", "return", "global", "header", "address", "envelope",
    "exists", "size", "allof", "anyof", "not", "true", "false", "body", "string", "date", "currentdate",
    "duplicate", "spamtest", "virustest", "mailboxexists", ":is", ":contains", ":matches", ":regex", ":count",
    ":value", ":comparator", ":over", ":under", ":copy", ":flags", ":days", ":seconds", ":raw", ":text",
    ":content", ":zone", ":originalzone", ":handle", ":last", ":uniqueid", ":header", ":percent", ":lower",
    ":length", ":localpart", ":domain", ":detail", ":user", ":all", ":mime", ":create", ":once", ":optional",
    '"a"', '"${1}"', '"${hex:41}"', '"*"', '"gt"', '"i;ascii-numeric"', '"Subject"', '"from"', '"x@example.com"',
    '["a", "b"]', "10", "1K", "[", "]", "(", ")", "{", "}", ",", ";", "text:\nx\n.\n", "#c\n", "/* c */", "\n",
]  # fmt: skip
REQUIRE = 'require ["' + '", "'.join(EXTENSIONS) + '"];\n'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.booleans())
def test_token_soup(tokens: list[str], with_require: bool) -> None:
    text = (REQUIRE if with_require else "") + " ".join(tokens)
    try:
        parse(text)
    except SieveSyntaxError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    try:
        parse(text)
    except SieveSyntaxError:
        pass


# Structurally valid scripts: generated from the grammar, most of them also valid commands.
_strings = st.sampled_from(['"a"', '"Subject"', '"${1}"', '"*a*"', '"x@example.com"', '"0"', '"\\\\Seen"', '""'])
_string_lists = st.one_of(
    _strings, st.lists(_strings, min_size=1, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]")
)
_match = st.sampled_from(
    ["", ":is", ":contains", ":matches", ':count "ge" :comparator "i;ascii-numeric"', ':value "lt"', ":regex"]
)


def _simple_tests() -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("true"),
        st.just("false"),
        st.builds(lambda m, h, k: f"header {m} {h} {k}", _match, _string_lists, _string_lists),
        st.builds(
            lambda m, h, k: f"address {m} :domain {h} {k}",
            _match,
            st.sampled_from(['"from"', '["to", "cc"]']),
            _string_lists,
        ),
        st.builds(lambda m, k: f'envelope {m} "to" {k}', _match, _string_lists),
        st.builds(lambda m, k: f"body :text {m} {k}", _match, _string_lists),
        st.builds(lambda m, k: f'string {m} "${{1}}" {k}', _match, _string_lists),
        st.builds(lambda m, k: f'date {m} "date" "year" {k}', _match, _string_lists),
        st.builds(lambda m, k: f'currentdate {m} "weekday" {k}', _match, _string_lists),
        st.builds(lambda n: f"size :over {n}", st.integers(0, 10**6)),
        st.builds(lambda h: f"exists {h}", _string_lists),
        st.just("duplicate"),
        st.builds(lambda m: f'spamtest {m} "3"', _match),
        st.builds(lambda m, k: f"hasflag {m} {k}", _match, _string_lists),
    )


_tests = st.recursive(
    _simple_tests(),
    lambda inner: st.one_of(
        inner.map(lambda t: f"not {t}"),
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: "allof(" + ", ".join(ts) + ")"),
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: "anyof(" + ", ".join(ts) + ")"),
    ),
    max_leaves=6,
)
_actions = st.one_of(
    st.just("keep;"),
    st.just("discard;"),
    st.just("stop;"),
    st.builds(lambda s: f"fileinto {s};", _strings),
    st.builds(lambda s: f"fileinto :copy :flags {s} {s};", _strings),
    st.just('redirect "x@example.com";'),
    st.builds(lambda s: f"reject {s};", _strings),
    st.builds(lambda s: f"vacation :days 2 {s};", _strings),
    st.builds(lambda s: f'set :upper "v" {s};', _strings),
    st.builds(lambda s: f"addflag {s};", _string_lists),
    st.just('include :optional "x";'),
)
_commands = st.recursive(
    _actions,
    lambda inner: st.builds(lambda t, a, b: f"if {t} {{ {a} }} else {{ {b} }}", _tests, inner, inner),
    max_leaves=8,
)
_messages = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda subject, body: (
            f"From: a@example.org\r\nTo: x@example.com\r\nSubject: {subject}\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n{body}"
        ).encode("utf-8", "surrogatepass"),
        st.text(max_size=40).map(lambda s: s.replace("\r", "").replace("\n", "")),
        st.text(max_size=100),
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_commands, min_size=1, max_size=5), _messages)
def test_valid_scripts_evaluate(commands: list[str], msg: bytes) -> None:
    text = REQUIRE + "\n".join(commands)
    try:
        script = parse(text)
    except SieveSyntaxError:
        return
    result = asyncio.run(evaluate(script, msg, Envelope("a@example.org", "x@example.com"), MemoryEnv()))
    assert not any("internal error" in e for e in result.errors), result.errors
    if result.errors:
        assert result.actions[-1] == Keep(implicit=True)
