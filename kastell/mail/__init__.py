"""Mail transport: local delivery, submission, the outbound queue, DSNs, DKIM, SPF/DMARC.

Protocol edges (SMTP, LMTP, and later JMAP/EWS/ActiveSync submission) call
``kastell.mail.submit`` and ``kastell.mail.transport(app).delivery``; nothing here
speaks a wire protocol to clients. See docs/mail.md.
"""
