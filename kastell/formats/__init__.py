"""Data formats Kastell reads and writes (MIME messages, ...).

Every subpackage is pure: bytes in, values out, no I/O and no database access,
so that it can be tested and fuzzed on its own (see ``docs`` / STYLE.md,
"sans-I/O").
"""

__all__: list[str] = []
