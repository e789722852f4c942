"""Comparators (RFC 4790 as profiled by RFC 5228 §2.7.3) and match types
(:is :contains :matches RFC 5228 §2.7.1, :value/:count RFC 5231, :regex).

``i;octet`` compares code points, ``i;ascii-casemap`` folds ASCII letters
only (so captures can be sliced from the unfolded string: folding never
changes a length), ``i;ascii-numeric`` compares the leading decimal digits
and treats a string without them as positive infinity.

Both i;octet and i;ascii-casemap operate on octets (RFC 4790 §9.3, §9.2), so
for ``:matches`` a "?" is one octet of the UTF-8 form, not one character
(RFC 5228 §2.7.1: the comparator defines the unit): "R?sum?" does not match
"Résumé".  The other match types give the same answers on code points as on
UTF-8 octets (UTF-8 keeps code point order and never matches inside a
character), so only ``:matches`` works on bytes.
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


def _glob_tokens(pattern: bytes) -> list[bytes]:
    """Split a :matches pattern into "*", "?" and literal octets ("\\x" is
    a literal x)."""
    out: list[bytes] = []
    i = 0
    while i < len(pattern):
        c = pattern[i : i + 1]
        if c == b"\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        out.append(c)
        i += 1
    return out


def glob_matches(value: bytes, pattern: bytes) -> bool:
    """Linear-time wildcard match (the classic star-backtracking loop):
    decides :matches without the exponential worst case of a regex."""
    toks = _glob_tokens(pattern)
    v = t = 0
    star_t, star_v = -1, 0
    while v < len(value):
        if t < len(toks) and toks[t] != b"*" and (toks[t] == b"?" or toks[t][-1] == value[v]):
            v += 1
            t += 1
        elif t < len(toks) and toks[t] == b"*":
            star_t, star_v = t, v
            t += 1
        elif star_t >= 0:
            star_v += 1
            v = star_v
            t = star_t + 1
        else:
            return False
    while t < len(toks) and toks[t] == b"*":
        t += 1
    return t == len(toks)


@lru_cache(maxsize=512)
def _glob_regex(pattern: bytes) -> re.Pattern[bytes]:
    parts = []
    for tok in _glob_tokens(pattern):
        if tok == b"*":
            parts.append(b"(.*?)")
        elif tok == b"?":
            parts.append(b"(.)")
        else:
            parts.append(re.escape(tok[-1:]))
    return re.compile(b"".join(parts), re.DOTALL)


def _octets(value: str) -> bytes:
    # surrogatepass: a lone surrogate (from ${unicode:...} or a bad header)
    # must not turn a match into a crash.
    return value.encode("utf-8", "surrogatepass")


def _text(value: bytes) -> str:
    # A "?" capture may hold half of a multi-octet character; such octets
    # become U+FFFD so that the variable still holds valid text.
    return value.decode("utf-8", "replace")


def _glob(comparator: str, value: str, key: str) -> tuple[bool, list[str] | None]:
    """:matches on the UTF-8 octets (see the module docstring)."""
    ov = _octets(value)
    fv, fk = ov, _octets(key)
    if comparator == "i;ascii-casemap":
        fv, fk = fv.lower(), fk.lower()  # bytes.lower() folds ASCII letters only
    if not glob_matches(fv, fk):
        return False, None
    m = _glob_regex(fk).fullmatch(fv)
    if m is None:  # cannot happen; keep the linear answer
        return True, [value]
    return True, [value] + [_text(ov[s:e]) for s, e in (m.span(i) for i in range(1, (m.lastindex or 0) + 1))]


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
        return _glob(comparator, value, key)
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
