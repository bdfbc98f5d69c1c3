"""Credentials: what a client presents to prove who it is.

Passwords are compared with :func:`hmac.compare_digest`, whose running time does not depend on
where two values differ, so a client cannot find a password byte by byte by timing replies.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from zope.interface import Attribute, Interface, implementer

if TYPE_CHECKING:
    from glisten.internet.defer import Deferred

__all__ = [
    "Anonymous",
    "IAnonymous",
    "ICredentials",
    "IPluggableAuthenticationModules",
    "ISSHPrivateKey",
    "IUsernameHashedPassword",
    "IUsernamePassword",
    "PluggableAuthenticationModules",
    "UsernameHashedPassword",
    "UsernamePassword",
]


def _asBytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class ICredentials(Interface):
    """Marker for every kind of credentials; checkers declare the kinds they understand."""


class IUsernameHashedPassword(ICredentials):
    """A username and a password that can only be checked against a known password.

    :ivar username: the username.
    """

    username = Attribute("The username, as bytes.")

    def checkPassword(password: bytes) -> bool:
        """Return whether ``password`` (the stored, clear-text or equivalently hashed value)
        matches these credentials."""


class IUsernamePassword(ICredentials):
    """A username and a clear-text password.

    :ivar username: the username.
    :ivar password: the password.
    """

    username = Attribute("The username, as bytes.")
    password = Attribute("The password, as bytes.")

    def checkPassword(password: bytes) -> bool:
        """Return whether ``password`` equals this credential's password (constant time)."""


class IAnonymous(ICredentials):
    """Credentials of a client that does not say who it is."""


class ISSHPrivateKey(ICredentials):
    """Proof of possession of an SSH private key (checked by glisten-conch).

    :ivar username: the user logging in.
    :ivar algName: the public key's algorithm name (``b"ssh-ed25519"`` ...).
    :ivar blob: the public key blob.
    :ivar sigData: the data that was signed, or ``None`` when the client only asks whether the
        key would be accepted.
    :ivar signature: the signature over ``sigData``, or ``None``.
    """

    username = Attribute("The username, as bytes.")
    algName = Attribute("The public key algorithm name, as bytes.")
    blob = Attribute("The public key blob.")
    sigData = Attribute("The signed data, or None.")
    signature = Attribute("The signature, or None.")


@implementer(IUsernamePassword)
class UsernamePassword:
    """A username and clear-text password.

    :param username: the username (``str`` is encoded as UTF-8).
    :param password: the password (``str`` is encoded as UTF-8).
    """

    def __init__(self, username: bytes | str, password: bytes | str) -> None:
        self.username = _asBytes(username)
        self.password = _asBytes(password)

    def checkPassword(self, password: bytes | str) -> bool:
        """Compare ``password`` with ours in constant time."""
        return hmac.compare_digest(self.password, _asBytes(password))

    def __repr__(self) -> str:
        return f"<UsernamePassword username={self.username!r}>"


@implementer(IUsernameHashedPassword)
class UsernameHashedPassword:
    """A username and a password that is only compared, never revealed."""

    def __init__(self, username: bytes | str, hashed: bytes | str) -> None:
        self.username = _asBytes(username)
        self.hashed = _asBytes(hashed)

    def checkPassword(self, password: bytes | str) -> bool:
        """Compare ``password`` with ours in constant time."""
        return hmac.compare_digest(self.hashed, _asBytes(password))


@implementer(IAnonymous)
class Anonymous:
    """The credentials of an anonymous client."""

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Anonymous)

    def __hash__(self) -> int:
        return hash(Anonymous)


#: ``pamConversion``: ``(message, kind)`` items in, a Deferred of one ``(answer, 0)`` per item
#: out (``b""`` for the messages that take no answer). The kinds are the PAM conversation
#: kinds (prompt without echo 1, prompt with echo 2, error message 3, information 4;
#: ``glisten.conch.pam`` names them).
PAMConversation = Callable[[Sequence[tuple[bytes | str, int]]], "Deferred[list[tuple[bytes, int]]]"]


class IPluggableAuthenticationModules(ICredentials):
    """
    A user name and a way to ask the user questions: the checker drives the conversation
    (a password, then a one-time code, ...), as PAM modules do; no PAM library is involved.

    :ivar username: the user logging in.
    :ivar pamConversion: a :data:`PAMConversation`; it fails when the user cannot be asked
        (an unknown kind, too many prompts, a round already waiting).
    """

    username = Attribute("The user name, as bytes.")
    pamConversion = Attribute("Callable asking (message, kind) items; Deferred of answers.")


@implementer(IPluggableAuthenticationModules)
class PluggableAuthenticationModules:
    """
    The credentials of a login whose checker asks the questions (SSH's
    ``keyboard-interactive``).

    :param username: the user name (``str`` is encoded as UTF-8).
    :param pamConversion: see :class:`IPluggableAuthenticationModules`.
    """

    def __init__(self, username: bytes | str, pamConversion: PAMConversation | Any) -> None:
        self.username = _asBytes(username)
        self.pamConversion = pamConversion

    def __repr__(self) -> str:
        return f"<PluggableAuthenticationModules username={self.username!r}>"
