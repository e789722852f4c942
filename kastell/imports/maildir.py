"""Reading a Maildir (Maildir++ ``.Sub.Folder`` or the ``Sub/Folder`` layout) as import messages.

Flags come from the file name's info part (``:2,FRS``); Dovecot keyword letters
are mapped through ``dovecot-keywords`` when present; the internal date is the
file's mtime, which is what Dovecot and Courier use as the arrival time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kastell.imports.utf7 import decode as decode_mutf7
from kastell.store.flags import Flag

_FLAG_LETTERS = {"S": Flag.SEEN, "R": Flag.ANSWERED, "F": Flag.FLAGGED, "T": Flag.DELETED, "D": Flag.DRAFT}


@dataclass(frozen=True, slots=True)
class MessageFile:
    folder: str  # store path, "INBOX" or "Parent/Child"
    path: Path
    flags: int
    keywords: tuple[str, ...]
    internal_date: int


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() or (path / "new").is_dir()


def folders(root: Path) -> list[tuple[str, Path]]:
    """(store path, directory) of every folder under a Maildir root; INBOX first."""
    if not _is_maildir(root):
        raise ValueError(f"{root} is not a Maildir (no cur/ or new/)")
    found: list[tuple[str, Path]] = [("INBOX", root)]
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name in ("cur", "new", "tmp"):
            continue
        if entry.name.startswith(".") and entry.name not in (".", "..") and _is_maildir(entry):
            levels = [decode_mutf7(level) for level in entry.name[1:].split(".") if level]
            if levels:
                found.append(("/".join(_inbox(levels)), entry))
        elif not entry.name.startswith("."):
            found.extend(_fs_layout(entry, [decode_mutf7(entry.name)]))
    return found


def _fs_layout(directory: Path, levels: list[str]) -> Iterator[tuple[str, Path]]:
    if _is_maildir(directory):
        yield "/".join(_inbox(levels)), directory
    for entry in sorted(directory.iterdir()):
        if entry.is_dir() and entry.name not in ("cur", "new", "tmp") and not entry.name.startswith("."):
            yield from _fs_layout(entry, levels + [decode_mutf7(entry.name)])


def _inbox(levels: list[str]) -> list[str]:
    return ["INBOX", *levels[1:]] if levels[0].upper() == "INBOX" else levels


def _keyword_letters(directory: Path) -> dict[str, str]:
    path = directory / "dovecot-keywords"
    letters: dict[str, str] = {}
    try:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            index, _, keyword = line.partition(" ")
            if index.isdigit() and int(index) < 26 and keyword:
                letters[chr(ord("a") + int(index))] = keyword
    except OSError:
        pass
    return letters


def parse_info(name: str, letters: dict[str, str]) -> tuple[int, tuple[str, ...]]:
    """Flags and keywords from ``unique:2,FRSab``; ``P`` (passed) becomes ``$Forwarded``."""
    _, sep, info = name.rpartition(":2,")
    if not sep:
        return 0, ()
    flags = 0
    keywords: list[str] = []
    for ch in info:
        if ch in _FLAG_LETTERS:
            flags |= _FLAG_LETTERS[ch]
        elif ch == "P":
            keywords.append("$Forwarded")
        elif ch in letters:
            keywords.append(letters[ch])
    return flags, tuple(keywords)


def messages(folder: str, directory: Path) -> Iterator[MessageFile]:
    """Messages of one folder, ``cur`` then ``new``, in file-name order (delivery order)."""
    letters = _keyword_letters(directory)
    for sub in ("cur", "new"):
        base = directory / sub
        try:
            names = sorted(os.listdir(base))
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            path = base / name
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            flags, keywords = parse_info(name, letters)
            yield MessageFile(folder, path, flags, keywords, int(stat.st_mtime))
