"""IMAP command handlers, one module per RFC command family.

A handler is ``async def handle_x(session, command) -> str`` (the text of the
tagged OK, optionally with ``[CODE]`` first); it raises ``No``/``Bad``.  It
writes untagged responses with ``session.send`` and never touches a socket.
"""
