"""The portal: the one place where credentials are checked and avatars handed out.

A :class:`Portal` asks the checker registered for the kind of credentials to verify them,
getting an avatar ID, then asks its :class:`IRealm` for an avatar of the interface the caller
wants.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zope.interface import Interface, providedBy

from glisten.cred import error
from glisten.internet.defer import Deferred, fail, maybeDeferred
from glisten.python.failure import Failure

__all__ = ["IRealm", "Portal"]


class IRealm(Interface):
    """Turns an authenticated avatar ID into an avatar."""

    def requestAvatar(avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """Return the avatar for ``avatarId`` providing one of ``interfaces``.

        :param avatarId: what the credentials checker returned (bytes, or ``()`` for an
            anonymous login).
        :param mind: an object the protocol passes along (a client reference), or ``None``.
        :param interfaces: the interfaces the caller can use, in order of preference.
        :return: (or a Deferred firing with) ``(interface, avatar, logout)``: the interface
            chosen, the avatar and a no-argument callable to call on logout.
        :raises NotImplementedError: no interface is supported.
        """


class Portal:
    """Checks credentials and asks a realm for the avatar.

    :param realm: the :class:`IRealm`.
    :param checkers: credentials checkers, each registered for the interfaces in its
        ``credentialInterfaces``.
    """

    def __init__(self, realm: Any, checkers: Iterable[Any] = ()) -> None:
        self.realm = realm
        self.checkers: dict[Any, Any] = {}
        for checker in checkers:
            self.registerChecker(checker)

    def listCredentialsInterfaces(self) -> list[Any]:
        """Return the credential interfaces that some checker handles."""
        return list(self.checkers.keys())

    def registerChecker(self, checker: Any, *credentialInterfaces: Any) -> None:
        """Register ``checker`` for ``credentialInterfaces`` (default: its own
        ``credentialInterfaces``). A later registration for an interface wins."""
        if not credentialInterfaces:
            credentialInterfaces = tuple(checker.credentialInterfaces)
        for credentialInterface in credentialInterfaces:
            self.checkers[credentialInterface] = checker

    def _requestAvatar(self, avatarId: Any, mind: Any, interfaces: tuple[Any, ...]) -> Any:
        return self.realm.requestAvatar(avatarId, mind, *interfaces)

    def login(self, credentials: Any, mind: Any, *interfaces: Any) -> Deferred[Any]:
        """Check ``credentials`` and return a Deferred firing with the realm's
        ``(interface, avatar, logout)``.

        The Deferred fails with :class:`~glisten.cred.error.UnauthorizedLogin` (or whatever the
        checker failed with) on bad credentials, and with
        :class:`~glisten.cred.error.UnhandledCredentials` if no checker accepts this kind of
        credentials.
        """
        # Most specific first, then the interfaces they extend (a checker registered for
        # IUsernameHashedPassword also checks CRAM-MD5 credentials).
        for credentialInterface in providedBy(credentials).flattened():
            checker = self.checkers.get(credentialInterface)
            if checker is not None:
                d: Deferred[Any] = maybeDeferred(checker.requestAvatarId, credentials)
                return d.addCallback(self._requestAvatar, mind, interfaces)
        kinds = [i.__name__ for i in providedBy(credentials)]
        return fail(
            Failure(
                error.UnhandledCredentials(
                    f"No checker for {', '.join(kinds) or type(credentials).__name__}"
                )
            )
        )
