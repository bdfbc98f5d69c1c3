"""The document tree of :mod:`glisten.web.template`: :class:`Tag`, :class:`slot`,
:class:`Comment`, :class:`CDATA`, :class:`CharRef` and the :data:`tags` factory.

These are plain values: nothing here renders or escapes; :mod:`._flatten` does.
"""

from __future__ import annotations

from typing import Any

#: Elements that never have content (HTML's void elements): written ``<br />``.
voidElements = frozenset(
    (
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        # Obsolete, still void in browsers.
        "basefont",
        "frame",
        "isindex",
        "keygen",
    )
)


class slot:
    """A named hole in a template, filled through :meth:`Tag.fillSlots` on an enclosing tag.

    :param name: The slot's name.
    :param default: Flattened when no enclosing tag fills the slot; with ``None``, an unfilled
        slot is an error (:class:`~glisten.web.error.UnfilledSlot`).
    :param filename: The template file it came from, for error messages.
    :param lineNumber: Its line there.
    :param columnNumber: Its column there.
    """

    def __init__(
        self,
        name: str,
        default: object = None,
        filename: str | None = None,
        lineNumber: int | None = None,
        columnNumber: int | None = None,
    ) -> None:
        self.name = name
        self.default = default
        self.children: list[object] = []
        self.filename = filename
        self.lineNumber = lineNumber
        self.columnNumber = columnNumber

    def __repr__(self) -> str:
        return f"slot({self.name!r})"


class Tag:
    """An element: a name, attributes, children, and optionally a renderer and slot values.

    Build trees with :data:`tags` (``tags.p(class_="x")("text", tags.b("bold"))``) or load them
    from XML (:class:`~glisten.web.template.XMLString`).

    :param tagName: The element's name; ``""`` for a tag that writes only its children.
    :param attributes: Attribute names to values (any flattenable).
    :param children: The content.
    :param render: The name of the renderer (on the enclosing element) that renders this tag.
    :param filename: The template file it came from, for error messages.
    :param lineNumber: Its line there.
    :param columnNumber: Its column there.
    :ivar slotData: Slot values given by :meth:`fillSlots`, or ``None``.
    """

    def __init__(
        self,
        tagName: bytes | str,
        attributes: dict[bytes | str, Any] | None = None,
        children: list[Any] | None = None,
        render: str | None = None,
        filename: str | None = None,
        lineNumber: int | None = None,
        columnNumber: int | None = None,
    ) -> None:
        self.tagName = tagName
        self.attributes: dict[bytes | str, Any] = {} if attributes is None else attributes
        self.children: list[Any] = [] if children is None else children
        self.render = render
        self.slotData: dict[str, Any] | None = None
        self.filename = filename
        self.lineNumber = lineNumber
        self.columnNumber = columnNumber

    def fillSlots(self, **slots: object) -> Tag:
        """Give values to slots inside this tag.

        :return: This tag, so calls chain.
        """
        if self.slotData is None:
            self.slotData = {}
        self.slotData.update(slots)
        return self

    def __call__(self, *children: object, **kw: object) -> Tag:
        """Add children and set attributes; ``render=`` names the renderer.

        A trailing underscore is dropped from an attribute name, so ``class_="x"`` sets
        ``class`` (and ``render_=`` sets an attribute called ``render``).

        :return: This tag, so calls chain.
        """
        self.children.extend(children)
        for name, value in kw.items():
            if name == "render":
                if not isinstance(value, str):
                    raise TypeError("render= takes a renderer name (str)")
                self.render = value
                continue
            if name.endswith("_"):
                name = name[:-1]
            self.attributes[name] = value
        return self

    def _cloneValue(self, value: object, deep: bool) -> object:
        if not deep:
            return value
        if isinstance(value, Tag):
            return value.clone(True)
        if isinstance(value, (list, tuple)):
            return [self._cloneValue(v, True) for v in value]
        return value

    def clone(self, deep: bool = True) -> Tag:
        """A copy of this tag: renderers may then change it without changing the template.

        :param deep: Also copy child tags (and tags in attributes), recursively.
        """
        copy = Tag(
            self.tagName,
            {k: self._cloneValue(v, deep) for k, v in self.attributes.items()},
            [self._cloneValue(c, deep) for c in self.children],
            self.render,
            self.filename,
            self.lineNumber,
            self.columnNumber,
        )
        if self.slotData is not None:
            copy.slotData = dict(self.slotData)
        return copy

    def clear(self) -> Tag:
        """Remove every child.

        :return: This tag.
        """
        self.children = []
        return self

    def __repr__(self) -> str:
        parts = []
        if self.attributes:
            parts.append(f"attributes={self.attributes!r}")
        if self.children:
            parts.append(f"children={self.children!r}")
        if self.render:
            parts.append(f"render={self.render!r}")
        return f"Tag({self.tagName!r}{''.join(', ' + p for p in parts)})"


class CDATA:
    """A CDATA section; ``]]>`` in the data is split so it cannot end the section early.

    :param data: The text.
    """

    def __init__(self, data: str) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"CDATA({self.data!r})"


class Comment:
    """An XML/HTML comment; ``--`` in the data is broken up so it cannot end the comment.

    :param data: The text.
    """

    def __init__(self, data: str) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Comment({self.data!r})"


class CharRef:
    """A numeric character reference, ``&#NNN;``.

    :param ordinal: The code point.
    """

    def __init__(self, ordinal: int) -> None:
        self.ordinal = ordinal

    def __repr__(self) -> str:
        return f"CharRef({self.ordinal!r})"


#: The element names :data:`tags` knows (HTML5's, plus a few obsolete ones still seen).
VALID_HTML_TAG_NAMES = frozenset(
    """a abbr acronym address applet area article aside audio b base basefont bdi bdo big
    blockquote body br button canvas caption center cite code col colgroup data datalist dd
    del details dfn dialog dir div dl dt em embed fieldset figcaption figure font footer form
    frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins isindex
    kbd keygen label legend li link main map mark menu meta meter nav noframes noscript object
    ol optgroup option output p param picture pre progress q rp rt ruby s samp script search
    section select slot small source span strike strong style sub summary sup svg table tbody
    td template textarea tfoot th thead time title tr track tt u ul var video wbr""".split()
)


class _TagFactory:
    """``tags.div``, ``tags.a``...: a new :class:`Tag` per attribute access.

    ``tags.transparent`` is a tag that writes only its children; a trailing underscore is
    dropped (``tags.del_``). Unknown names raise :class:`AttributeError`, so a typo fails at
    once instead of writing a bogus element.
    """

    def __getattr__(self, tagName: str) -> Tag:
        if tagName == "transparent":
            return Tag("")
        name = tagName.rstrip("_")
        if name not in VALID_HTML_TAG_NAMES:
            raise AttributeError(f"unknown tag {tagName!r}")
        return Tag(name)


#: The factory of HTML tags: ``tags.p("Hello, ", tags.b(name))``.
tags = _TagFactory()
