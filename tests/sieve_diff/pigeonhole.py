"""Pigeonhole's ``sieve-test`` as a private, config-file-only peer, and a parser for what it prints.

Theory of operation
-------------------
``sieve-test`` (Debian package ``dovecot-sieve``) compiles a script, runs it against a message
file and prints the resulting actions without performing them::

    Performed actions:

     * store message in folder: Lists
            + preserve implicit keep
            + add IMAP flags: \\seen urgent
     * redirect message to: <x@example.org>
     * send vacation message:
        => seconds : 259200
        => handle  : away<default-subject><default-from><NO-MIME>

    START MESSAGE
    away
    END MESSAGE

    Implicit keep:

     * store message in folder: INBOX

A runtime error prints nothing on stdout, exits 1 and logs "final result: failed; resolved with
successful implicit keep"; a script that does not compile exits 89 ("failed to compile").

The printed result does not say whether a vacation reply would really go out: the RFC 3834 checks
(list headers, Auto-Submitted, Precedence, system senders, the user's address in To/Cc) only run
when the actions are executed. So a script whose result holds a vacation action runs a second
time with ``-e`` (execute): stores then go to a scratch maildir in which every folder the first
run named is created beforehand (sieve-test cannot auto-create), replies are printed instead of
sent, and the log says "sent vacation response to <addr>" or why it discarded the reply.

Everything runs from a private dovecot.conf in a temporary directory (``-c``), never the
system's configuration; doveconf turns it into environment settings once (see
``_settings_environment``), and the executed runs get a MAIL_LOCATION of their own. sieve-test drops privileges to ``mail_uid`` and refuses root, so as root
the directory belongs to ``nobody``; otherwise to the current user.

Limits of the peer, which the corpus works around (see cases.toml and the test module):
``-f`` cannot be the null sender ``<>``, and Debian builds Pigeonhole without ``ereject``.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SIEVE_TEST = "sieve-test"
DOVECONF = "doveconf"
# The account's address, known to both sides (RFC 5230 §4.5 item 1: "an email address known by the
# implementation to be associated with the recipient"), so that mail to bob+anything@example.net
# addressed To: bob@example.net counts as personal on both.
USER_EMAIL = "bob@example.net"
# The account's mailboxes, as seen by mailboxexists (RFC 5490); INBOX always exists.
MAILBOXES = ("Lists", "Archive")
# spamtest/virustest are fed from headers: X-Spam-Score: N (0..9) is spamtest value N+1 (RFC 5235
# scale 1..10; a missing header is 0, "not tested"); X-Virus-Score: N (0..4) is virustest N+1.
SPAM_HEADER = "X-Spam-Score"
SPAM_MAX = 9
VIRUS_HEADER = "X-Virus-Score"
VIRUS_MAX = 4

_CONFIG = """\
# Private configuration for sieve-test (written by tests/sieve_diff/pigeonhole.py).
base_dir = {root}/run
state_dir = {root}/state
log_path = /dev/stderr
protocols =
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{root}/mail
recipient_delimiter = +
plugin {{
  sieve = file:{root}/personal
  sieve_global = {root}/global
  sieve_extensions = +vacation-seconds +spamtest +spamtestplus +virustest
  sieve_max_redirects = 4
  sieve_user_email = {user_email}
  sieve_vacation_min_period = {vacation_min}
  sieve_vacation_max_period = {vacation_max}
  sieve_vacation_default_period = 7d
  sieve_spamtest_status_type = score
  sieve_spamtest_status_header = {spam_header}
  sieve_spamtest_max_value = {spam_max}
  sieve_virustest_status_type = score
  sieve_virustest_status_header = {virus_header}
  sieve_virustest_max_value = {virus_max}
}}
"""


class PigeonholeError(Exception):
    """sieve-test failed in a way that says nothing about the script (bad setup, crash)."""


@dataclass
class Outcome:
    """What one side decided for one (script, message, envelope), in a comparable form.

    ``actions`` is the ordered list of normalised action tuples (see ``tests.sieve_diff.normal``),
    ``duplicate_marks`` the number of RFC 7352 tracking records, ``error`` the kind of failure:
    None, "runtime" (implicit keep was used) or "syntax" (script refused).
    """

    actions: list[tuple[object, ...]] = field(default_factory=list)
    duplicate_marks: int = 0
    error: str | None = None

    def as_tuple(self) -> tuple[object, ...]:
        return (self.error, tuple(self.actions), self.duplicate_marks)


def available() -> bool:
    return shutil.which(SIEVE_TEST) is not None


def _maildir(path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def _folder(root: Path, name: str) -> Path:
    # Maildir++ layout: a folder is a dot-directory; "." is the hierarchy separator.
    return root / ("." + name.replace("/", "."))


class SieveTest:
    """A private sieve-test setup under ``root``: config, mail store, include scripts."""

    def __init__(self, root: Path, include_dir: Path, *, vacation_min: str = "1d", vacation_max: str = "0") -> None:
        self.root = root
        if os.geteuid() == 0:
            user = pwd.getpwnam("nobody")
            self.uid, self.gid = user.pw_uid, user.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.config = root / "dovecot.conf"
        self.config.write_text(
            _CONFIG.format(
                root=root,
                uid=self.uid,
                gid=self.gid,
                vacation_min=vacation_min,
                vacation_max=vacation_max,
                user_email=USER_EMAIL,
                spam_header=SPAM_HEADER,
                spam_max=SPAM_MAX,
                virus_header=VIRUS_HEADER,
                virus_max=VIRUS_MAX,
            )
        )
        _maildir(root / "mail")
        for name in MAILBOXES:
            _maildir(_folder(root / "mail", name))
        _maildir(root / "scratch")
        for location in ("personal", "global"):
            shutil.copytree(include_dir / location, root / location)
        for sub in ("run", "state", "work"):
            (root / sub).mkdir()
        self._counter = itertools.count(1)  # thread-safe enough: next() on a count is atomic in CPython
        self._chown()
        self._env = self._settings_environment()
        # The executed (-e) runs store into a scratch maildir, not the one mailboxexists looks at.
        self._scratch_env = {**self._env, "MAIL_LOCATION": f"maildir:{root}/scratch"}

    def _settings_environment(self) -> dict[str, str]:
        # A Dovecot tool started with -c first execs doveconf, which parses the config and execs
        # the tool again with the settings in its environment (DOVECONF_ENV=1). Doing that once
        # here and starting sieve-test with that environment halves the cost of every case.
        proc = subprocess.run(
            [DOVECONF, "-f", f"service={SIEVE_TEST}", "-c", str(self.config), "-m", "mail", "-e", "/usr/bin/env", "-0"],
            capture_output=True,
            env={**os.environ, "HOME": str(self.root)},
            timeout=30,
        )
        if proc.returncode != 0 or b"DOVECONF_ENV=1" not in proc.stdout:
            raise PigeonholeError(f"doveconf failed: {proc.stderr.decode(errors='replace')}")
        pairs = (
            item.split("=", 1) for item in proc.stdout.decode("utf-8", errors="replace").split("\0") if "=" in item
        )
        return dict(pairs)

    def _chown(self) -> None:
        os.chmod(self.root, 0o755)
        if os.geteuid() != 0:
            return
        for dirpath, _dirnames, filenames in os.walk(self.root):
            os.chown(dirpath, self.uid, self.gid)
            for name in filenames:
                os.chown(os.path.join(dirpath, name), self.uid, self.gid)

    def _stage(self, script: str, message: bytes) -> tuple[Path, Path]:
        # Copies in our own directory: sieve-test reads them as mail_uid and writes the compiled
        # binary (.svbin) next to the script, which must not land in the repository.
        work = self.root / "work" / str(next(self._counter))
        work.mkdir()
        script_path, message_path = work / "script.sieve", work / "message.eml"
        script_path.write_text(script, encoding="utf-8")
        message_path.write_bytes(message)
        if os.geteuid() == 0:
            for path in (work, script_path, message_path):
                os.chown(path, self.uid, self.gid)
        return script_path, message_path

    def _run(
        self, args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SIEVE_TEST, "-c", str(self.config), "-C", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=30,
            env=env or self._env,
        )

    def run(self, script: str, message: bytes, sender: str, recipient: str) -> tuple[Outcome, str]:
        """Runs the script; returns the normalised outcome and the raw output (for diagnostics)."""
        script_path, message_path = self._stage(script, message)
        envelope = ["-f", sender, "-a", recipient, "-r", recipient]
        proc = self._run([*envelope, str(script_path), str(message_path)])
        raw = f"$ sieve-test {' '.join(envelope)}\n{proc.stdout}{proc.stderr}"
        if "failed to compile sieve script" in proc.stderr:
            return Outcome(error="syntax"), raw
        if proc.returncode == 1 and "resolved with successful implicit keep" in proc.stderr:
            return Outcome(actions=[("implicit-keep", ())], error="runtime"), raw
        if proc.returncode != 0 or "Performed actions:" not in proc.stdout:
            raise PigeonholeError(raw)
        outcome, vacations = parse_result(proc.stdout)
        if vacations:
            verdicts, executed = self._vacation_verdicts(envelope, script_path, message_path, outcome)
            raw += f"\n$ sieve-test -e ...\n{executed}"
            for index, verdict in zip(vacations, verdicts, strict=True):
                outcome.actions[index] = (outcome.actions[index][0], verdict, *outcome.actions[index][2:])
        return outcome, raw

    def run_sequence(self, scripts: list[str], message: bytes, sender: str, recipient: str) -> tuple[Outcome, str]:
        """Runs scripts one after another as sieve_before/personal/sieve_after (``-s``).

        sieve-test prints one result section per script that ran ("## Executing script: ...");
        the actions are their concatenation, and only the last section's implicit keep counts.
        """
        main_path, message_path = self._stage(scripts[-1], message)
        work = main_path.parent
        # sieve-test 0.5.19 fails to open a -s script given with a directory ("internal error"), so
        # the earlier scripts sit next to the main one and are named relative to it (cwd).
        names = []
        for number, script in enumerate(scripts[:-1]):
            path = work / f"before{number}.sieve"
            path.write_text(script, encoding="utf-8")
            if os.geteuid() == 0:
                os.chown(path, self.uid, self.gid)
            names.append(path.name)
        envelope = ["-f", sender, "-a", recipient, "-r", recipient]
        before = [arg for name in names for arg in ("-s", name)]
        proc = self._run([*envelope, *before, main_path.name, str(message_path)], cwd=work)
        raw = f"$ sieve-test {' '.join(envelope)} (sequence of {len(scripts)})\n{proc.stdout}{proc.stderr}"
        if proc.returncode != 0 or "Performed actions:" not in proc.stdout:
            raise PigeonholeError(raw)
        sections = proc.stdout.split("\n## Executing script: ")[1:]
        outcome = Outcome()
        for number, section in enumerate(sections, 1):
            part, vacations = parse_result(section)
            if vacations:
                raise PigeonholeError(f"vacation in a script sequence is not supported here:\n{raw}")
            outcome.duplicate_marks += part.duplicate_marks
            last = number == len(sections)
            outcome.actions += [a for a in part.actions if last or a[0] != "implicit-keep"]
        # The last script's implicit keep after an explicit keep in an earlier one is one delivery
        # into INBOX with both sets of flags (seen with -e: one message, the flags of both).
        stores = [i for i, a in enumerate(outcome.actions) if a[:2] == ("store", "INBOX")]
        if stores and outcome.actions and outcome.actions[-1][0] == "implicit-keep":
            implicit = outcome.actions.pop()
            store = outcome.actions[stores[0]]
            merged = tuple(sorted({*store[2], *implicit[1]}))  # type: ignore[misc]
            outcome.actions[stores[0]] = (*store[:2], merged, *store[3:])
        return outcome, raw

    def _vacation_verdicts(
        self, envelope: list[str], script_path: Path, message_path: Path, outcome: Outcome
    ) -> tuple[list[str], str]:
        for action in outcome.actions:
            if action[0] == "store" and isinstance(action[1], str) and action[1] != "INBOX":
                folder = _folder(self.root / "scratch", action[1])
                _maildir(folder)
                if os.geteuid() == 0:
                    for dirpath, _dirs, _files in os.walk(folder):
                        os.chown(dirpath, self.uid, self.gid)
        proc = self._run(["-e", *envelope, str(script_path), str(message_path)], env=self._scratch_env)
        log = proc.stdout + proc.stderr
        verdicts = []
        for line in log.splitlines():
            if "vacation action:" not in line or line.startswith("info:"):
                continue
            sent = re.search(r"sent vacation response to <([^>]*)>", line)
            verdicts.append(f"reply to {sent.group(1)}" if sent else "suppressed")
        if len(verdicts) != 1:
            raise PigeonholeError(f"expected one vacation verdict in the -e run:\n{log}")
        return verdicts, log


_ACTION = re.compile(r"^ \* (.*)$")
_EFFECT = re.compile(r"^ {8}\+ (.*)$")
_VACATION_FIELD = re.compile(r"^ {4}=> (\w+)\s*: (.*)$")


def _flags(text: str) -> tuple[str, ...]:
    return tuple(sorted({flag.lower() for flag in text.split()}))


def parse_result(stdout: str) -> tuple[Outcome, list[int]]:
    """Parses sieve-test's printed result; returns it and the indexes of vacation actions.

    Vacation tuples come out as ("vacation", None, seconds, subject, from, handle, reason); the
    caller fills in the verdict (index 1) from an executed run.
    """
    lines = stdout.splitlines()
    outcome = Outcome()
    vacations: list[int] = []
    section = None
    current: list[object] | None = None
    i = 0

    def finish() -> None:
        nonlocal current
        if current is not None:
            outcome.actions.append(tuple(current))
            current = None

    while i < len(lines):
        line = lines[i]
        if line == "Performed actions:":
            section = "performed"
        elif line == "Implicit keep:":
            finish()
            section = "implicit"
        elif (match := _ACTION.match(line)) and section is not None:
            finish()
            text = match.group(1)
            if section == "implicit":
                if text != "keep" and not text.startswith("store message in folder: "):
                    raise PigeonholeError(f"unexpected implicit keep line {line!r}")
                current = ["implicit-keep", ()]
            elif text.startswith("store message in folder: "):
                current = ["store", text.removeprefix("store message in folder: "), (), False, False]
            elif text == "keep":  # an explicit keep, as a script sequence prints it
                current = ["store", "INBOX", (), False, False]
            elif text.startswith("redirect message to: "):
                current = ["redirect", text.removeprefix("redirect message to: ").strip("<>"), False]
            elif text.startswith("reject message with reason: "):
                current = ["reject", text.removeprefix("reject message with reason: ")]
            elif text == "discard":
                current = ["discard"]
            elif text.startswith("track") and text.endswith("duplicate") or "duplicate with handle" in text:
                outcome.duplicate_marks += 1
            elif text == "send vacation message:":
                fields: dict[str, str] = {}
                i += 1
                while i < len(lines) and (field_match := _VACATION_FIELD.match(lines[i])):
                    fields[field_match.group(1)] = field_match.group(2)
                    i += 1
                while i < len(lines) and lines[i] != "START MESSAGE":
                    i += 1
                body = []
                i += 1
                while i < len(lines) and lines[i] != "END MESSAGE":
                    body.append(lines[i])
                    i += 1
                vacations.append(len(outcome.actions))
                outcome.actions.append(
                    (
                        "vacation",
                        None,
                        int(fields["seconds"]),
                        fields.get("subject"),
                        fields.get("from"),
                        fields.get("handle"),
                        "\n".join(body).strip(),
                    )
                )
            else:
                raise PigeonholeError(f"unknown action line {line!r}")
        elif (match := _EFFECT.match(line)) and current is not None:
            effect = match.group(1)
            if effect.startswith("add IMAP flags:"):
                current[-3 if current[0] == "store" else 1] = _flags(effect.removeprefix("add IMAP flags:"))
            elif effect == "preserve implicit keep":
                current[3 if current[0] == "store" else 2] = True
            elif effect == "create mailbox if it does not exist":
                current[4] = True
            else:
                raise PigeonholeError(f"unknown side effect {line!r}")
        i += 1
    finish()
    return outcome, vacations
