"""SMTP, POP3, IMAP4 and maildir for glisten."""

from glisten.mail._version import __version__

__all__ = ["__version__"]
