"""Ready-made error pages, as in ``twisted.web.pages``: :func:`errorPage`, :func:`notFound`,
:func:`forbidden`.

Each is a resource that answers every request below it with its status and a small HTML page
rendered through :mod:`glisten.web.template`, so the text given (which may come from the
client) is escaped.
"""

from __future__ import annotations

from glisten.web import http
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource, Resource
from glisten.web.template import Element, TagLoader, renderElement, tags

__all__ = ["errorPage", "forbidden", "notFound"]


class _ErrorPage(Resource):
    """The resource behind :func:`errorPage`."""

    def __init__(self, code: int, brief: str, detail: str) -> None:
        super().__init__()
        self._code = code
        self._brief = brief
        self._detail = detail

    def render(self, request: IRequest) -> int:
        request.setResponseCode(self._code)
        page = tags.html(
            tags.head(tags.title(f"{self._code} - {self._brief}")),
            tags.body(tags.h1(self._brief), tags.p(self._detail)),
        )
        return renderElement(request, Element(TagLoader(page)))

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        return self


def errorPage(code: int, brief: str, detail: str) -> IResource:
    """A resource answering ``code`` with a page titled ``brief`` that explains ``detail``.

    :param code: The status code.
    :param brief: A short title (escaped).
    :param detail: A longer explanation (escaped).
    """
    return _ErrorPage(code, brief, detail)


def notFound(
    brief: str = "No Such Resource", message: str = "Sorry. No luck finding that resource."
) -> IResource:
    """A 404 Not Found page."""
    return _ErrorPage(http.NOT_FOUND, brief, message)


def forbidden(
    brief: str = "Forbidden Resource", message: str = "Sorry, resource is forbidden."
) -> IResource:
    """A 403 Forbidden page."""
    return _ErrorPage(http.FORBIDDEN, brief, message)
