"""Fixtures of the mail tests (defined in tests/mail/mailenv.py)."""

from tests.mail.mailenv import anyio_backend, mailenv

__all__ = ["anyio_backend", "mailenv"]
