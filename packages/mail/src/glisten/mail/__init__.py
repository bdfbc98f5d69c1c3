"""SMTP for glisten: servers, clients, maildir delivery, aliases and a relay queue
(:mod:`glisten.mail.smtp`, :mod:`glisten.mail.maildir`, :mod:`glisten.mail.relaymanager`)."""

from glisten.mail._version import __version__

__all__ = ["__version__"]
