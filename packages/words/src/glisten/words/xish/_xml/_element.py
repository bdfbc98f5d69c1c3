"""The element tree of ``glisten.words.xish.domish`` and its serialiser.

An :class:`Element` has a qualified name ``(uri, name)``, a default namespace for its children,
attributes (plain names or ``(uri, name)`` tuples), children (elements and text) and the prefixes
it declares itself. Serialising follows Twisted's rules: an element in its parent's default
namespace is written without a prefix, a change of default namespace is written as ``xmlns``,
a namespace the caller maps to a prefix (or an attribute's namespace) is written with that prefix
(``xn0``, ``xn1``... when none is given), and attributes use single quotes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

__all__ = [
    "G_PREFIXES",
    "Element",
    "SerializedXML",
    "escapeToXml",
    "serialize",
    "unescapeFromXml",
]

#: Prefixes every serialisation knows: the ``xml`` prefix is bound by the XML specification.
G_PREFIXES: dict[str, str] = {"http://www.w3.org/XML/1998/namespace": "xml"}


def _escapeText(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _escapeAttribute(text: str) -> str:
    # Namespaces and most values need nothing: one pass of checks, then the text escaper.
    if "&" in text or "<" in text or ">" in text or "'" in text or '"' in text:
        text = _escapeText(text)
        if "'" in text:
            text = text.replace("'", "&apos;")
        if '"' in text:
            text = text.replace('"', "&quot;")
    return text


class SerializedXML(str):
    """Text that is already XML: serialised as it is, never escaped."""

    __slots__ = ()


def escapeToXml(text: str, isattrib: bool | int = 0) -> str:
    """Escape text for XML character data, or for a quoted attribute value.

    :param text: the text.
    :param isattrib: also escape both quote characters.
    :return: the escaped text.
    """
    return _escapeAttribute(text) if isattrib else _escapeText(text)


def unescapeFromXml(text: str) -> str:
    """Undo :func:`escapeToXml` (the five predefined entities only).

    :param text: escaped text.
    :return: the text.
    """
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&quot;", '"')
        .replace("&amp;", "&")
    )


class Element:
    """An XML element (Twisted's ``domish.Element``).

    A missing attribute of the Python object that names a child element returns that child
    (``message.body``), or None when there is none. ``element["to"]`` reads an XML attribute.

    :ivar uri: the element's namespace (None: its parent's default namespace).
    :ivar name: the local name.
    :ivar defaultUri: the default namespace for children (None: inherited when serialising).
    :ivar attributes: attribute values by name, or by ``(uri, name)`` for qualified attributes.
    :ivar children: child elements and text, in order.
    :ivar parent: the element this one was added to, or None.
    :ivar localPrefixes: prefixes this element declares, prefix to namespace.
    """

    _idCounter = 0
    #: Set by an observer that has dealt with this stanza (so others may leave it alone).
    handled = False

    def __init__(
        self,
        qname: tuple[str | None, str],
        defaultUri: str | None = None,
        attribs: dict[Any, str] | None = None,
        localPrefixes: dict[str, str] | None = None,
    ) -> None:
        """
        :param qname: ``(namespace, name)``.
        :param defaultUri: the default namespace for children; by default the element's own
            namespace, unless that namespace is bound to one of ``localPrefixes``.
        :param attribs: initial attributes.
        :param localPrefixes: prefixes to declare on this element.
        """
        self.localPrefixes: dict[str, str] = localPrefixes if localPrefixes else {}
        self.uri: str | None
        self.uri, self.name = qname
        if defaultUri is None and (not localPrefixes or self.uri not in localPrefixes.values()):
            self.defaultUri: str | None = self.uri
        else:
            self.defaultUri = defaultUri
        self.attributes: dict[Any, str] = attribs or {}
        self.children: list[Element | str] = []
        self.parent: Element | None = None

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        for child in self.__dict__.get("children", ()):
            if isinstance(child, Element) and child.name == key:
                return child
        return None

    @staticmethod
    def _dqa(attr: Any) -> Any:
        # A qualified name without a namespace is just the name.
        if isinstance(attr, tuple) and not attr[0]:
            return attr[1]
        return attr

    def __getitem__(self, key: Any) -> str:
        return self.attributes[self._dqa(key)]

    def __setitem__(self, key: Any, value: str) -> None:
        self.attributes[self._dqa(key)] = value

    def __delitem__(self, key: Any) -> None:
        del self.attributes[self._dqa(key)]

    def __str__(self) -> str:
        """:return: the first text child, or ``""``."""
        for child in self.children:
            if isinstance(child, str):
                return str(child)
        return ""

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")

    def __repr__(self) -> str:
        return f"<Element {self.name!r} in {self.uri!r}>"

    def getAttribute(self, attribname: Any, default: str | None = None) -> str | None:
        """:return: the attribute's value, or ``default`` when it is absent."""
        return self.attributes.get(self._dqa(attribname), default)

    def hasAttribute(self, attrib: Any) -> bool:
        """:return: whether the attribute is present."""
        return self._dqa(attrib) in self.attributes

    def compareAttribute(self, attrib: Any, value: str) -> bool:
        """:return: whether the attribute is present and equals ``value``."""
        return self.attributes.get(self._dqa(attrib)) == value

    def swapAttributeValues(self, left: Any, right: Any) -> None:
        """Exchange two attributes' values (``to`` and ``from`` when answering a stanza)."""
        left, right = self._dqa(left), self._dqa(right)
        self.attributes[left], self.attributes[right] = (
            self.attributes[right],
            self.attributes[left],
        )

    def addChild(self, node: Any) -> Any:
        """Append an element or text; an element's ``parent`` becomes this element.

        :return: ``node``.
        """
        if isinstance(node, Element):
            node.parent = self
        self.children.append(node)
        return node

    def addContent(self, text: str) -> str:
        """Append text, merged with a text child just before it.

        :return: the resulting text child.
        """
        children = self.children
        last = children[-1] if children else None
        if type(last) is str:
            merged = last + text
            children[-1] = merged
            return merged
        text = str(text)
        children.append(text)
        return text

    def addElement(
        self,
        name: str | tuple[str | None, str],
        defaultUri: str | None = None,
        content: str | None = None,
    ) -> Element:
        """Create a child element and append it.

        :param name: a local name (in this element's default namespace) or ``(uri, name)``.
        :param defaultUri: the child's default namespace.
        :param content: text for the child.
        :return: the child.
        """
        if isinstance(name, tuple):
            if defaultUri is None:
                defaultUri = name[0]
            child = Element(name, defaultUri)
        else:
            if defaultUri is None:
                defaultUri = self.defaultUri
            child = Element((defaultUri, name), defaultUri)
        self.addChild(child)
        if content:
            child.addContent(content)
        return child

    def addRawXml(self, rawxmlstring: str) -> None:
        """Append XML text that is written out as it is (the caller vouches that it is XML)."""
        self.children.append(SerializedXML(rawxmlstring))

    def addUniqueId(self) -> None:
        """Set an ``id`` attribute that no other element of this process has. It is not
        guessable, so a peer cannot answer a request it has not seen."""
        Element._idCounter += 1
        self.attributes["id"] = f"H_{Element._idCounter}_{secrets.token_hex(4)}"

    def elements(self, uri: str | None = None, name: str | None = None) -> Iterator[Element]:
        """Iterate over child elements, all of them or those with a qualified name.

        :param uri: the namespace to match (with ``name``).
        :param name: the local name to match; None for every child element.
        """
        for child in self.children:
            if isinstance(child, Element) and (
                name is None or (child.name == name and child.uri == uri)
            ):
                yield child

    def firstChildElement(self) -> Element | None:
        """:return: the first child element, or None."""
        for child in self.children:
            if isinstance(child, Element):
                return child
        return None

    def toXml(
        self,
        prefixes: dict[str, str] | None = None,
        closeElement: bool | int = 1,
        defaultUri: str = "",
        prefixesInScope: list[Any] | None = None,
    ) -> str:
        """Serialise this element.

        :param prefixes: namespace to prefix, for namespaces to write with a prefix.
        :param closeElement: 0 to write only the start tag (a stream header).
        :param defaultUri: the default namespace already in effect around the element.
        :param prefixesInScope: prefixes already declared around the element (strings).
        :return: the XML text.
        """
        out: list[str] = []
        _Serializer.start(prefixes, prefixesInScope).write(self, closeElement, defaultUri, out)
        return "".join(out)


