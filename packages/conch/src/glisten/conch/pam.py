"""
PAM-style conversations for ``keyboard-interactive`` logins (RFC 4256).

A checker for :class:`IPluggableAuthenticationModules` credentials drives the login: it calls
the credentials' ``pamConversion`` with a list of ``(message, kind)`` items as often as it
needs (one call per round of questions) and decides from the answers. The SSH server turns
each call into one ``USERAUTH_INFO_REQUEST``: prompts of kind :data:`PAM_PROMPT_ECHO_OFF`
are hidden as they are typed, :data:`PAM_PROMPT_ECHO_ON` ones are shown, and
:data:`PAM_TEXT_INFO` / :data:`PAM_ERROR_MSG` messages become the round's instruction text.
The credentials live where Twisted has them, in :mod:`glisten.cred.credentials`, and are
re-exported here beside the kinds; no PAM library is involved, so a checker can ask for a
password and a one-time code, or anything else, in pure Python::

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

from glisten.cred.credentials import (
    IPluggableAuthenticationModules,
    PAMConversation,
    PluggableAuthenticationModules,
)

__all__ = [
    "PAM_ERROR_MSG",
    "PAM_PROMPT_ECHO_OFF",
    "PAM_PROMPT_ECHO_ON",
    "PAM_TEXT_INFO",
    "IPluggableAuthenticationModules",
    "PAMConversation",
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
