"""Twisted's ``domish``: XML elements, their serialisation and an incremental parser.

Beyond Twisted, the parser behind :func:`elementStream` is strict: it refuses document type
declarations, entity declarations, processing instructions and comments (so no billion laughs
and no external entities), and bounds depth, attributes and stanza size (see
:class:`glisten.words.xish._xml.Limits`). Element ids from :meth:`Element.addUniqueId` are not
guessable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from zope.interface import Attribute, Interface, classImplements

from glisten.words.xish._xml import (
    DEFAULT_LIMITS,
    G_PREFIXES,
    Element,
    ElementReceived,
    Limits,
    ParserError,
    SerializedXML,
    StreamEnded,
    StreamParser,
    StreamStarted,
    escapeToXml,
    unescapeFromXml,
)

__all__ = [
    "G_PREFIXES",
    "Element",
    "ExpatElementStream",
    "IElement",
    "Namespace",
    "ParserError",
    "SerializedXML",
    "elementStream",
    "escapeToXml",
    "generateElementsNamed",
    "generateElementsQNamed",
    "generateOnlyInterface",
    "parseText",
    "unescapeFromXml",
]


class IElement(Interface):
    """An XML element node."""

    name = Attribute("the local name")
    uri = Attribute("the namespace")
    defaultUri = Attribute("the default namespace for children")
    attributes = Attribute("attribute values by name or (uri, name)")
    children = Attribute("child elements and text")
    parent = Attribute("the parent element, or None")

    def toXml(
        prefixes: Any = None,
        closeElement: Any = 1,
        defaultUri: Any = "",
        prefixesInScope: Any = None,
    ) -> str:
        """Serialise the element."""

    def addElement(name: Any, defaultUri: Any = None, content: Any = None) -> Any:
        """Create and append a child element."""

    def addChild(node: Any) -> Any:
        """Append a node."""

    def addContent(text: Any) -> Any:
        """Append text."""


classImplements(Element, IElement)


class Namespace:
    """A namespace that makes qualified names: ``Namespace(NS)("body") == (NS, "body")``.

    :param uri: the namespace.
    """

    def __init__(self, uri: str) -> None:
        self._uri = uri

    def __getattr__(self, name: str) -> tuple[str, str]:
        if name.startswith("_"):
            raise AttributeError(name)
        return (self._uri, name)

    def __call__(self, name: str) -> tuple[str, str]:
        return (self._uri, name)

    def __str__(self) -> str:
        return self._uri


def generateOnlyInterface(list: Iterable[Any], int: Any) -> Iterator[Any]:
    """Iterate over the items of ``list`` that provide interface ``int``."""
    for n in list:
        if int.providedBy(n):
            yield n


def generateElementsQNamed(list: Iterable[Any], name: str, uri: str | None) -> Iterator[Element]:
    """Iterate over the elements of ``list`` with local name ``name`` in namespace ``uri``."""
    for n in list:
        if isinstance(n, Element) and n.name == name and n.uri == uri:
            yield n


def generateElementsNamed(list: Iterable[Any], name: str) -> Iterator[Element]:
    """Iterate over the elements of ``list`` with local name ``name``, in any namespace."""
    for n in list:
        if isinstance(n, Element) and n.name == name:
            yield n


class ExpatElementStream:
    """Twisted's element stream: set ``DocumentStartEvent`` (called with the root element),
    ``ElementEvent`` (each child of the root, complete) and ``DocumentEndEvent``, then call
    :meth:`parse` with bytes as they arrive.

    :param limits: the parser's bounds.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._parser = StreamParser(limits)
        self.DocumentStartEvent: Callable[[Element], object] = _ignore
        self.ElementEvent: Callable[[Element], object] = _ignore
        self.DocumentEndEvent: Callable[[], object] = _ignore

    def parse(self, buffer: bytes | str) -> None:
        """Parse more of the stream and call the event callbacks.

        :raises ParserError: the stream is malformed, forbidden XML or over a limit.
        """
        if isinstance(buffer, str):
            buffer = buffer.encode("utf-8")
        for event in self._parser.receiveData(buffer):
            if type(event) is ElementReceived:
                self.ElementEvent(event.element)
            elif type(event) is StreamStarted:
                self.DocumentStartEvent(event.root)
            elif type(event) is StreamEnded:
                self.DocumentEndEvent()


def _ignore(*args: Any) -> None:
    return None


def elementStream(limits: Limits = DEFAULT_LIMITS) -> ExpatElementStream:
    """:return: a new incremental element stream parser."""
    return ExpatElementStream(limits)


def parseText(text: bytes | str, limits: Limits = DEFAULT_LIMITS) -> Element:
    """Parse one complete XML element (a document without its stream framing).

    :param text: the XML.
    :return: the element, with its children.
    :raises ParserError: not exactly one well-formed, acceptable element.
    """
    if isinstance(text, str):
        text = text.encode("utf-8")
    wrapped = b"<_wrapper>" + text + b"</_wrapper>"
    elements: list[Element] = []
    stream = ExpatElementStream(limits)
    stream.ElementEvent = elements.append
    stream.parse(wrapped)
    if len(elements) != 1:
        raise ParserError("expected exactly one element")
    return elements[0]
