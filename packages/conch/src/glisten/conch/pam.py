"""
PAM-style conversations for ``keyboard-interactive`` logins (RFC 4256).

A checker for :class:`IPluggableAuthenticationModules` credentials drives the login: it calls
the credentials' ``pamConversion`` with a list of ``(message, kind)`` items as often as it
needs (one call per round of questions) and decides from the answers. The SSH server turns
each call into one ``USERAUTH_INFO_REQUEST``: prompts of kind :data:`PAM_PROMPT_ECHO_OFF`
are hidden as they are typed, :data:`PAM_PROMPT_ECHO_ON` ones are shown, and
:data:`PAM_TEXT_INFO` / :data:`PAM_ERROR_MSG` messages become the round's instruction text.
The names are Twisted's (``twisted.cred.credentials``); no PAM library is involved, so a
checker can ask for a password and a one-time code, or anything else, in pure Python::

    @implementer(ICredentialsChecker)
    class PasswordAndCode:
        credentialInterfaces = (IPluggableAuthenticationModules,)

        async def _check(self, credentials):
            answers = await credentials.pamConversion(
                [("Password: ", PAM_PROMPT_ECHO_OFF), ("Code: ", PAM_PROMPT_ECHO_ON)]
            )
            ...

        def requestAvatarId(self, credentials):
            return Deferred.fromCoroutine(self._check(credentials))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from zope.interface import Attribute, implementer

from glisten.cred.credentials import ICredentials
from glisten.internet.defer import Deferred

__all__ = [
    "PAM_ERROR_MSG",
    "PAM_PROMPT_ECHO_OFF",
    "PAM_PROMPT_ECHO_ON",
    "PAM_TEXT_INFO",
    "IPluggableAuthenticationModules",
    "PluggableAuthenticationModules",
]

#: A prompt whose answer is not shown as it is typed (a password).
PAM_PROMPT_ECHO_OFF = 1
#: A prompt whose answer is shown (a user name, a code read off a device).
PAM_PROMPT_ECHO_ON = 2
#: An error message to show; it takes no answer.
PAM_ERROR_MSG = 3
#: An informational message to show; it takes no answer.
PAM_TEXT_INFO = 4

#: ``pamConversion``: ``(message, kind)`` items in, a Deferred of one ``(answer, 0)`` per item
#: out (``b""`` for the messages that take no answer).
PAMConversation = Callable[[Sequence[tuple[bytes | str, int]]], Deferred[list[tuple[bytes, int]]]]


class IPluggableAuthenticationModules(ICredentials):
    """
    A user name and a way to ask the user questions.

    :ivar username: the user logging in.
    :ivar pamConversion: a :data:`PAMConversation`; it fails with
        :class:`glisten.conch.error.ConchError` when the client cannot be asked (an unknown
        kind, too many prompts, a round already waiting).
    """

    username = Attribute("The user name, as bytes.")
    pamConversion = Attribute("Callable asking (message, kind) items; Deferred of answers.")


@implementer(IPluggableAuthenticationModules)
class PluggableAuthenticationModules:
    """
    The credentials of a ``keyboard-interactive`` login whose checker asks the questions.

    :param username: the user name (``str`` is encoded as UTF-8).
    :param pamConversion: see :class:`IPluggableAuthenticationModules`.
    """

    def __init__(self, username: bytes | str, pamConversion: PAMConversation | Any) -> None:
        self.username = username.encode("utf-8") if isinstance(username, str) else username
        self.pamConversion = pamConversion

    def __repr__(self) -> str:
        return f"<PluggableAuthenticationModules username={self.username!r}>"
