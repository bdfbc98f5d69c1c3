"""The resource that puts HTTP authentication in front of a realm's resources:
:class:`HTTPAuthSessionWrapper` and the 401 page, :class:`UnauthorizedResource`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zope.interface import implementer

from glisten.cred import error
from glisten.cred.credentials import Anonymous
from glisten.cred.portal import Portal
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import http
from glisten.web._auth._challenge import formatChallenge
from glisten.web.iweb import ICredentialFactory, IRequest
from glisten.web.resource import ErrorPage, IResource, RenderResult
from glisten.web.util import DeferredResource

_log = Logger()


@implementer(IResource)
class UnauthorizedResource:
    """Answers 401 with one ``WWW-Authenticate`` challenge per credential factory.

    :param factories: The :class:`~glisten.web.iweb.ICredentialFactory` providers offered.
    """

    isLeaf = True

    def __init__(self, factories: Sequence[ICredentialFactory]) -> None:
        self._credentialFactories = list(factories)

    def render(self, request: IRequest) -> bytes:
        request.setResponseCode(http.UNAUTHORIZED)
        for factory in self._credentialFactories:
            challenge = formatChallenge(factory.scheme.capitalize(), factory.getChallenge(request))
            request.responseHeaders.addRawHeader(b"www-authenticate", challenge)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Unauthorized"

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        return self

    def putChild(self, path: bytes, child: IResource) -> None:
        raise TypeError("an UnauthorizedResource has no children")


@implementer(IResource)
class _LoggedIn:
    """The avatar's resource for one request; logs the avatar out when the response ends."""

    def __init__(self, avatar: IResource, logout: Any) -> None:
        self._avatar = avatar
        self._logout = logout
        self.isLeaf = bool(avatar.isLeaf)

    def _logoutWhenDone(self, request: IRequest) -> None:
        request.notifyFinish().addBoth(lambda _: self._logout())

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        self._logoutWhenDone(request)
        return self._avatar.getChildWithDefault(path, request)

    def render(self, request: IRequest) -> RenderResult:
        self._logoutWhenDone(request)
        return self._avatar.render(request)

    def putChild(self, path: bytes, child: IResource) -> None:
        self._avatar.putChild(path, child)


@implementer(IResource)
class HTTPAuthSessionWrapper:
    """Asks a :class:`~glisten.cred.portal.Portal` for the resource of the user the request
    authenticates as, and answers 401 with challenges when it does not.

    A request without ``Authorization`` logs in as
    :class:`~glisten.cred.credentials.Anonymous` (give the portal an anonymous checker to let
    such users in). The realm must return :class:`~glisten.web.resource.IResource` avatars;
    the avatar is logged out when the response is finished.

    :param portal: The portal.
    :param credentialFactories: The schemes offered, in order (Basic, Digest...).
    """

    isLeaf = False

    def __init__(self, portal: Portal, credentialFactories: Sequence[ICredentialFactory]) -> None:
        self._portal = portal
        self._credentialFactories = list(credentialFactories)

    def _authorizedResource(self, request: IRequest) -> IResource:
        header = request.getHeader(b"authorization")
        if not header:
            return DeferredResource(self._login(Anonymous()))
        scheme, _, response = header.strip().partition(b" ")
        for factory in self._credentialFactories:
            if factory.scheme == scheme.lower():
                break
        else:
            return UnauthorizedResource(self._credentialFactories)
        try:
            credentials = factory.decode(response.strip(), request)
        except error.LoginFailed:
            return UnauthorizedResource(self._credentialFactories)
        except Exception:
            _log.failure("Unexpected failure from credentials factory")
            return ErrorPage(500, "Internal Server Error", "The server could not authenticate.")
        return DeferredResource(self._login(credentials))

    def _login(self, credentials: object) -> Any:
        d = self._portal.login(credentials, None, IResource)
        d.addCallbacks(self._loginSucceeded, self._loginFailed)
        return d

    def _loginSucceeded(self, result: tuple[Any, IResource, Any]) -> IResource:
        interface, avatar, logout = result
        return _LoggedIn(avatar, logout)

    def _loginFailed(self, reason: Failure) -> IResource:
        if reason.check(error.UnauthorizedLogin, error.LoginFailed, error.UnhandledCredentials):
            return UnauthorizedResource(self._credentialFactories)
        _log.failure("HTTPAuthSessionWrapper._loginFailed encountered an error", failure=reason)
        return ErrorPage(500, "Internal Server Error", "The server could not authenticate.")

    def render(self, request: IRequest) -> RenderResult:
        """Render the authenticated user's resource, or the 401 page."""
        return self._authorizedResource(request).render(request)

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        """Authenticate, then walk the rest of the path (this segment included) from the
        user's resource: the wrapper takes no part of the URL."""
        postpath: list[bytes] = getattr(request, "postpath", [])
        prepath: list[bytes] = getattr(request, "prepath", [])
        if prepath:
            postpath.insert(0, prepath.pop())
        return self._authorizedResource(request)

    def putChild(self, path: bytes, child: IResource) -> None:
        raise TypeError("children of an HTTPAuthSessionWrapper come from the realm")


__all__ = ["HTTPAuthSessionWrapper", "UnauthorizedResource"]
