"""Micro-benchmark of kastell.formats.mime: parse, dumps/loads, BODYSTRUCTURE.

Usage: python bench/mime_parse.py [N]   (N passes over tests/corpus/mime)
Prints messages/s and µs/message per operation.  No assertions: this is a
measuring tool, the unit tests check behaviour.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kastell.formats.mime import dumps, imap_bodystructure, imap_envelope, loads, parse_message  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "mime"


def _measure(label: str, n: int, fn: object) -> None:
    assert callable(fn)
    fn()  # warm caches
    t0 = time.perf_counter()
    count = fn()
    elapsed = time.perf_counter() - t0
    print(f"{label:<28} {count / elapsed:>10,.0f} msg/s {elapsed / count * 1e6:>8.1f} µs/msg  ({count} msgs)")


def main() -> None:
    passes = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    messages = [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
    typical = [m for m in messages if 3_000 <= len(m) <= 20_000]
    # The hand-written corpus is small; also time realistic 3-20 KB shapes
    # by padding the multipart messages' text parts.
    padded = [
        m.replace(b"\r\n\r\n", b"\r\n\r\n" + b"Lorem ipsum dolor sit amet, consectetur adipiscing.\r\n" * 60, 3)
        for m in messages
    ]
    typical += [m for m in padded if 3_000 <= len(m) <= 20_000]
    parsed = [parse_message(m) for m in messages]
    blobs = [dumps(p) for p in parsed]
    print(
        f"corpus: {len(messages)} messages, {sum(map(len, messages)):,} bytes; "
        f"3-20 KB set: {len(typical)} messages, avg {sum(map(len, typical)) // max(1, len(typical)):,} bytes"
    )

    def parse_all() -> int:
        for _ in range(passes):
            for m in messages:
                parse_message(m)
        return passes * len(messages)

    def parse_typical() -> int:
        for _ in range(passes):
            for m in typical:
                parse_message(m)
        return passes * len(typical)

    def dumps_all() -> int:
        for _ in range(passes):
            for p in parsed:
                dumps(p)
        return passes * len(parsed)

    def loads_all() -> int:
        for _ in range(passes):
            for b in blobs:
                loads(b)
        return passes * len(blobs)

    def imap_all() -> int:
        for _ in range(passes):
            for p in parsed:
                imap_bodystructure(p.root)
                imap_envelope(p.envelope)
        return passes * len(parsed)

    per_message = []
    for m in typical:
        t0 = time.perf_counter()
        for _ in range(passes):
            parse_message(m)
        per_message.append((time.perf_counter() - t0) / passes * 1e6)
    per_message.sort()
    print(
        f"3-20 KB per-message µs: median {per_message[len(per_message) // 2]:.1f}, "
        f"p90 {per_message[int(len(per_message) * 0.9)]:.1f}, max {per_message[-1]:.1f}"
    )
    _measure("parse_message (corpus)", passes, parse_all)
    _measure("parse_message (3-20 KB)", passes, parse_typical)
    _measure("dumps", passes, dumps_all)
    _measure("loads", passes, loads_all)
    _measure("bodystructure+envelope", passes, imap_all)
    print(f"cache size: avg {sum(map(len, blobs)) // len(blobs)} bytes/message")


if __name__ == "__main__":
    main()
