"""Lexer, grammar and validation: what parses, and the line of each error."""

from __future__ import annotations

import pytest

from kastell.sieve import EXTENSIONS, SieveSyntaxError, parse


def test_lexical_forms() -> None:
    script = parse(
        "# hash comment\r\n"
        "/* bracket\n comment */\n"
        'require ["fileinto", "variables"];\n'
        'set "a" "q\\"uote\\\\back\\slash";\n'
        'set "b" text: # comment after text:\n'
        "line one\n"
        "..dot-stuffed\n"
        ".\n"
        ";\n"
        'if size :over 10K { fileinto "big"; }\n'
    )
    sets = [n for n in script.commands if n.name == "set"]
    assert sets[0].string(1) == 'q"uote\\backslash'
    assert sets[1].string(1) == "line one\n.dot-stuffed\n"
    size = script.commands[-1].tests[0]
    assert size.number(0) == 10 * 1024


def test_quantifiers_and_case_insensitivity() -> None:
    script = parse("IF SIZE :OVER 2m { DISCARD; }\nif size :under 1G { keep; }")
    assert script.commands[0].tests[0].number(0) == 2 * 1024 * 1024
    assert script.commands[1].tests[0].number(0) == 1 << 30


def test_extensions_constant() -> None:
    assert "fileinto" in EXTENSIONS and "vacation-seconds" in EXTENSIONS
    assert "comparator-i;octet" not in EXTENSIONS  # always available, not advertised
    parse('require ["comparator-i;octet", "comparator-i;ascii-casemap"];')
    parse("require " + '["' + '", "'.join(EXTENSIONS) + '"];')


def test_encoded_character() -> None:
    # RFC 5228 §2.4.2.4 examples
    script = parse(
        'require ["encoded-character", "variables"];\n'
        'set "a" "$${hex:24 24}";\n'
        'set "b" "${hex:40}";\n'
        'set "c" "${HEX: 40 }";\n'
        'set "d" "${hex:40";\n'
        'set "e" "${hex:400}";\n'
        'set "f" "${hex:4${hex:30}}";\n'
        'set "g" "${unicode:40}";\n'
        'set "h" "${ unicode:40}";\n'
        'set "i" "${UNICODE:1F600}";\n'
        'set "j" "${Unicode:Cool}";\n'
    )
    values = [n.string(1) for n in script.commands[1:]]
    assert values == [
        "$$$",
        "@",
        "@",
        "${hex:40",
        "${hex:400}",
        "${hex:40}",
        "@",
        "${ unicode:40}",
        "\U0001f600",
        "${Unicode:Cool}",
    ]
    # without the extension nothing is decoded
    assert parse('require "variables"; set "a" "${hex:40}";').commands[1].string(1) == "${hex:40}"


