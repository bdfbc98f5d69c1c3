"""
Text with character attributes, as Twisted's ``insults.text``: build a tree with
:data:`attributes` and turn it into a string with VT102 control sequences::

    from glisten.conch.insults.text import assembleFormattedText, attributes as A

    terminal.write(assembleFormattedText(A.normal[A.bold["Status: "], A.fg.green["ok"]]))

``A.fg.<colour>`` and ``A.bg.<colour>`` take black, red, green, yellow, blue, magenta, cyan
and white; ``A.bold``, ``A.underline``, ``A.blink`` and ``A.reverseVideo`` switch their
attribute on for what they contain, ``A.normal`` starts from plain text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from glisten.conch.insults import helper

__all__ = ["assembleFormattedText", "attributes"]

_COLORS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")


class _Attribute:
    """A node of formatted text: a change of attributes applied to its children."""

    def __init__(self, changes: dict[str, Any] | None = None, reset: bool = False) -> None:
        self.changes = changes or {}
        self.reset = reset
        self.children: list[Any] = []

    def __getitem__(self, item: Any) -> _Attribute:
        node = _Attribute(self.changes, self.reset)
        node.children = [*self.children, *(item if isinstance(item, tuple | list) else (item,))]
        return node

    def __repr__(self) -> str:
        return f"<attribute {self.changes or 'normal'} {self.children!r}>"

    def _walk(
        self, state: helper.CharacterAttribute
    ) -> Iterator[tuple[str, helper.CharacterAttribute]]:
        inner = helper.CharacterAttribute() if self.reset else state.copy()
        for name, value in self.changes.items():
            setattr(inner, name, value)
        for child in self.children:
            if isinstance(child, _Attribute):
                yield from child._walk(inner)
            else:
                yield str(child), inner


class _Colors:
    def __init__(self, which: str) -> None:
        for index, name in enumerate(_COLORS):
            setattr(self, name, _Attribute({which: index}))


class _Attributes:
    """The attribute constructors: ``normal``, ``bold``, ``underline``, ``blink``,
    ``reverseVideo``, ``fg.<colour>``, ``bg.<colour>``."""

    def __init__(self) -> None:
        self.normal = _Attribute(reset=True)
        self.bold = _Attribute({"bold": True})
        self.underline = _Attribute({"underline": True})
        self.blink = _Attribute({"blink": True})
        self.reverseVideo = _Attribute({"reverseVideo": True})
        self.fg = _Colors("foreground")
        self.bg = _Colors("background")


attributes = _Attributes()


def assembleFormattedText(formatted: Any) -> str:
    """
    The text of ``formatted`` with the control sequences that draw it: each change of
    attributes resets them (``ESC [ 0 m``) and sets the new ones, so nothing leaks between runs.
    """
    if not isinstance(formatted, _Attribute):
        return str(formatted)
    out: list[str] = []
    current = helper.CharacterAttribute()
    for text, attrs in formatted._walk(helper.CharacterAttribute()):
        if not text:
            continue
        if attrs != current:
            sequence = attrs.toVT102()
            out.append("\x1b[0;" + sequence[2:] if sequence else "\x1b[0m")
            current = attrs
        out.append(text)
    return "".join(out)
