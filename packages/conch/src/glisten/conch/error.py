"""Errors of glisten-conch, under Twisted's names."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConchError",
    "HostKeyChanged",
    "IgnoreAuthentication",
    "InvalidEntry",
    "MissingKeyStoreError",
    "NotEnoughAuthentication",
    "UserRejectedKey",
    "ValidPublicKey",
]


class ConchError(Exception):
    """
    A general SSH error.

    :ivar value: a description (or, for channel open failures, a reason code).
    :ivar data: extra detail (or the description, when ``value`` is a code).
    """

    def __init__(self, value: Any, data: Any = None) -> None:
        super().__init__(value, data)
        self.value = value
        self.data = data


class NotEnoughAuthentication(Exception):
    """This login succeeded but more methods must succeed too (partial success)."""


class ValidPublicKey(Exception):
    """
    The public key offered would be accepted; the client must now prove it has the private key.

    A checker raises this for a key query (credentials without a signature).
    """


class IgnoreAuthentication(Exception):
    """This attempt does not count: answer failure without counting it."""


class UserRejectedKey(Exception):
    """The user (or policy) did not accept a host key."""


class HostKeyChanged(UserRejectedKey):
    """
    The host key differs from the one on record (a possible man in the middle).

    :ivar offendingEntry: the known-hosts entry that did not match.
    :ivar path: the known-hosts file.
    :ivar lineno: its line number.
    """

    def __init__(self, offendingEntry: Any, path: Any, lineno: int) -> None:
        super().__init__(offendingEntry, path, lineno)
        self.offendingEntry = offendingEntry
        self.path = path
        self.lineno = lineno


class InvalidEntry(Exception):
    """A known-hosts line could not be read."""


class MissingKeyStoreError(Exception):
    """An SSH agent server was asked for keys but its factory holds no ``keys``."""
