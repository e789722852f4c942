"""ManageSieve (RFC 5804): users upload and activate their Sieve scripts.

``parser`` splits the client's bytes into commands (atoms, quoted strings,
literals); ``session`` is the protocol state machine over kastell.rules.scripts;
``server`` is the asyncio glue (``listen``) and the only module that touches sockets.
"""
