"""Exceptions of glisten.web, as in ``twisted.web.error``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


class UnfilledSlot(Exception):
    """A template :class:`~glisten.web.template.slot` had no value and no default."""


class UnsupportedType(Exception):
    """The flattener met an object it cannot turn into bytes."""


class MissingRenderMethod(Exception):
    """A tag names a renderer its element does not have.

    :ivar element: The element asked.
    :ivar renderName: The renderer's name.
    """

    def __init__(self, element: object, renderName: str) -> None:
        super().__init__(element, renderName)
        self.element = element
        self.renderName = renderName

    def __str__(self) -> str:
        return f"{self.element!r}: no renderer named {self.renderName!r}"


class MissingTemplateLoader(Exception):
    """An element was rendered without a ``loader``.

    :ivar element: The element.
    """

    def __init__(self, element: object) -> None:
        super().__init__(element)
        self.element = element

    def __str__(self) -> str:
        return f"{self.element!r} has no template loader"


class FlattenerError(Exception):
    """Flattening a template tree failed.

    :ivar exception: What was raised.
    :ivar roots: The objects being flattened when it was raised, outermost first.
    :ivar traceback: The frames, as :func:`traceback.extract_tb` gives them.
    """

    def __init__(self, exception: BaseException, roots: list[object], traceback: list[Any]) -> None:
        super().__init__(exception, roots, traceback)
        self._exception = exception
        self._roots = roots
        self._traceback = traceback

    def _formatRoot(self, obj: object) -> str:
        from glisten.web.template import Tag

        if isinstance(obj, (bytes, str)):
            text = repr(obj)
            return text if len(text) <= 40 else text[:20] + "<...>" + text[-20:]
        if isinstance(obj, Tag):
            if obj.filename is None:
                return (
                    "Tag <"
                    + (
                        obj.tagName
                        if isinstance(obj.tagName, str)
                        else obj.tagName.decode("utf-8", "replace")
                    )
                    + ">"
                )
            return 'File "%s", line %d, column %d, in "%s"' % (
                obj.filename,
                obj.lineNumber or 0,
                obj.columnNumber or 0,
                obj.tagName
                if isinstance(obj.tagName, str)
                else obj.tagName.decode("utf-8", "replace"),
            )
        return repr(obj)

    def __repr__(self) -> str:
        lines = ["Exception while flattening:"]
        lines.extend("  " + self._formatRoot(root) for root in self._roots)
        for frame in self._traceback:
            lines.append(f'  File "{frame[0]}", line {frame[1]}, in {frame[2]}')
            if len(frame) > 3 and frame[3]:
                lines.append(f"    {frame[3]}")
        lines.append(f"{type(self._exception).__name__}: {self._exception}")
        return "\n".join(lines) + "\n"

    __str__ = __repr__


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
