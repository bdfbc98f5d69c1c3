"""mIRC text formatting: parse control codes into an attribute tree, assemble a tree back into
control codes, strip them.

Build formatted text with :data:`attributes`, as in Twisted::

    A = attributes
    assembleFormattedText(A.normal[A.bold["Time: "], A.fg.lightRed["Now!"]])

Beyond Twisted's bold, underline and reverse video, italic (``\\x1d``), strikethrough
(``\\x1e``) and monospace (``\\x11``) are understood; hex colours (``\\x04``) are stripped.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "BOLD",
    "COLOR",
    "ITALIC",
    "MONOSPACE",
    "OFF",
    "REVERSE_VIDEO",
    "STRIKETHROUGH",
    "UNDERLINE",
    "assembleFormattedText",
    "attributes",
    "parseFormattedText",
    "stripFormatting",
]

OFF = "\x0f"
BOLD = "\x02"
COLOR = "\x03"
REVERSE_VIDEO = "\x16"
UNDERLINE = "\x1f"
ITALIC = "\x1d"
STRIKETHROUGH = "\x1e"
MONOSPACE = "\x11"
_HEX_COLOR = "\x04"

#: The 16 standard mIRC colours, by code.
_COLORS = (
    "white",
    "black",
    "blue",
    "green",
    "lightRed",
    "red",
    "magenta",
    "orange",
    "yellow",
    "lightGreen",
    "cyan",
    "lightCyan",
    "lightBlue",
    "lightMagenta",
    "gray",
    "lightGray",
)
_COLOR_CODES = {name: index for index, name in enumerate(_COLORS)}

#: Toggle attributes: name -> control code (in a fixed order for output).
_TOGGLES = {
    "bold": BOLD,
    "italic": ITALIC,
    "underline": UNDERLINE,
    "reverseVideo": REVERSE_VIDEO,
    "strikethrough": STRIKETHROUGH,
    "monospace": MONOSPACE,
}
_TOGGLE_BY_CODE = {code: name for name, code in _TOGGLES.items()}

_FORMAT_RE = re.compile(
    "\x03(?:([0-9]{1,2})(?:,([0-9]{1,2}))?)?"
    "|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?"
    "|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)


class _Attr:
    """A node of formatted text; ``node[child, ...]`` returns a copy with children added."""

    def __init__(self) -> None:
        self.children: list[Any] = []

    def _key(self) -> tuple[Any, ...]:
        return ()

    def _empty(self) -> _Attr:
        raise NotImplementedError  # every concrete node overrides it

    def __getitem__(self, item: Any) -> _Attr:
        new = self._empty()
        new.children = [*self.children, *(item if isinstance(item, tuple) else (item,))]
        return new

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        assert isinstance(other, _Attr)
        return self._key() == other._key() and self.children == other.children

    def __hash__(self) -> int:
        return hash((type(self), self._key()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self._key()))}){self.children!r}"


class _NormalAttr(_Attr):
    """Resets every attribute for its children."""

    def _empty(self) -> _Attr:
        return _NormalAttr()


class _OtherAttr(_Attr):
    """Turns a toggle attribute on (or, negated with ``-``, off) for its children."""

    def __init__(self, name: str, on: bool) -> None:
        super().__init__()
        self.name = name
        self.on = on

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.on)

    def _empty(self) -> _Attr:
        return _OtherAttr(self.name, self.on)

    def __neg__(self) -> _OtherAttr:
        new = _OtherAttr(self.name, not self.on)
        new.children = list(self.children)
        return new


class _ColorAttr(_Attr):
    """Sets the foreground or background colour for its children."""

    def __init__(self, ground: str, color: str) -> None:
        super().__init__()
        self.ground = ground
        self.color = color

    def _key(self) -> tuple[Any, ...]:
        return (self.ground, self.color)

    def _empty(self) -> _Attr:
        return _ColorAttr(self.ground, self.color)


class _ColorGround:
    """``attributes.fg`` / ``attributes.bg``: one attribute per colour name."""

    def __init__(self, ground: str) -> None:
        self._ground = ground

    def __getattr__(self, name: str) -> _ColorAttr:
        if name not in _COLOR_CODES:
            raise AttributeError(name)
        return _ColorAttr(self._ground, name)


class _CharacterAttributes:
    """The factory of formatting nodes (:data:`attributes`)."""

    fg = _ColorGround("foreground")
    bg = _ColorGround("background")

    @property
    def normal(self) -> _NormalAttr:
        return _NormalAttr()

    @property
    def off(self) -> _NormalAttr:
        return _NormalAttr()

    def __getattr__(self, name: str) -> _OtherAttr:
        if name not in _TOGGLES:
            raise AttributeError(name)
        return _OtherAttr(name, True)


#: Build formatted text: ``attributes.bold["x"]``, ``attributes.fg.red["y"]``, ...
attributes = _CharacterAttributes()

# A formatting state: (frozenset of toggles on, foreground code or None, background or None).
_State = tuple[frozenset[str], int | None, int | None]
_DEFAULT: _State = (frozenset(), None, None)


def _flatten(node: Any, state: _State, out: list[tuple[_State, str]]) -> None:
    if isinstance(node, str):
        if node:
            out.append((state, node))
        return
    if not isinstance(node, _Attr):
        raise TypeError("formatted text holds strings and attributes only")
    toggles, fg, bg = state
    if isinstance(node, _NormalAttr):
        state = _DEFAULT
    elif isinstance(node, _OtherAttr):
        state = (toggles | {node.name} if node.on else toggles - {node.name}, fg, bg)
    elif isinstance(node, _ColorAttr):
        code = _COLOR_CODES[node.color]
        state = (toggles, code, bg) if node.ground == "foreground" else (toggles, fg, code)
    for child in node.children:
        _flatten(child, state, out)


_COMMA_DIGIT = re.compile(",[0-9]")
_ENDS_IN_FOREGROUND = re.compile("\x03[0-9]{2}$")


def _codesFor(state: _State) -> str:
    toggles, fg, bg = state
    codes = [code for name, code in _TOGGLES.items() if name in toggles]
    if fg is not None or bg is not None:
        color = COLOR + "%02d" % (99 if fg is None else fg)
        if bg is not None:
            color += ",%02d" % bg
        codes.append(color)
    return "".join(codes)


def assembleFormattedText(formatted: Any) -> str:
    """Render an attribute tree as text with mIRC control codes.

    Each change of attributes that turns something off starts from :data:`OFF`, so the text
    displays the same in every client whatever came before it.
    """
    runs: list[tuple[_State, str]] = []
    _flatten(formatted, _DEFAULT, runs)
    out: list[str] = []
    current = _DEFAULT
    for state, text in runs:
        if state != current:
            toggles, fg, bg = state
            ctoggles, cfg, cbg = current
            if (
                not ctoggles <= toggles
                or (cfg is not None and fg is None)
                or (cbg is not None and bg is None)
            ):
                out.append(OFF + _codesFor(state))
            else:
                added = [code for name, code in _TOGGLES.items() if name in toggles - ctoggles]
                out.extend(added)
                if (fg, bg) != (cfg, cbg):
                    out.append(_codesFor((frozenset(), fg, bg)))
            current = state
            if _COMMA_DIGIT.match(text) and _ENDS_IN_FOREGROUND.search(out[-1]):
                # "\x0304" + ",5..." would read as a background colour: two bold toggles
                # (no visible change) keep the comma and digit as text.
                out.append(BOLD + BOLD)
        out.append(text)
    if current != _DEFAULT:
        out.append(OFF)
    return "".join(out)


def _runs(text: str) -> list[tuple[_State, str]]:
    runs: list[tuple[_State, str]] = []
    toggles: frozenset[str] = frozenset()
    fg: int | None = None
    bg: int | None = None
    pos = 0
    for m in _FORMAT_RE.finditer(text):
        if m.start() > pos:
            runs.append(((toggles, fg, bg), text[pos : m.start()]))
        pos = m.end()
        code = m.group()[0]
        if code == OFF:
            toggles, fg, bg = frozenset(), None, None
        elif code == COLOR:
            fgText, bgText = m.group(1), m.group(2)
            if fgText is None:
                fg = bg = None
            else:
                fg = _colorNumber(fgText)
                if bgText is not None:
                    bg = _colorNumber(bgText)
        elif code in _TOGGLE_BY_CODE:
            name = _TOGGLE_BY_CODE[code]
            toggles = toggles - {name} if name in toggles else toggles | {name}
    if pos < len(text):
        runs.append(((toggles, fg, bg), text[pos:]))
    merged: list[tuple[_State, list[str]]] = []
    for state, chunk in runs:
        if merged and merged[-1][0] == state:
            merged[-1][1].append(chunk)
        else:
            merged.append((state, [chunk]))
    return [(state, "".join(chunks)) for state, chunks in merged]


def _colorNumber(text: str) -> int | None:
    number = int(text)
    return number if number < len(_COLORS) else None


def parseFormattedText(text: str) -> _Attr:
    """Parse text with mIRC control codes into an attribute tree under ``attributes.normal``.

    Colours outside the 16 standard ones (and hex colours) read as the default colour.
    """
    children: list[Any] = []
    for (toggles, fg, bg), chunk in _runs(text):
        node: Any = chunk
        if bg is not None:
            node = _ColorAttr("background", _COLORS[bg])[node]
        if fg is not None:
            node = _ColorAttr("foreground", _COLORS[fg])[node]
        for name in reversed(list(_TOGGLES)):
            if name in toggles:
                node = _OtherAttr(name, True)[node]
        children.append(node)
    root = _NormalAttr()
    root.children = children
    return root


def stripFormatting(text: str) -> str:
    """Remove every mIRC formatting control code from ``text``."""
    return _FORMAT_RE.sub("", text)
