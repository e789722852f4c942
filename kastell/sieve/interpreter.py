"""Running a validated script against one message (RFC 5228 §2.10).

Theory of operation: :class:`_Run` holds everything one delivery's
evaluation shares - the action list, the implicit-keep state, the
imap4flags internal variable, global variables, the include bookkeeping and
the duplicate marks.  Each script (the main one, every ``include``d one,
every script of a sequence) gets a :class:`_Scope` with its own local
variables.  ``stop`` and ``return`` are exceptions; a
:class:`SieveRuntimeError` anywhere aborts the script and the caller turns
it into the implicit keep.

Action rules (RFC 5228 §2.10.1-§2.10.3 and the extensions): keep, fileinto,
redirect, discard, reject and ereject cancel the implicit keep, ``:copy``
variants do not; a second fileinto into the same mailbox, a second redirect
to the same address, ``fileinto "INBOX"`` next to ``keep`` collapse into
one action; reject/ereject conflict with keep, fileinto, redirect and
vacation (RFC 5429 §2.1); vacation runs at most once (RFC 5230 §4.7).
``fileinto`` names INBOX "INBOX" whatever the case the script used (RFC 3501
§5.1), so that the delivery code never creates a second, lower-case inbox.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

from .actions import Action, Discard, Envelope, Environment, FileInto, Keep, Redirect, Reject, Result, Vacation
from .addresses import address_part, parse_addresses, strip_detail, valid_mailbox
from .errors import SieveError, SieveRuntimeError
from .match import compare, match_one, relate
from .message import MessageView
from .nodes import Node, Script
from .regex import quote_regex
from .vacation import default_handle, suppression
from .validate import DATE_PARTS, valid_script_name

__all__ = ["evaluate", "evaluate_sequence"]

_log = logging.getLogger(__name__)

# Limits (Pigeonhole's defaults where it has one).
MAX_ACTIONS = 32  # sieve_max_actions
MAX_INCLUDE_DEPTH = 10  # sieve_include_max_nesting_depth
MAX_INCLUDES = 255  # sieve_include_max_includes
MAX_VARIABLES = 255  # sieve_variables_max_scope_size
MAX_VARIABLE_SIZE = 4096  # sieve_variables_max_variable_size (values are truncated)
MAX_MATCH_VARIABLES = 10
VACATION_DEFAULT_PERIOD = 7 * 86400  # sieve_vacation_default_period
VACATION_MIN_PERIOD = 86400  # sieve_vacation_min_period
VACATION_MAX_PERIOD = 0  # sieve_vacation_max_period: 0 = no upper limit
DUPLICATE_DEFAULT_PERIOD = 7 * 86400  # min(sieve_duplicate_default_period 14d, max 7d)
DUPLICATE_MAX_PERIOD = 7 * 86400  # sieve_duplicate_max_period

_VAR_REF = re.compile(r"\$\{([^{}]*)\}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NUM = re.compile(r"[0-9]+\Z")
_FLAG_BAD = re.compile(r'[\x00-\x20\x7f(){%*"\]]')
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_SYSTEM_FLAGS = {f.lower(): f for f in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")}


class _Stop(Exception):
    """``stop``: end all processing."""


class _Return(Exception):
    """``return`` (RFC 6609 §3.4): end the current (included) script."""


@dataclass
class _Scope:
    script: Script
    variables: dict[str, str] = field(default_factory=dict)
    globals_declared: set[str] = field(default_factory=set)

    def has(self, ext: str) -> bool:
        return ext in self.script.requires


@dataclass
class Options:
    now: datetime
    spam_score: int | None
    spam_percent: int | None
    virus_score: int | None
    max_redirects: int
    user_addresses: tuple[str, ...]
    vacation_min_period: int
    vacation_max_period: int


class _Run:
    def __init__(self, message: bytes, envelope: Envelope, environment: Environment, options: Options) -> None:
        self.msg = MessageView(message)
        self.envelope = envelope
        self.env = environment
        self.opt = options
        self.actions: list[Action] = []
        self.implicit_keep = True
        self.explicit_keep = False  # a keep in the current top-level script
        # The imap4flags internal variable: one for the whole sequence (Pigeonhole
        # keeps it in the result), so a script starts with the flags the previous
        # one left.  ``flags_active`` turns on when a script requiring imap4flags
        # starts; from then on every keep/fileinto without :flags carries the
        # internal flags, also in scripts that do not require imap4flags
        # (Pigeonhole's implicit flags side effect on every store action).
        self.flags: list[str] = []
        self.flags_active = False
        self.globals: dict[str, str] = {}
        self.match_vars: list[str] = []
        self.redirects = 0
        self.vacation_done = False
        self.rejected = False
        self.duplicate_marks: list[tuple[str, int]] = []
        self.duplicate_cache: dict[str, bool] = {}
        self.include_stack: list[tuple[str, str]] = []
        self.includes = 0
        self.included_once: set[tuple[str, str]] = set()
        self.include_cache: dict[tuple[str, str], Script] = {}

    # -- variables ------------------------------------------------------------

    def expand(self, value: str, scope: _Scope) -> str:
        """Variable substitution (RFC 5229 §3); invalid references stay."""
        if "${" not in value or not scope.has("variables"):
            return value

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if _NUM.match(name):
                index = int(name)
                return self.match_vars[index] if index < len(self.match_vars) else ""
            lower = name.lower()
            if _IDENT.match(name):
                if lower in scope.globals_declared:
                    return self.globals.get(lower, "")
                return scope.variables.get(lower, "")
            head, _, tail = lower.partition(".")
            if head == "global" and _IDENT.match(tail) and scope.has("include"):
                return self.globals.get(tail, "")
            return m.group(0)

        return _VAR_REF.sub(repl, value)

    def expand_list(self, values: list[str], scope: _Scope) -> list[str]:
        return [self.expand(v, scope) for v in values]

    def set_variable(self, name: str, value: str, scope: _Scope) -> None:
        value = value[:MAX_VARIABLE_SIZE]
        lower = name.lower()
        head, dot, tail = lower.partition(".")
        if dot and head == "global":
            target, key = self.globals, tail
        elif lower in scope.globals_declared:
            target, key = self.globals, lower
        else:
            target, key = scope.variables, lower
        if key not in target and len(target) >= MAX_VARIABLES:
            raise SieveRuntimeError(f"too many variables (limit {MAX_VARIABLES})")
        target[key] = value

    def get_variable(self, name: str, scope: _Scope) -> str:
        lower = name.lower()
        head, dot, tail = lower.partition(".")
        if dot and head == "global":
            return self.globals.get(tail, "")
        if lower in scope.globals_declared:
            return self.globals.get(lower, "")
        return scope.variables.get(lower, "")

    # -- control ----------------------------------------------------------------

    async def run_block(self, nodes: list[Node] | tuple[Node, ...], scope: _Scope) -> None:
        taken = False
        for node in nodes:
            name = node.name
            if name == "if":
                taken = await self.test(node.tests[0], scope)
                if taken:
                    await self.run_block(node.block or [], scope)
            elif name == "elsif":
                if not taken:
                    taken = await self.test(node.tests[0], scope)
                    if taken:
                        await self.run_block(node.block or [], scope)
            elif name == "else":
                if not taken:
                    await self.run_block(node.block or [], scope)
                taken = True
            else:
                await self.command(node, scope)

    # -- actions ----------------------------------------------------------------

    def add_action(self, action: Action) -> None:
        """Append with the duplicate-collapsing and conflict rules."""
        is_inbox = isinstance(action, Keep) or (isinstance(action, FileInto) and action.mailbox.upper() == "INBOX")
        if isinstance(action, Keep | FileInto | Redirect | Vacation) and self.rejected:
            raise SieveRuntimeError(f"{_action_name(action)} conflicts with an earlier reject")
        if isinstance(action, Reject):
            if self.rejected:
                raise SieveRuntimeError("more than one reject/ereject")
            for a in self.actions:
                if isinstance(a, Keep | FileInto | Redirect | Vacation):
                    raise SieveRuntimeError(f"reject conflicts with an earlier {_action_name(a)}")
            self.rejected = True
        for i, a in enumerate(self.actions):
            if isinstance(action, Redirect) and isinstance(a, Redirect) and a.address.lower() == action.address.lower():
                self.actions[i] = Redirect(a.address, copy=a.copy and action.copy)
                return
            if is_inbox and isinstance(action, Keep | FileInto) and isinstance(a, Keep | FileInto):
                a_inbox = isinstance(a, Keep) or a.mailbox.upper() == "INBOX"
                if a_inbox:
                    self.actions[i] = _merge_store(a, action)
                    return
            if isinstance(action, FileInto) and isinstance(a, FileInto) and a.mailbox == action.mailbox:
                self.actions[i] = _merge_store(a, action)
                return
            if isinstance(action, Discard) and isinstance(a, Discard):
                return
        if len(self.actions) >= MAX_ACTIONS:
            raise SieveRuntimeError(f"total number of actions exceeds the limit of {MAX_ACTIONS}")
        self.actions.append(action)

    def current_flags(self) -> tuple[str, ...] | None:
        if not self.flags_active or not self.flags:
            return None
        return tuple(self.flags)

    def explicit_flags(self, node: Node, scope: _Scope) -> tuple[str, ...] | None:
        given = node.tag_strings(":flags")
        if given is None:
            return self.current_flags()
        flags = _normalize_flags(self.expand_list(given, scope))
        return tuple(flags) or None

    # -- commands ---------------------------------------------------------------

    async def command(self, node: Node, scope: _Scope) -> None:
        name = node.name
        if name == "require":
            return
        if name == "stop":
            raise _Stop
        if name == "return":
            raise _Return
        if name == "keep":
            self.add_action(Keep(self.explicit_flags(node, scope)))
            self.implicit_keep = False
            self.explicit_keep = True
        elif name == "discard":
            self.add_action(Discard())
            self.implicit_keep = False
        elif name == "fileinto":
            mailbox = self.expand(node.string(0), scope)
            if not mailbox or any(ord(c) < 32 for c in mailbox):
                raise SieveRuntimeError(f"invalid mailbox name {mailbox!r}")
            if mailbox.upper() == "INBOX":  # RFC 3501 §5.1: INBOX is case-insensitive
                mailbox = "INBOX"
            copy = ":copy" in node.tags
            self.add_action(FileInto(mailbox, self.explicit_flags(node, scope), copy, ":create" in node.tags))
            if mailbox.upper() == "INBOX" and not copy:
                self.explicit_keep = True
            if not copy:
                self.implicit_keep = False
        elif name == "redirect":
            address = self.expand(node.string(0), scope).strip()
            if not valid_mailbox(address):
                raise SieveRuntimeError(f"invalid redirect address {address!r}")
            copy = ":copy" in node.tags
            if not any(isinstance(a, Redirect) and a.address.lower() == address.lower() for a in self.actions):
                self.redirects += 1
                if self.redirects > self.opt.max_redirects:
                    raise SieveRuntimeError(f"too many redirects (limit {self.opt.max_redirects})")
            self.add_action(Redirect(address, copy))
            if not copy:
                self.implicit_keep = False
        elif name in ("reject", "ereject"):
            self.add_action(Reject(self.expand(node.string(0), scope), extended=name == "ereject"))
            self.implicit_keep = False
        elif name == "vacation":
            self.vacation(node, scope)
        elif name == "set":
            self.set_command(node, scope)
        elif name in ("setflag", "addflag", "removeflag"):
            self.flag_command(node, scope)
        elif name == "include":
            await self.include(node, scope)
        elif name == "global":
            for var in node.strings(0):
                scope.globals_declared.add(var.lower())
        else:  # pragma: no cover - the validator knows every command
            raise SieveRuntimeError(f"unsupported command {name!r}")

    def set_command(self, node: Node, scope: _Scope) -> None:
        value = self.expand(node.string(1), scope)
        tags = node.tags
        # RFC 5229 §4.1: modifiers apply by precedence, highest first.  The
        # case modifiers change only the ASCII letters (§4.1.3): "élan" stays
        # "élan" under :upperfirst, "ß" never becomes "SS".
        if ":lower" in tags:
            value = value.translate(_ASCII_LOWER)
        if ":upper" in tags:
            value = value.translate(_ASCII_UPPER)
        if ":lowerfirst" in tags:
            value = value[:1].translate(_ASCII_LOWER) + value[1:]
        if ":upperfirst" in tags:
            value = value[:1].translate(_ASCII_UPPER) + value[1:]
        if ":quotewildcard" in tags:
            value = re.sub(r"([*?\\])", r"\\\1", value)
        if ":quoteregex" in tags:
            value = quote_regex(value)
        if ":length" in tags:
            value = str(len(value))
        self.set_variable(node.string(0), value, scope)

    def flag_command(self, node: Node, scope: _Scope) -> None:
        new = _normalize_flags(self.expand_list(node.strings(len(node.args) - 1), scope))
        if len(node.args) == 2:
            var = node.string(0)
            current = _normalize_flags([self.get_variable(var, scope)])
        else:
            var = None
            current = self.flags
        if node.name == "setflag":
            result = new
        elif node.name == "addflag":
            result = _normalize_flags(current + new)
        else:
            drop = {f.lower() for f in new}
            result = [f for f in current if f.lower() not in drop]
        if var is None:
            self.flags = result
        else:
            self.set_variable(var, " ".join(result), scope)

    def vacation(self, node: Node, scope: _Scope) -> None:
        if self.vacation_done:
            raise SieveRuntimeError("more than one vacation action")
        self.vacation_done = True
        reason = self.expand(node.string(0), scope)
        subject = node.tag_string(":subject")
        subject = self.expand(subject, scope) if subject is not None else None
        sender = node.tag_string(":from")
        sender = self.expand(sender, scope) if sender is not None else None
        addresses = tuple(self.expand_list(node.tag_strings(":addresses") or [], scope))
        mime = ":mime" in node.tags
        handle = node.tag_string(":handle")
        handle = self.expand(handle, scope) if handle is not None else default_handle(reason, subject, sender, mime)
        seconds = node.tag_number(":seconds")
        days = node.tag_number(":days")
        if seconds is not None:
            period = seconds
        elif days is not None:
            period = days * 86400
        else:
            period = VACATION_DEFAULT_PERIOD
        period = max(period, self.opt.vacation_min_period)
        if self.opt.vacation_max_period > 0:
            period = min(period, self.opt.vacation_max_period)
        own = (self.envelope.recipient, strip_detail(self.envelope.recipient), *self.opt.user_addresses, *addresses)
        if sender is not None:
            parsed = email.utils.parseaddr(sender)[1]
            if parsed:
                own = (*own, parsed)
        reason_suppressed = suppression(self.msg, self.envelope.sender, own)
        self.add_action(
            Vacation(
                reply_to=self.envelope.sender,
                handle=handle,
                seconds=period,
                reason=reason,
                subject=subject,
                from_address=sender,
                addresses=addresses,
                mime=mime,
                suppressed=reason_suppressed,
            )
        )

    async def include(self, node: Node, scope: _Scope) -> None:
        location = "global" if ":global" in node.tags else "personal"
        name = self.expand(node.string(0), scope)
        if not valid_script_name(name):
            raise SieveRuntimeError(f"invalid script name {name!r}")
        key = (location, name)
        if ":once" in node.tags and key in self.included_once:
            return
        if key in self.include_stack:
            raise SieveRuntimeError(f"include recursion: {location} script {name!r} includes itself")
        if len(self.include_stack) >= MAX_INCLUDE_DEPTH:
            raise SieveRuntimeError(f"includes nested deeper than {MAX_INCLUDE_DEPTH}")
        self.includes += 1
        if self.includes > MAX_INCLUDES:
            raise SieveRuntimeError(f"more than {MAX_INCLUDES} included scripts")
        script = self.include_cache.get(key)
        if script is None:
            text = await self.env.include(location, name)
            if text is None:
                if ":optional" in node.tags:
                    return
                raise SieveRuntimeError(f"included {location} script {name!r} does not exist")
            from . import parse

            try:
                script = parse(text, name=name)
            except SieveError as exc:
                raise SieveRuntimeError(f"included {location} script {name!r}: {exc}") from None
            self.include_cache[key] = script
        self.included_once.add(key)
        self.include_stack.append(key)
        self.flags_active |= "imap4flags" in script.requires
        try:
            await self.run_block(script.commands, _Scope(script))
        except _Return:
            pass
        finally:
            self.include_stack.pop()

    # -- tests --------------------------------------------------------------------

    async def test(self, node: Node, scope: _Scope) -> bool:
        name = node.name
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "not":
            return not await self.test(node.tests[0], scope)
        if name == "allof":
            for t in node.tests:
                if not await self.test(t, scope):
                    return False
            return True
        if name == "anyof":
            for t in node.tests:
                if await self.test(t, scope):
                    return True
            return False
        if name == "size":
            limit = node.number(0)
            return self.msg.size > limit if ":over" in node.tags else self.msg.size < limit
        if name == "exists":
            return all(self.msg.has_header(h) for h in self.expand_list(node.strings(0), scope))
        if name == "mailboxexists":
            for mailbox in self.expand_list(node.strings(0), scope):
                try:
                    if not await self.env.mailbox_exists(mailbox):
                        return False
                except Exception as exc:  # the caller's store failed: a runtime error, not a crash
                    raise SieveRuntimeError(f"mailboxexists failed: {exc}") from exc
            return True
        if name == "duplicate":
            return await self.duplicate(node, scope)
        values = self.test_values(node, scope)
        keys = self.expand_list(node.strings(len(node.args) - 1), scope)
        if name == "hasflag":
            keys = [flag for key in keys for flag in key.split()]
        return self.match(node, values, keys, scope)

    def match(self, node: Node, values: list[str], keys: list[str], scope: _Scope) -> bool:
        if node.match == ":count":
            assert node.relation is not None
            count = str(len(values))
            return any(relate(compare(node.comparator, count, key), node.relation) for key in keys)
        for value in values:
            for key in keys:
                ok, captures = match_one(node.match, node.comparator, node.relation, value, key)
                if ok:
                    if captures is not None and scope.has("variables"):
                        self.match_vars = [c[:MAX_VARIABLE_SIZE] for c in captures[:MAX_MATCH_VARIABLES]]
                    return True
        return False

    def test_values(self, node: Node, scope: _Scope) -> list[str]:
        """The values a matching test compares against its keys."""
        name = node.name
        if name == "header":
            return [v for h in self.expand_list(node.strings(0), scope) for v in self.msg.headers(h)]
        if name == "address":
            out = []
            for header in self.expand_list(node.strings(0), scope):
                for raw in self.msg.raw_headers(header):
                    for local, domain in parse_addresses(raw):
                        part = address_part(local, domain, node.address_part)
                        if part is not None:
                            out.append(part)
            return out
        if name == "envelope":
            out = []
            for part_name in self.expand_list(node.strings(0), scope):
                address = {
                    "from": self.envelope.sender,
                    "to": self.envelope.recipient,
                    "auth": self.envelope.auth,
                }.get(part_name.lower())
                if address is None:
                    continue
                if address == "":  # RFC 5228 §5.4: the null path is "" whatever the part
                    out.append("")
                    continue
                local, at, domain = address.rpartition("@")
                if not at:
                    local, domain = address, ""
                part = address_part(local, domain, node.address_part)
                if part is not None:
                    out.append(part)
            return out
        if name == "string":
            values = self.expand_list(node.strings(0), scope)
            # RFC 5229 §5: for :count, empty strings are not counted
            return [v for v in values if v] if node.match == ":count" else values
        if name == "body":
            if ":raw" in node.tags:
                return [self.msg.body_raw()]
            content = node.tag_strings(":content")
            return self.msg.body_content(self.expand_list(content, scope) if content is not None else None)
        if name == "hasflag":
            if len(node.args) == 2:
                flags = [
                    f for var in self.expand_list(node.strings(0), scope)
                    for f in _normalize_flags([self.get_variable(var, scope)])
                ]  # fmt: skip
            else:
                flags = list(self.flags)
            return flags
        if name in ("date", "currentdate"):
            return self.date_values(node, scope)
        if name == "spamtest":
            if ":percent" in node.tags:
                value = self.opt.spam_percent
                return [str(min(max(value, 0), 100)) if value is not None else "0"]
            score = self.opt.spam_score
            return [str(min(max(score, 0), 10)) if score is not None else "0"]
        if name == "virustest":
            vscore = self.opt.virus_score
            return [str(min(max(vscore, 0), 5)) if vscore is not None else "0"]
        raise AssertionError(name)  # pragma: no cover

    def date_values(self, node: Node, scope: _Scope) -> list[str]:
        zone_name = node.tag_string(":zone")
        zone: timezone | None = None
        if zone_name is not None:
            zone = _parse_zone(self.expand(zone_name, scope))
            if zone is None:  # RFC 5260 §4.1: an invalid zone at run time is ignored
                zone = None
        local = self.opt.now.tzinfo or UTC
        if node.name == "currentdate":
            part = self.expand(node.string(0), scope).lower()
            moments = [self.opt.now.astimezone(zone or local)]
        else:
            part = self.expand(node.string(1), scope).lower()
            moments = []
            for value in self.msg.headers(self.expand(node.string(0), scope)):
                if self.expand(node.string(0), scope).lower() == "received":
                    value = value.rpartition(";")[2]
                moment = _parse_date(value)
                if moment is None:
                    continue
                if ":originalzone" not in node.tags:
                    moment = moment.astimezone(zone or local)
                moments.append(moment)
        if part not in DATE_PARTS:
            return []
        return [_date_part(m, part) for m in moments]

    async def duplicate(self, node: Node, scope: _Scope) -> bool:
        handle = self.expand(node.tag_string(":handle") or "", scope)
        unique = node.tag_string(":uniqueid")
        if unique is not None:
            value = self.expand(unique, scope)
            source = ":uniqueid"
        else:
            header = self.expand(node.tag_string(":header") or "Message-ID", scope)
            values = self.msg.raw_headers(header)
            if not values:
                return False  # RFC 7352 §3.1: no such header, no tracking
            value = values[0].decode("utf-8", "replace").strip()
            if not value:
                return False
            source = header.lower()
        digest = hashlib.sha256("\0".join((handle, source, value)).encode("utf-8", "surrogatepass")).hexdigest()
        key = f"sieve-duplicate:{digest}"
        seconds = node.tag_number(":seconds")
        period = DUPLICATE_DEFAULT_PERIOD if seconds is None else seconds
        period = min(period, DUPLICATE_MAX_PERIOD)
        if key in self.duplicate_cache:
            return self.duplicate_cache[key]
        try:
            seen = bool(await self.env.duplicate_seen(key))
        except Exception as exc:  # the tracking store failed
            raise SieveRuntimeError(f"duplicate tracking failed: {exc}") from exc
        self.duplicate_cache[key] = seen
        if not seen or ":last" in node.tags:
            self.duplicate_marks.append((key, period))
        return seen


def _action_name(action: Action) -> str:
    return {
        Keep: "keep",
        FileInto: "fileinto",
        Redirect: "redirect",
        Vacation: "vacation",
        Reject: "reject",
        Discard: "discard",
    }[type(action)]


def _merge_store(old: Keep | FileInto, new: Keep | FileInto) -> Keep | FileInto:
    """Two stores into one mailbox: one action, flags united (first wins the
    position and the form)."""
    flags: tuple[str, ...] | None
    if old.flags is None and new.flags is None:
        flags = None
    else:
        flags = tuple(_normalize_flags(list(old.flags or ()) + list(new.flags or ()))) or None
    if isinstance(old, Keep):
        return Keep(flags, implicit=old.implicit)
    copy = old.copy and (isinstance(new, FileInto) and new.copy)
    create = old.create or (isinstance(new, FileInto) and new.create)
    return FileInto(old.mailbox, flags, copy, create)


def _normalize_flags(values: list[str]) -> list[str]:
    """Space-separated flag lists to a list without duplicates (flags are
    case-insensitive, RFC 5232 §3); invalid flags and \\Recent are dropped."""
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        for flag in value.split():
            lower = flag.lower()
            if flag.startswith("\\"):
                if lower not in _SYSTEM_FLAGS:
                    continue
                flag = _SYSTEM_FLAGS[lower]
            elif _FLAG_BAD.search(flag):
                continue
            if lower not in seen:
                seen.add(lower)
                out.append(flag)
    return out


def _parse_zone(value: str) -> timezone | None:
    m = re.fullmatch(r"([+-])([0-9]{2})([0-9]{2})", value)
    if m is None:
        return None
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if m.group(1) == "-" else delta)


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        year, month, day, hour, minute, second = parsed[:6]
        offset = parsed[9] or 0
        if abs(offset) >= 86400:
            return None
        return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=timezone(timedelta(seconds=offset)))
    except (ValueError, OverflowError, TypeError, IndexError):
        return None


def _zone_text(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _date_part(moment: datetime, part: str) -> str:
    """RFC 5260 §4.2 date parts."""
    if part == "year":
        return f"{moment.year:04d}"
    if part == "month":
        return f"{moment.month:02d}"
    if part == "day":
        return f"{moment.day:02d}"
    if part == "date":
        return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    if part == "julian":  # Modified Julian Day: days since 1858-11-17
        return str((moment.date() - datetime(1858, 11, 17).date()).days)
    if part == "hour":
        return f"{moment.hour:02d}"
    if part == "minute":
        return f"{moment.minute:02d}"
    if part == "second":
        return f"{moment.second:02d}"
    if part == "time":
        return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    if part == "iso8601":
        zone = _zone_text(moment)
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f"{zone[:3]}:{zone[3:]}"
    if part == "std11":
        return email.utils.format_datetime(moment)
    if part == "zone":
        return _zone_text(moment)
    if part == "weekday":
        return str((moment.weekday() + 1) % 7)  # 0 = Sunday
    raise AssertionError(part)  # pragma: no cover


def _is_inbox_store(action: Action) -> bool:
    return isinstance(action, Keep) or (isinstance(action, FileInto) and action.mailbox.upper() == "INBOX")


def _add_flags(action: Action, flags: tuple[str, ...] | None) -> Action:
    """``action`` (an INBOX store) with ``flags`` added to its own."""
    if not flags or not isinstance(action, Keep | FileInto):
        return action
    united = tuple(_normalize_flags([*(action.flags or ()), *flags]))
    return replace(action, flags=united)


async def evaluate_sequence(
    scripts: Sequence[Script],
    message: bytes,
    envelope: Envelope,
    environment: Environment,
    *,
    now: datetime | None = None,
    spam_score: int | None = None,
    spam_percent: int | None = None,
    virus_score: int | None = None,
    max_redirects: int = 4,
    user_addresses: tuple[str, ...] = (),
    vacation_min_period: int = VACATION_MIN_PERIOD,
    vacation_max_period: int = VACATION_MAX_PERIOD,
) -> Result:
    """Run ``scripts`` in order as Pigeonhole runs sieve_before, the personal
    script and sieve_after: actions accumulate in one result, and the next
    script runs only while the message is still kept (implicit keep not
    cancelled, or an explicit keep executed).  ``stop`` ends only the
    current script.  On a runtime error the actions of the failing script
    are dropped, the error is reported and the implicit keep applies.

    As in Pigeonhole, the imap4flags internal variable is shared: a script
    starts with the flags the previous one left, and once a script requiring
    imap4flags has run, keep/fileinto without ``:flags`` carry the flags in
    every later script too.  When the last script's implicit keep is still in
    force after an explicit INBOX store in an earlier script, the message is
    stored once: that store gets the implicit keep's flags added."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    options = Options(
        now, spam_score, spam_percent, virus_score, max_redirects, tuple(user_addresses),
        vacation_min_period, vacation_max_period,
    )  # fmt: skip
    run = _Run(message, envelope, environment, options)
    script_start = 0  # index in run.actions where the current script's actions begin
    try:
        for script in scripts:
            snapshot = (list(run.actions), list(run.duplicate_marks), run.redirects, run.vacation_done, run.rejected)
            script_start = len(run.actions)
            run.implicit_keep = True
            run.explicit_keep = False
            run.flags_active |= "imap4flags" in script.requires
            scope = _Scope(script)
            try:
                await run.run_block(script.commands, scope)
            except (_Stop, _Return):
                pass
            except SieveRuntimeError as exc:
                run.actions, run.duplicate_marks = snapshot[0], snapshot[1]
                run.actions.append(Keep(implicit=True))
                return Result(run.actions, run.duplicate_marks, [f"{script.name}: {exc}"])
            if not (run.implicit_keep or run.explicit_keep):
                break
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug must never lose the message
        _log.exception("Sieve interpreter failed")
        return Result([Keep(implicit=True)], [], [f"internal error: {exc!r}"])
    actions = run.actions
    if run.implicit_keep:
        flags = run.current_flags()
        earlier = next((i for i in range(script_start) if _is_inbox_store(actions[i])), None)
        if earlier is not None:
            # The last script's implicit keep after an explicit keep in an earlier
            # script: Pigeonhole stores one INBOX copy carrying both sets of flags.
            actions[earlier] = _add_flags(actions[earlier], flags)
        elif not any(_is_inbox_store(a) for a in actions):
            actions.append(Keep(flags, implicit=True))
    return Result(actions, run.duplicate_marks, [])


async def evaluate(
    script: Script,
    message: bytes,
    envelope: Envelope,
    environment: Environment,
    *,
    now: datetime | None = None,
    spam_score: int | None = None,
    spam_percent: int | None = None,
    virus_score: int | None = None,
    max_redirects: int = 4,
    user_addresses: tuple[str, ...] = (),
    vacation_min_period: int = VACATION_MIN_PERIOD,
    vacation_max_period: int = VACATION_MAX_PERIOD,
) -> Result:
    """Run one script against ``message``; never raises for problems in the
    message or the script's run (see :class:`Result`)."""
    return await evaluate_sequence(
        [script], message, envelope, environment, now=now, spam_score=spam_score, spam_percent=spam_percent,
        virus_score=virus_score, max_redirects=max_redirects, user_addresses=user_addresses,
        vacation_min_period=vacation_min_period, vacation_max_period=vacation_max_period,
    )  # fmt: skip
