"""Template loaders: :class:`XMLString`, :class:`XMLFile` and :class:`TagLoader`.

An XML template is parsed into :class:`~glisten.web.template.Tag` trees. Elements and
attributes in Twisted's template namespace (so templates written for Twisted load unchanged)
are directives: ``t:render="name"`` names a renderer, ``<t:slot name="x" default="..."/>`` is a
:class:`~glisten.web.template.slot`, ``<t:attr name="href">...</t:attr>`` gives the enclosing
element an attribute computed from its content, and ``<t:transparent>`` writes only its
children.

The parser refuses entity declarations and external entities: a template can neither expand
into gigabytes (the "billion laughs") nor pull in local files.
"""

from __future__ import annotations

import os
from typing import Any
from xml.parsers import expat

from zope.interface import implementer

from glisten.python.filepath import FilePath
from glisten.web._template._stan import CDATA, Comment, Tag, slot
from glisten.web.iweb import ITemplateLoader

#: The namespace of template directives (Twisted's, so its templates load as they are).
TEMPLATE_NAMESPACE = "http://twistedmatrix.com/ns/twisted.web.template/0.1"

#: The largest template accepted, in bytes.
MAX_TEMPLATE_SIZE = 16 * 1024 * 1024


class _TemplateError(ValueError):
    """A template uses a directive wrongly."""


class _Builder:
    """Turns expat's events into a list of flattenable nodes."""

    def __init__(self, sourceFilename: str | None) -> None:
        self.filename = sourceFilename
        self.document: list[Any] = []
        # (node, its children list); the top is where content goes.
        self.stack: list[tuple[Any, list[Any]]] = []
        self.pendingNamespaces: list[tuple[str, str]] = []
        self.cdata: list[str] | None = None
        self.parser: Any = None

    def _children(self) -> list[Any]:
        return self.stack[-1][1] if self.stack else self.document

    def _where(self) -> tuple[int, int]:
        return self.parser.CurrentLineNumber, self.parser.CurrentColumnNumber

    def _fail(self, message: str) -> _TemplateError:
        line, column = self._where()
        return _TemplateError(f"{self.filename or '<string>'}:{line}:{column}: {message}")

    def startNamespace(self, prefix: str | None, uri: str) -> None:
        if uri != TEMPLATE_NAMESPACE:
            self.pendingNamespaces.append((prefix or "", uri))

    @staticmethod
    def _split(name: str) -> tuple[str, str, str]:
        """``"uri local prefix"`` (expat's form) as (uri, local, prefix)."""
        parts = name.split(" ")
        if len(parts) == 1:
            return "", parts[0], ""
        if len(parts) == 2:
            return parts[0], parts[1], ""
        return parts[0], parts[1], parts[2]

    def _qualified(self, name: str) -> tuple[str, str]:
        uri, local, prefix = self._split(name)
        return uri, f"{prefix}:{local}" if prefix else local

    def startElement(self, name: str, attributes: list[str]) -> None:
        line, column = self._where()
        uri, qualified = self._qualified(name)
        attrs = dict(zip(attributes[::2], attributes[1::2], strict=True))
        if uri == TEMPLATE_NAMESPACE:
            local = self._split(name)[1]
            node: Any
            if local == "slot":
                if "name" not in attrs:
                    raise self._fail("<t:slot> needs a name")
                node = slot(
                    attrs["name"],
                    default=attrs.get("default"),
                    filename=self.filename,
                    lineNumber=line,
                    columnNumber=column,
                )
            elif local == "attr":
                if "name" not in attrs:
                    raise self._fail("<t:attr> needs a name")
                if not self.stack or not isinstance(self.stack[-1][0], Tag):
                    raise self._fail("<t:attr> must be inside an element")
                node = ("attr", attrs["name"])
            elif local == "transparent":
                node = Tag("", filename=self.filename, lineNumber=line, columnNumber=column)
                if "render" in attrs:
                    node.render = attrs.pop("render")
            else:
                raise self._fail(f"unknown template directive <t:{local}>")
            self.stack.append((node, node.children if isinstance(node, (Tag, slot)) else []))
            return
        tag = Tag(qualified, filename=self.filename, lineNumber=line, columnNumber=column)
        for prefix, nsURI in self.pendingNamespaces:
            tag.attributes["xmlns:" + prefix if prefix else "xmlns"] = nsURI
        self.pendingNamespaces = []
        for key, value in attrs.items():
            attrURI, attrName = self._qualified(key)
            if attrURI == TEMPLATE_NAMESPACE:
                if self._split(key)[1] != "render":
                    raise self._fail(f"unknown template attribute t:{self._split(key)[1]}")
                tag.render = value
            else:
                tag.attributes[attrName] = value
        self.stack.append((tag, tag.children))

    def endElement(self, name: str) -> None:
        node, children = self.stack.pop()
        if isinstance(node, tuple):
            parent = self.stack[-1][0]
            parent.attributes[node[1]] = children
            return
        if isinstance(node, slot) and children:
            # A slot's content is its default.
            node.default = children
        self._children().append(node)

    def characterData(self, data: str) -> None:
        if self.cdata is not None:
            self.cdata.append(data)
            return
        children = self._children()
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)

    def comment(self, data: str) -> None:
        self._children().append(Comment(data))

    def startCdata(self) -> None:
        self.cdata = []

    def endCdata(self) -> None:
        data = "".join(self.cdata or [])
        self.cdata = None
        self._children().append(CDATA(data))

    def entityDecl(self, *args: object) -> None:
        raise self._fail("entity declarations are not allowed in templates")

    def externalEntity(self, *args: object) -> int:
        raise self._fail("external entities are not allowed in templates")


