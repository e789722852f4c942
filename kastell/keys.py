"""Installation secrets kept as files in the data directory (0600), made on first use.

Every process on one data directory reads the same file, so signatures made by
one (a session cookie, an SRS address) verify in another and survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_key(data_dir: Path, filename: str) -> bytes:
    """The 32-byte secret in ``data_dir/filename``, made atomically when missing."""
    path = data_dir / filename
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
        handle.flush()
        os.fsync(handle.fileno())
    return key