class _Serializer:
    """One serialisation: the prefixes known so far and the prefixes declared around the
    element being written (a stack: each element removes what it declared when it closes).

    Serialising is on the path of every stanza sent, so the common case (no prefixes, plain
    attributes, text) takes no detours: one list of pieces, joined once, and the prefix state
    is made only when an element needs a prefix.
    """

    __slots__ = ("prefixes", "inScope", "_declared", "counter")

    prefixes: dict[str, str]
    inScope: list[Any] | None
    _declared: list[str] | None
    counter: int

    @classmethod
    def start(
        cls, prefixes: dict[str, str] | None, prefixesInScope: list[Any] | None
    ) -> _Serializer:
        """:param prefixes: namespace to prefix, chosen by the caller.
        :param prefixesInScope: prefixes the caller has already declared around the element
            (a stream's ``stream``)."""
        self: _Serializer = _new(cls)
        # G_PREFIXES itself until this serialisation adds a prefix (most never do): see _own.
        self.prefixes = {**prefixes, **G_PREFIXES} if prefixes else G_PREFIXES
        self.inScope = prefixesInScope
        self._declared = None
        self.counter = 0
        return self

    def declared(self) -> list[str]:
        """:return: the prefixes declared around the element being written."""
        declared = self._declared
        if declared is None:
            declared = self._declared = [*G_PREFIXES.values(), *(self.inScope or ())]
        return declared

    def _own(self) -> dict[str, str]:
        # The prefixes, copied before this serialisation's first change to them.
        if self.prefixes is G_PREFIXES:
            self.prefixes = G_PREFIXES.copy()
        return self.prefixes

    def prefixFor(self, uri: str) -> str:
        prefix = self.prefixes.get(uri)
        if prefix is None:
            prefix = self._own()[uri] = f"xn{self.counter}"
            self.counter += 1
        return prefix

    def write(
        self, node: Element, closeElement: bool | int, parentDefault: str, out: list[str]
    ) -> None:
        # The fields come from the instance dictionary in one read: Element's
        # child-by-attribute hook (``__getattr__``) keeps Python from specialising attribute
        # reads of elements, which makes each ``node.x`` several times slower.
        fields = node.__dict__
        localPrefixes = fields["localPrefixes"]
        name = fields["name"]
        default = fields["defaultUri"]
        if default is None:
            default = parentDefault
        uri = fields["uri"]
        if uri is None:
            uri = default
        # How many prefixes were declared before this element (-1: it declares none).
        mark = -1
        if localPrefixes or uri != default or uri in self.prefixes:
            mark = len(self.declared())
            tag = self._startPrefixed(node, localPrefixes, uri, default, parentDefault, out)
        elif default != parentDefault:
            tag = name
            out.append(f"<{name} xmlns='{_escapeAttribute(default)}'")
        else:
            tag = name
            out.append("<" + name)
        attributes = fields["attributes"]
        if attributes:
            for key, value in attributes.items():
                if type(key) is str:
                    if "&" in value or "<" in value or ">" in value or "'" in value or '"' in value:
                        value = _escapeAttribute(value)
                    out.append(f" {key}='{value}'")
                else:
                    if mark < 0:
                        mark = len(self.declared())
                    out.append(self._qualifiedAttribute(key, value))
        if not closeElement:
            out.append(">")
            return
        children = fields["children"]
        if children:
            out.append(">")
            for child in children:
                if type(child) is str:
                    if "&" in child or "<" in child or ">" in child:
                        child = _escapeText(child)
                    out.append(child)
                elif isinstance(child, Element):
                    self.write(child, 1, default, out)
                elif type(child) is SerializedXML:
                    out.append(child)
                else:
                    out.append(_escapeText(child))
            out.append(f"</{tag}>")
        else:
            out.append("/>")
        if mark >= 0:
            del self.declared()[mark:]

    def _startPrefixed(
        self,
        node: Element,
        localPrefixes: dict[str, str],
        uri: str,
        default: str,
        parentDefault: str,
        out: list[str],
    ) -> str:
        """Write the start of a tag that declares prefixes or needs one for its namespace.

        :return: the tag's name as written (with its prefix).
        """
        declared = self.declared()
        if localPrefixes:
            prefixes = self._own()
            for p, u in localPrefixes.items():
                prefixes[u] = p
            declared.extend(localPrefixes)
        if uri != default or uri in self.prefixes:
            prefix = self.prefixFor(uri)
            tag = f"{prefix}:{node.name}" if prefix else node.name
            out.append("<" + tag)
            if prefix and prefix not in declared:
                out.append(f" xmlns:{prefix}='{_escapeAttribute(uri)}'")
                declared.append(prefix)
            if default != parentDefault and (uri != default or not prefix):
                out.append(f" xmlns='{_escapeAttribute(default)}'")
        else:
            tag = node.name
            if default != parentDefault:
                out.append(f"<{tag} xmlns='{_escapeAttribute(default)}'")
            else:
                out.append("<" + tag)
        for p, u in localPrefixes.items():
            out.append(f" xmlns:{p}='{_escapeAttribute(u)}'")
        return tag

    def _qualifiedAttribute(self, key: tuple[str, str], value: str) -> str:
        """:return: an attribute in a namespace, with its prefix (declared if it is not)."""
        attrPrefix = self.prefixFor(key[0])
        declared = self.declared()
        declaration = ""
        if attrPrefix not in declared:
            declaration = f" xmlns:{attrPrefix}='{_escapeAttribute(key[0])}'"
            declared.append(attrPrefix)
        return f"{declaration} {attrPrefix}:{key[1]}='{_escapeAttribute(value)}'"


_new = object.__new__


def serialize(
    element: Element | str,
    prefixes: dict[str, str] | None = None,
    closeElement: bool | int = 1,
    defaultUri: str = "",
    prefixesInScope: list[Any] | None = None,
) -> str:
    """Serialise an element or text; see :meth:`Element.toXml`.

    :return: the XML text.
    """
    if not isinstance(element, Element):
        return element if isinstance(element, SerializedXML) else _escapeText(element)
    out: list[str] = []
    _Serializer.start(prefixes, prefixesInScope).write(element, closeElement, defaultUri, out)
    return "".join(out)
