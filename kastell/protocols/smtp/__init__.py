"""SMTP (MX, RFC 5321), submission (RFC 6409, 587 and 465) and LMTP (RFC 2033) on aiosmtpd.

One handler serves all four listeners; what differs between them is data
(``policy.py``). The transport work — resolution, delivery, queue, DKIM,
SPF/DMARC — is ``kastell.mail``; this package only speaks the protocol.
"""
