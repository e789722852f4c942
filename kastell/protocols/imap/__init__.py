"""The IMAP4rev2/IMAP4rev1 server (RFC 9051, RFC 3501) and its extensions.

``parser`` (sans-I/O command parser), ``session`` (state machine and command
table), ``selected`` (a session's view of its selected mailbox), ``commands/``
(one module per command family), ``responses`` (serialisation), ``server``
(asyncio glue: sockets, TLS, IDLE, timeouts). See docs/imap.md for coverage.
"""
