"""HTML templating, as in ``twisted.web.template``.

Build a page from :data:`tags` or load it from XML (:class:`XMLString`, :class:`XMLFile`),
give it renderers on an :class:`Element`, and write it with :func:`renderElement` (or get bytes
with :func:`flattenString`). Text and attribute values are always escaped: a string can never
become markup, whatever it contains. Deferreds and coroutines may appear anywhere in the tree,
and the page is written out as it renders.

``render`` in a template names a method decorated with :func:`renderer`::

    class Greeting(Element):
        loader = XMLString(
            '<p xmlns:t="http://twistedmatrix.com/ns/twisted.web.template/0.1"'
            ' t:render="name">Hello, <t:slot name="who"/></p>'
        )

        @renderer
        def name(self, request, tag):
            return tag.fillSlots(who="<world>")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web._template._element import Element, renderer
from glisten.web._template._flatten import Flattenable, flatten, flattenString
from glisten.web._template._loaders import TEMPLATE_NAMESPACE, TagLoader, XMLFile, XMLString
from glisten.web._template._stan import (
    CDATA,
    VALID_HTML_TAG_NAMES,
    CharRef,
    Comment,
    Tag,
    slot,
    tags,
)
from glisten.web.error import FlattenerError
from glisten.web.iweb import IRenderable, IRequest, ITemplateLoader

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CDATA",
    "TEMPLATE_NAMESPACE",
    "VALID_HTML_TAG_NAMES",
    "CharRef",
    "Comment",
    "Element",
    "Flattenable",
    "FlattenerError",
    "IRenderable",
    "ITemplateLoader",
    "Tag",
    "TagLoader",
    "XMLFile",
    "XMLString",
    "flatten",
    "flattenString",
    "renderElement",
    "renderer",
    "slot",
    "tags",
]

_log = Logger()

#: Written in place of the rest of a page whose rendering failed (without
#: ``displayTracebacks``): no detail of the failure reaches the client.
_GENERIC_ERROR = (
    b'<div style="font-size:800%;background-color:#FFF;color:#F00">'
    b"An error occurred while rendering the response.</div>"
)


def renderElement(
    request: IRequest,
    element: IRenderable,
    doctype: bytes | None = b"<!DOCTYPE html>",
    _failElement: Callable[[Failure], IRenderable] | None = None,
) -> int:
    """Write ``element`` as the HTML response to ``request``, streaming, and finish it.

    Return its result from a render method. If rendering fails part way, the failure is
    logged and the page ends with a short error notice; the traceback is shown (escaped)
    only when the site's ``displayTracebacks`` is on. If the client goes away, rendering
    stops.

    :param doctype: Written first (with a newline); ``None`` for none.
    :param _failElement: Makes the element shown for a failure with ``displayTracebacks``
        (default :class:`glisten.web.util.FailureElement`).
    :return: :data:`glisten.web.server.NOT_DONE_YET`.
    """
    from glisten.web.server import NOT_DONE_YET

    request.setHeader(b"content-type", b"text/html; charset=utf-8")
    if doctype is not None:
        request.write(doctype + b"\n")
    d = flatten(request, element, request.write)

    def failed(failure: Failure) -> object:
        if getattr(request, "_disconnected", False):
            return None
        _log.failure(
            "An error occurred while rendering {uri!r}",
            failure=failure,
            uri=getattr(request, "uri", None),
        )
        site = getattr(request, "site", None)
        if site is not None and getattr(site, "displayTracebacks", False):
            if _failElement is None:
                from glisten.web.util import FailureElement

                failElement: IRenderable = FailureElement(failure)
            else:
                failElement = _failElement(failure)
            return flatten(request, failElement, request.write)
        request.write(_GENERIC_ERROR)
        return None

    def finish(result: object) -> None:
        if not getattr(request, "_disconnected", False) and not getattr(request, "finished", False):
            request.finish()

    def lost(reason: Failure) -> None:
        d.cancel()

    request.notifyFinish().addErrback(lost)
    d.addErrback(failed).addBoth(finish)
    return NOT_DONE_YET