def _parse(data: bytes, filename: str | None) -> list[Any]:
    if len(data) > MAX_TEMPLATE_SIZE:
        raise _TemplateError(f"template larger than {MAX_TEMPLATE_SIZE} bytes")
    builder = _Builder(filename)
    parser = expat.ParserCreate(namespace_separator=" ")
    builder.parser = parser
    parser.namespace_prefixes = True
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartNamespaceDeclHandler = builder.startNamespace
    parser.StartElementHandler = builder.startElement
    parser.EndElementHandler = builder.endElement
    parser.CharacterDataHandler = builder.characterData
    parser.CommentHandler = builder.comment
    parser.StartCdataSectionHandler = builder.startCdata
    parser.EndCdataSectionHandler = builder.endCdata
    parser.EntityDeclHandler = builder.entityDecl
    parser.ExternalEntityRefHandler = builder.externalEntity
    parser.Parse(data, True)
    return builder.document


def _cloneAll(nodes: list[Any]) -> list[Any]:
    return [node.clone(True) if isinstance(node, Tag) else node for node in nodes]


@implementer(ITemplateLoader)
class XMLString:
    """A template from a string of XML, parsed once.

    :param s: The XML (``str`` or UTF-8 ``bytes``).
    :raises xml.parsers.expat.ExpatError: It is not well-formed XML.
    :raises ValueError: It misuses a template directive or declares entities.
    """

    def __init__(self, s: str | bytes) -> None:
        data = s.encode("utf-8") if isinstance(s, str) else s
        self._loadedTemplate = _parse(data, None)

    def load(self) -> list[Any]:
        """A fresh copy of the parsed nodes (renderers may change it)."""
        return _cloneAll(self._loadedTemplate)


@implementer(ITemplateLoader)
class XMLFile:
    """A template from an XML file, parsed on first :meth:`load`.

    :param path: The file, a :class:`~glisten.python.filepath.FilePath` or a path.
    """

    def __init__(self, path: FilePath[Any] | str | os.PathLike[str]) -> None:
        self._path: FilePath[Any] = (
            path if isinstance(path, FilePath) else FilePath(os.fspath(path))
        )
        self._loadedTemplate: list[Any] | None = None

    def load(self) -> list[Any]:
        """A fresh copy of the file's nodes."""
        if self._loadedTemplate is None:
            self._loadedTemplate = _parse(self._path.getContent(), self._path.path)
        return _cloneAll(self._loadedTemplate)

    def __repr__(self) -> str:
        return f"<XMLFile of {self._path.path!r}>"


@implementer(ITemplateLoader)
class TagLoader:
    """A template that is already a tag tree (built with :data:`~glisten.web.template.tags`).

    :param tag: The tree.
    """

    def __init__(self, tag: Any) -> None:
        self.tag = tag

    def load(self) -> list[Any]:
        """The tree, in a list."""
        return [self.tag]
