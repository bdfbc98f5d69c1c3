"""Small helpers for resources, as in ``twisted.web.util``: redirects, a resource computed
later, and failures rendered as HTML."""

from __future__ import annotations

import linecache
from html import escape
from typing import Any
from urllib.parse import quote_from_bytes

from glisten.internet.defer import Deferred
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import resource
from glisten.web.iweb import IRequest, ITemplateLoader
from glisten.web.template import Element, Tag, TagLoader, flattenString, renderer, tags

_log = Logger()


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


class ChildRedirector(Redirect):
    """Redirects a request for ``child/x/y`` below it to the same path below ``url``.

    :param url: The base URL the children are found under.
    """

    isLeaf = False

    def __init__(self, url: bytes) -> None:
        if url.find(b"://") == -1 and not url.startswith(b"/"):
            raise ValueError(
                "It seems you've given me a redirect (%r) that is a child of myself! "
                "That's not good, it'll cause an infinite redirect." % (url,)
            )
        super().__init__(url)

    def getChild(self, name: bytes, request: IRequest) -> resource.IResource:
        newUrl = self.url if self.url.endswith(b"/") else self.url + b"/"
        return ChildRedirector(newUrl + quote_from_bytes(name, safe="").encode("ascii"))


class ParentRedirect(resource.Resource):
    """Redirects every request to the parent folder of the requested URL (``/a/b/c`` to
    ``/a/b/``)."""

    isLeaf = True

    def render(self, request: IRequest) -> bytes:
        url = request.uri.split(b"?", 1)[0]
        parent = url.rsplit(b"/", 1)[0] + b"/" if b"/" in url else b"/"
        return redirectTo(parent or b"/", request)

    def getChild(self, name: bytes, request: IRequest) -> resource.IResource:
        return self


class DeferredResource(resource.Resource):
    """A resource that is known only later: a Deferred firing with it.

    Requests that arrive before it fires wait; each is then walked from the resource (the
    rest of its path) and rendered. If the Deferred fails, the failure is logged and every
    request gets the site's 500 page.

    :param d: Fires with the :class:`~glisten.web.resource.IResource`.
    """

    isLeaf = True

    def __init__(self, d: Deferred[resource.IResource]) -> None:
        super().__init__()
        self.d = d
        self._outcome: tuple[resource.IResource | Failure] | None = None
        self._waiting: list[Any] = []
        d.addBoth(self._fired)

    def _fired(self, result: resource.IResource | Failure) -> None:
        self._outcome = (result,)
        if isinstance(result, Failure):
            _log.failure("DeferredResource's Deferred failed", failure=result)
        waiting, self._waiting = self._waiting, []
        for request in waiting:
            self._answer(request, result)

    def _answer(self, request: Any, result: resource.IResource | Failure) -> None:
        if getattr(request, "_disconnected", False):
            return
        if isinstance(result, Failure):
            request.processingFailed(result)
        else:
            request.render(resource.getChildForRequest(result, request))

    def getChild(self, name: bytes, request: IRequest) -> resource.IResource:
        return self

    def render(self, request: IRequest) -> int:
        from glisten.web.server import NOT_DONE_YET

        if self._outcome is None:
            self._waiting.append(request)
        else:
            self._answer(request, self._outcome[0])
        return NOT_DONE_YET


def _frameLines(failure: Failure) -> list[tuple[str, str, int, str]]:
    lines = []
    for name, filename, lineNumber, _locals, _globals in failure.frames:
        source = linecache.getline(filename, lineNumber).strip()
        lines.append((name, filename, lineNumber, source))
    return lines


class FailureElement(Element):
    """A failure as an HTML element: its type, value and traceback, all escaped.

    Shown to clients only where the site's ``displayTracebacks`` allows it
    (:func:`glisten.web.template.renderElement` checks).

    :param failure: The failure.
    :param loader: A template with the renderers ``type``, ``value`` and ``traceback``; the
        default is a plain one.
    """

    def __init__(self, failure: Failure, loader: ITemplateLoader | None = None) -> None:
        super().__init__(
            loader
            or TagLoader(
                tags.div(style="font-size:small")(
                    tags.p(tags.b(render="type"), ": ", tags.span(render="value")),
                    tags.div(render="traceback"),
                )
            )
        )
        self.failure = failure

    @renderer
    def type(self, request: object, tag: Tag) -> Tag:
        kind = self.failure.type
        return tag(kind.__qualname__ if kind is not None else "")

    @renderer
    def value(self, request: object, tag: Tag) -> Tag:
        return tag(str(self.failure.value))

    @renderer
    def traceback(self, request: object, tag: Tag) -> Tag:
        items = []
        for name, filename, lineNumber, source in _frameLines(self.failure):
            items.append(
                tags.div(
                    tags.span(f'File "{filename}", line {lineNumber}, in {name}'),
                    tags.pre(source) if source else "",
                )
            )
        return tag(items)


def formatFailure(myFailure: Failure) -> bytes:
    """A failure (type, value, traceback) as escaped HTML, for a developer's eyes.

    Callers decide whether a client may see it: :class:`glisten.web.server.Site` shows
    tracebacks only with ``displayTracebacks``.

    :raises TypeError: ``myFailure`` is not a :class:`~glisten.python.failure.Failure`.
    """
    if not isinstance(myFailure, Failure):
        raise TypeError(f"formatFailure needs a Failure, not {type(myFailure).__name__}")
    result: list[bytes | Failure] = []
    flattenString(None, FailureElement(myFailure)).addBoth(result.append)
    # Nothing in the element waits on a Deferred, so it has been flattened already.
    out = result[0]
    if isinstance(out, Failure):
        out.raiseException()
    assert isinstance(out, bytes)
    return out
