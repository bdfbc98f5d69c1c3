"""Ready-made error pages, as in ``twisted.web.pages``: :func:`errorPage`, :func:`notFound`,
:func:`forbidden`.

Each is a resource that answers every request below it with its status and a small HTML page
(a :class:`glisten.web.resource.ErrorPage`), in which the text given, which may come from the
client, is escaped.
"""

from __future__ import annotations

from glisten.web import http
from glisten.web.resource import ErrorPage, IResource

__all__ = ["errorPage", "forbidden", "notFound"]


def errorPage(code: int, brief: str, detail: str) -> IResource:
    """A resource answering ``code`` with a page titled ``brief`` that explains ``detail``.

    :param code: The status code.
    :param brief: A short title (escaped).
    :param detail: A longer explanation (escaped).
    """
    return ErrorPage(code, brief, detail)


def notFound(
    brief: str = "No Such Resource", message: str = "Sorry. No luck finding that resource."
) -> IResource:
    """A 404 Not Found page."""
    return ErrorPage(http.NOT_FOUND, brief, message)


def forbidden(
    brief: str = "Forbidden Resource", message: str = "Sorry, resource is forbidden."
) -> IResource:
    """A 403 Forbidden page."""
    return ErrorPage(http.FORBIDDEN, brief, message)
