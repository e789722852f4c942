"""The ``:regex`` match type (draft-ietf-sieve-regex-01): POSIX extended
regular expressions, run with the ``regex`` package after a small translation.

A user's pattern runs on mail from anyone, so a pathological one must not stall
delivery: every search has a time limit (MATCH_TIMEOUT), which Python's ``re``
cannot give; when it is exceeded the script fails at runtime and the message is
kept (the delivery code's rule for every runtime error).

POSIX bracket classes (``[[:alpha:]]``) are translated; Python-only syntax
that ERE does not have (``(?...)`` groups, ``\\d`` style escapes keep their
Python meaning) is refused for ``(?`` so that scripts stay portable.
Patterns are cached.  With ``i;ascii-casemap`` the match ignores case.
"""

from __future__ import annotations

import re
from functools import lru_cache

import regex

__all__ = ["RegexError", "compile_regex", "quote_regex", "search"]

_CLASSES = {
    "alpha": "A-Za-z",
    "digit": "0-9",
    "alnum": "A-Za-z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\r\n\v\f",
    "blank": r" \t",
    "punct": r"!-/:-@\[-`{-~",
    "print": r" -~",
    "graph": r"!-~",
    "cntrl": r"\x00-\x1f\x7f",
    "xdigit": "0-9A-Fa-f",
}
_CLASS = re.compile(r"\[:([a-z]+):\]")
MAX_PATTERN = 4096
MATCH_TIMEOUT = 0.25  # seconds per search


class RegexError(ValueError):
    """The pattern is not a valid regular expression."""


@lru_cache(maxsize=512)
def compile_regex(pattern: str, comparator: str) -> regex.Pattern[str]:
    if len(pattern) > MAX_PATTERN:
        raise RegexError("pattern too long")
    if "(?" in pattern:
        raise RegexError("'(?' is not POSIX extended regular expression syntax")

    def cls(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in _CLASSES:
            raise RegexError(f"unknown character class [:{name}:]")
        return _CLASSES[name]

    translated = _CLASS.sub(cls, pattern)
    flags = regex.DOTALL | regex.VERSION0
    if comparator == "i;ascii-casemap":
        flags |= regex.IGNORECASE
    try:
        return regex.compile(translated, flags)
    except (regex.error, OverflowError, RecursionError, ValueError) as exc:
        raise RegexError(str(exc)) from None


def search(pattern: regex.Pattern[str], value: str) -> regex.Match[str] | None:
    """``pattern.search(value)`` within MATCH_TIMEOUT; raises TimeoutError beyond it."""
    return pattern.search(value, timeout=MATCH_TIMEOUT)


def quote_regex(value: str) -> str:
    """``set :quoteregex``: escape every ERE special character."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\1", value)
