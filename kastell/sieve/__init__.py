"""The Sieve mail filtering language (RFC 5228 and extensions).

``parse`` turns script text into a validated :class:`Script` (raising
:class:`SieveSyntaxError` with a line number); ``evaluate`` runs it against
one message and returns the :class:`Result` - a list of actions for the
delivery code to carry out.  Nothing here touches the network or the store:
the caller supplies an :class:`Environment` for includes, duplicate
tracking and mailbox existence.  ``vacation.compose_reply`` builds the
auto-reply message.

Module map: ``lexer`` (tokens), ``grammar`` (syntax tree), ``validate``
(the command table and checks), ``nodes`` (the validated tree),
``interpreter`` (running it), ``match``/``regex`` (comparators and match
types), ``message`` (header and body access), ``addresses``, ``actions``
(results and the caller interface), ``vacation``.
"""

from __future__ import annotations

import logging

from .actions import Action, Discard, Envelope, Environment, FileInto, Keep, Redirect, Reject, Result, Vacation
from .errors import SieveError, SieveRuntimeError, SieveSyntaxError
from .grammar import parse_tokens
from .interpreter import evaluate, evaluate_sequence
from .lexer import tokenize
from .nodes import Script
from .validate import EXTENSIONS, validate

__all__ = [
    "EXTENSIONS",
    "MAX_SCRIPT_SIZE",
    "Action",
    "Discard",
    "Envelope",
    "Environment",
    "FileInto",
    "Keep",
    "Redirect",
    "Reject",
    "Result",
    "Script",
    "SieveError",
    "SieveRuntimeError",
    "SieveSyntaxError",
    "Vacation",
    "evaluate",
    "evaluate_sequence",
    "parse",
]

_log = logging.getLogger(__name__)

#: Scripts larger than this (UTF-8 bytes) are refused.
MAX_SCRIPT_SIZE = 1 << 20


def parse(text: str, *, name: str = "script") -> Script:
    """Parse and validate a script (RFC 5228 §8 grammar, §3-§5 commands and
    every extension in :data:`EXTENSIONS`).  Raises :class:`SieveSyntaxError`
    (1-based ``line`` of the offending token) and nothing else."""
    try:
        if not isinstance(text, str):
            raise SieveSyntaxError(1, 1, "script is not text")
        if len(text) > MAX_SCRIPT_SIZE or len(text.encode("utf-8", "surrogatepass")) > MAX_SCRIPT_SIZE:
            raise SieveSyntaxError(1, 1, f"script larger than {MAX_SCRIPT_SIZE} bytes")
        commands, requires = validate(parse_tokens(tokenize(text)))
        return Script(name, tuple(commands), requires)
    except SieveSyntaxError:
        raise
    except RecursionError:
        raise SieveSyntaxError(1, 1, "script nested too deeply") from None
    except Exception as exc:  # a validator bug must not break PUTSCRIPT with a traceback
        _log.exception("Sieve parser failed")
        raise SieveSyntaxError(1, 1, f"internal error while checking the script: {exc!r}") from None
