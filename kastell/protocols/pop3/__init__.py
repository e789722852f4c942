"""POP3 (RFC 1939) with CAPA (RFC 2449), STLS (RFC 2595), SASL PLAIN (RFC 5034) and
response codes (RFC 2449 §8, RFC 3206), over the INBOX of a mailbox.

``parser`` turns bytes into command lines, ``encode`` turns a message into its
dot-stuffed multi-line form, ``session`` is the state machine, ``server`` is the
asyncio glue (``listen(app, spec)``, see kastell/listeners.py). Only ``server``
touches a socket.
"""
