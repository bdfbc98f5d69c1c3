"""Interfaces of glisten.web, as in ``twisted.web.iweb`` (the server-side part)."""

from __future__ import annotations

from zope.interface import Attribute, Interface


class IRequest(Interface):
    """An HTTP request being answered (see :class:`glisten.web.http.Request`)."""

    method = Attribute("The request method, bytes.")
    uri = Attribute("The full request target, bytes.")
    path = Attribute("The path of the target, without the query, bytes.")
    args = Attribute("Query (and form) arguments: dict of bytes to list of bytes.")
    requestHeaders = Attribute("The request's Headers.")
    responseHeaders = Attribute("The response's Headers.")
    content = Attribute("A file-like object holding the request body.")

    def getHeader(key: bytes) -> bytes | None:
        """The last value of a request header, or None."""

    def setHeader(name: bytes, value: bytes) -> None:
        """Set a response header, replacing earlier values."""

    def setResponseCode(code: int, message: bytes | None = None) -> None:
        """Set the response status."""

    def write(data: bytes) -> None:
        """Write part of the response body (sending the head first)."""

    def finish() -> None:
        """The response is complete."""


class IAccessLogFormatter(Interface):
    """A callable ``(timestamp: str, request) -> str`` that gives one access log line."""

    def __call__(timestamp: str, request: object) -> str:
        """Format one line."""