@pytest.mark.parametrize(
    ("script", "line", "fragment"),
    [
        ('require "fileinto";\nfileinto "x"\nkeep;', 3, "missing ';' before 'keep'"),
        ("keep;\n\nfoo;", 3, "unknown command 'foo'"),
        ("if true {\n keep;\n", 2, "missing '}'"),
        ('if header :is "a" "b" keep;', 1, "needs a block"),
        ('keep;\nfileinto "x";', 2, "requires extension 'fileinto'"),
        ('require "fileinto";\nkeep;\nrequire "envelope";', 3, "'require' must come before"),
        ('require "bogus";', 1, "unsupported extension"),
        ('if\n  header :bogus "a" "b" { keep; }', 2, "unknown tag ':bogus'"),
        ('if header :is :contains "a" "b" { keep; }', 1, "cannot be combined"),
        ('if header\n :comparator "i;nope" "a" "b" { keep; }', 2, "unknown comparator"),
        (
            'if header :comparator "i;ascii-numeric" "a" "b" { keep; }',
            1,
            "requires extension 'comparator-i;ascii-numeric'",
        ),
        ('require "relational";\nif header :count "foo" "a" "b" { keep; }', 2, "invalid relational operator"),
        ('if header :count "eq" "a" "b" { keep; }', 1, "requires extension 'relational'"),
        ('if header "a" { keep; }', 1, "positional argument"),
        ("if size 100 { keep; }", 1, "needs one of :over/:under"),
        ("redirect 5;", 1, "must be a string"),
        ('redirect ["a@b.c", "d@e.f"];', 1, "must be a string"),
        ("else { keep; }", 1, "without a preceding 'if'"),
        ("if true { keep; }\nkeep;\nelsif true { keep; }", 3, "without a preceding 'if'"),
        ('keep;\n"oops";', 2, "expected a command"),
        ("if allof(true,\n false { keep; }", 2, "expected ',' or ')'"),
        ("if not (true) { keep; }", 1, "needs exactly one test"),
        ("if anyof true { keep; }", 1, "test list"),
        ("keep\n/* unterminated", 2, "unterminated bracket comment"),
        ('keep;\nset "a" "unterminated;', 2, "unterminated quoted string"),
        ('require "vacation";\nvacation text:\nno end\n', 2, "unterminated multi-line"),
        ("if size :over 99999999999999999999G { keep; }", 1, "number too large"),
        ('require "variables";\nset "1a" "x";', 2, "invalid variable name"),
        ('if address :is "subject" "x" { keep; }', 1, "not allowed for the address test"),
        ('require "envelope";\nif envelope :is "bogus" "x" { keep; }', 2, "unknown envelope part"),
        ('require "date";\nif currentdate "century" "x" { keep; }', 2, "unknown date part"),
        ('require "date";\nif currentdate :zone "CET" "year" "x" { keep; }', 2, "invalid time zone"),
        ('require "regex";\nif header :regex "a"\n "(" { keep; }', 3, "invalid regular expression"),
        (
            'require "relational";\nif header :contains :comparator "i;octet" :count "eq" "a" "b" { keep; }',
            2,
            "cannot be combined",
        ),
        (
            'require ["comparator-i;ascii-numeric"];\nif header :contains :comparator "i;ascii-numeric" "a" "1" { keep; }',
            2,
            "does not support",
        ),
        ('redirect "not an address";', 1, "invalid redirect address"),
        ('require "vacation";\nvacation :seconds 10 "x";', 2, "requires extension 'vacation-seconds'"),
        ('require "vacation";\nvacation :days 1 :days 2 "x";', 2, "given twice"),
        ('require "fileinto";\nfileinto :copy "x";', 2, "requires extension 'copy'"),
        ('require "fileinto";\nfileinto :create "x";', 2, "requires extension 'mailbox'"),
        ('keep :flags "x";', 1, "requires extension 'imap4flags'"),
        ('require "imap4flags";\nsetflag "var" "x";', 2, "requires extension 'variables'"),
        ('require "include";\ninclude "a/b";', 2, "invalid script name"),
        ('require "include";\nglobal "x";', 2, "requires extension 'variables'"),
        ('require ["spamtest"];\nif spamtest :percent "1" { keep; }', 2, "requires extension 'spamtestplus'"),
        ("keep; { keep; }", 1, "expected a command"),
        ("stop }", 1, "expected ';'"),
        ("keep; }", 1, "unexpected '}'"),
        ("keep;\n\x00", 2, "invalid character"),
        ("keep;\n@", 2, "unexpected character"),
        ('if header :is "a" "b" { keep; } else keep;', 1, "needs a block"),
        ("if true { stop; } elsif { keep; }", 1, "needs exactly one test"),
        ("keep { stop; }", 1, "takes no block"),
        ('if header :is "a" ["b", 1] { keep; }', 1, "expected a string in string list"),
    ],
)
def test_syntax_errors(script: str, line: int, fragment: str) -> None:
    with pytest.raises(SieveSyntaxError) as info:
        parse(script)
    assert info.value.line == line, str(info.value)
    assert fragment in info.value.reason, str(info.value)
    assert str(info.value) == f"line {line}: {info.value.reason}"


def test_unknown_namespace_is_an_error() -> None:
    # RFC 5229 §3: "References to namespaces without a prior require statement for the relevant
    # extension MUST cause an error" - found when the script is uploaded.
    for script, line in [
        ('require ["variables", "fileinto"];\nfileinto "ns-${unknown.ns}";', 2),
        ('require "variables";\nif string :is "${a}" "x" { keep; }\nset "x" "${Env.Name}";', 3),
        ('require "variables";\nset "x" "${global.name}";', 2),  # global. needs "include"
        ('require "variables";\nset "x" "text:${a.b.c}";', 2),
        ('require ["variables", "encoded-character"];\nset "x" "${hex:24}{x.y}";', 2),
    ]:
        with pytest.raises(SieveSyntaxError, match="unknown namespace") as info:
            parse(script)
        assert info.value.line == line
    with pytest.raises(SieveSyntaxError, match="in the 'global' namespace"):
        parse('require ["variables", "include"];\nset "x" "${global.a.b}";')
    # not references: no "variables", not a namespace, invalid names (left as text)
    parse('require "fileinto";\nfileinto "${unknown.ns}";')
    parse('require ["variables", "include"];\nset "x" "${global.name}${GLOBAL.other}";')
    parse('require "variables";\nset "x" "${.a}${a.}${1.a}${a.b!}${a b.c}";')


def test_nesting_and_size_limits() -> None:
    deep = "if true {" * 70 + "keep;" + "}" * 70
    with pytest.raises(SieveSyntaxError, match="nested too deeply"):
        parse(deep)
    parse("if true {" * 60 + "keep;" + "}" * 60)
    with pytest.raises(SieveSyntaxError, match="nested too deeply"):
        parse("if " + "not " * 200 + "true { keep; }")
    with pytest.raises(SieveSyntaxError, match="nested too deeply"):
        parse("if " + "anyof(" * 200 + "true" + ")" * 200 + " { keep; }")
    with pytest.raises(SieveSyntaxError, match="larger than"):
        parse("#" * (1 << 20) + "\nkeep;")


def test_surrogates_refused() -> None:
    with pytest.raises(SieveSyntaxError):
        parse('keep;\nset "a" "\ud800";')
