"""Small helpers for resources, as in ``twisted.web.util``."""

from __future__ import annotations

from html import escape

from glisten.web import resource
from glisten.web.iweb import IRequest


def redirectTo(URL: bytes, request: IRequest) -> bytes:
    """Redirect ``request`` to ``URL`` (302) and return a small HTML body linking to it.

    The URL is HTML-escaped in the body (Twisted CVE-2024-41810 put it there raw, letting a
    crafted URL inject script).

    :param URL: The target, bytes.
    :raises TypeError: ``URL`` is not bytes.
    """
    if not isinstance(URL, bytes):
        raise TypeError(f"URL must be bytes, not {type(URL).__name__}")
    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    request.redirect(URL)
    safe = escape(URL.decode("utf-8", "replace"), quote=True)
    return (
        '<!DOCTYPE html>\n<html>\n    <head>\n        <meta http-equiv="refresh" '
        'content="0;URL=%s">\n    </head>\n    <body bgcolor="#FFFFFF" text="#000000">\n'
        '    <a href="%s">click here</a>\n    </body>\n</html>\n' % (safe, safe)
    ).encode("utf-8")


class Redirect(resource.Resource):
    """A leaf that redirects every request to one URL."""

    isLeaf = True

    def __init__(self, url: bytes) -> None:
        super().__init__()
        self.url = url

    def render(self, request: IRequest) -> bytes:
        return redirectTo(self.url, request)

    def getChild(self, name: bytes, request: IRequest) -> resource.IResource:
        return self
