"""Errors of glisten-conch, under Twisted's names."""

from __future__ import annotations

from typing import Any

from glisten.cred.error import UnauthorizedLogin

__all__ = [
    "ConchError",
    "HostKeyChanged",
    "IgnoreAuthentication",
    "InvalidEntry",
    "MissingKeyStoreError",
    "NotEnoughAuthentication",
    "PasswordChangeRequired",
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


class PasswordChangeRequired(UnauthorizedLogin):
    """
    The password is right but must be changed before it logs in: it has expired, or (for a
    change request) the new password offered is not acceptable.

    A checker raises this; the SSH server then asks the client for a new password
    (``SSH_MSG_USERAUTH_PASSWD_CHANGEREQ``, RFC 4252 section 8) when the portal has a checker
    for :class:`~glisten.conch.checkers.IUsernamePasswordChange` credentials, and refuses the
    login otherwise (it is an :class:`~glisten.cred.error.UnauthorizedLogin`, so code that
    knows nothing of it refuses too).

    :ivar prompt: the text shown to the user: why a new password is needed.
    """

    def __init__(self, prompt: str = "Your password has expired; choose a new one.") -> None:
        super().__init__(prompt)
        self.prompt = prompt


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
