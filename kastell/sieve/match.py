"""Comparators (RFC 4790 as profiled by RFC 5228 §2.7.3) and match types
(:is :contains :matches RFC 5228 §2.7.1, :value/:count RFC 5231, :regex).

``i;octet`` compares code points, ``i;ascii-casemap`` folds ASCII letters
only (so captures can be sliced from the unfolded string: folding never
changes a length), ``i;ascii-numeric`` compares the leading decimal digits
and treats a string without them as positive infinity.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import SieveRuntimeError
from .regex import RegexError, compile_regex
from .regex import search as regex_search

__all__ = ["compare", "glob_matches", "match_one", "relate"]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DIGITS = re.compile(r"[0-9]+")


def fold(comparator: str, value: str) -> str:
    return value.translate(_ASCII_LOWER) if comparator == "i;ascii-casemap" else value


def _numeric(value: str) -> int | None:
    m = _DIGITS.match(value)
    return int(m.group(0)) if m else None  # None = +infinity


def compare(comparator: str, a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to or after ``b``."""
    if comparator == "i;ascii-numeric":
        na, nb = _numeric(a), _numeric(b)
        if na is None or nb is None:
            return (na is None) - (nb is None)
        return (na > nb) - (na < nb)
    fa, fb = fold(comparator, a), fold(comparator, b)
    return (fa > fb) - (fa < fb)


def relate(cmp: int, relation: str) -> bool:
    return {
        "gt": cmp > 0,
        "ge": cmp >= 0,
        "lt": cmp < 0,
        "le": cmp <= 0,
        "eq": cmp == 0,
        "ne": cmp != 0,
    }[relation]


def _glob_tokens(pattern: str) -> list[str]:
    """Split a :matches pattern into "*", "?" and literal characters."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append("\\" + pattern[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return out


def glob_matches(value: str, pattern: str) -> bool:
    """Linear-time wildcard match (the classic star-backtracking loop):
    decides :matches without the exponential worst case of a regex."""
    toks = _glob_tokens(pattern)
    v = t = 0
    star_t, star_v = -1, 0
    while v < len(value):
        if t < len(toks) and toks[t] != "*" and (toks[t] == "?" or toks[t][-1] == value[v]):
            v += 1
            t += 1
        elif t < len(toks) and toks[t] == "*":
            star_t, star_v = t, v
            t += 1
        elif star_t >= 0:
            star_v += 1
            v = star_v
            t = star_t + 1
        else:
            return False
    while t < len(toks) and toks[t] == "*":
        t += 1
    return t == len(toks)


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for tok in _glob_tokens(pattern):
        if tok == "*":
            parts.append("(.*?)")
        elif tok == "?":
            parts.append("(.)")
        else:
            parts.append(re.escape(tok[-1]))
    return re.compile("".join(parts), re.DOTALL)


def match_one(match: str, comparator: str, relation: str | None, value: str, key: str) -> tuple[bool, list[str] | None]:
    """Does ``value`` match ``key``?  The second item holds the match
    variables (``${0}``.. ) for :matches and :regex, else None."""
    if match == ":is":
        return compare(comparator, value, key) == 0, None
    if match == ":contains":
        return fold(comparator, key) in fold(comparator, value), None
    if match == ":value":
        assert relation is not None
        return relate(compare(comparator, value, key), relation), None
    if match == ":matches":
        fv, fk = fold(comparator, value), fold(comparator, key)
        if not glob_matches(fv, fk):
            return False, None
        m = _glob_regex(fk).fullmatch(fv)
        if m is None:  # cannot happen; keep the linear answer
            return True, [value]
        return True, [value] + [value[s:e] for s, e in (m.span(i) for i in range(1, (m.lastindex or 0) + 1))]
    if match == ":regex":
        try:
            rx = compile_regex(key, comparator)
        except RegexError as exc:
            raise SieveRuntimeError(f"invalid regular expression {key!r}: {exc}") from None
        try:
            m = regex_search(rx, value)
        except TimeoutError:
            raise SieveRuntimeError(f"regular expression {key[:80]!r} took too long") from None
        if m is None:
            return False, None
        return True, [m.group(0)] + [g or "" for g in m.groups()]
    raise AssertionError(match)
