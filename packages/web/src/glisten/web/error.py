"""Exceptions of glisten.web, as in ``twisted.web.error``."""

from __future__ import annotations

from collections.abc import Sequence

from glisten.web._h11 import RESPONSES


class Error(Exception):
    """An HTTP error status with an optional message and body.

    :ivar status: The status code, as bytes (Twisted's convention).
    :ivar message: The reason phrase.
    :ivar response: A response body, if any.
    """

    def __init__(
        self, code: int | bytes, message: bytes | None = None, response: bytes | None = None
    ) -> None:
        status = code if isinstance(code, bytes) else str(code).encode("ascii")
        if message is None:
            try:
                message = RESPONSES.get(int(status))
            except ValueError:
                message = None
        super().__init__(status, message, response)
        self.status = status
        self.message = message
        self.response = response

    def __str__(self) -> str:
        return f"{self.status.decode('ascii', 'replace')} {(self.message or b'').decode('ascii', 'replace')}"


class UnsupportedMethod(Exception):
    """The resource has no ``render_<METHOD>``; :attr:`allowedMethods` lists what it has."""

    allowedMethods: Sequence[bytes] = ()

    def __init__(self, allowedMethods: Sequence[bytes], *args: object) -> None:
        super().__init__(allowedMethods, *args)
        self.allowedMethods = allowedMethods


class UnexposedMethodError(Exception):
    """A method that is not exposed was asked for."""


class PartialDownloadError(Error):
    """A response body ended with the connection, with nothing (a length, chunked framing)
    proving it complete; :attr:`response` holds the bytes that arrived."""


class _LocatedError(Error):
    """An error about a redirect, with where it pointed.

    :ivar location: Where the server redirected to.
    """

    def __init__(
        self,
        code: int | bytes,
        message: bytes | None = None,
        response: bytes | None = None,
        location: bytes | None = None,
    ) -> None:
        super().__init__(code, message, response)
        self.location = location


class PageRedirect(_LocatedError):
    """A redirect the client did not follow (an unsafe method, say)."""


class InfiniteRedirection(_LocatedError):
    """A chain of redirects longer than the client's limit; ``location`` is the last."""


class RedirectWithNoLocation(Error):
    """A redirect response without a ``Location`` header.

    :ivar uri: The URI that answered with it.
    """

    def __init__(self, code: int | bytes, message: bytes | None, uri: bytes) -> None:
        super().__init__(code, message)
        self.uri = uri


class SchemeNotSupported(Exception):
    """The client cannot request URIs of this scheme."""
