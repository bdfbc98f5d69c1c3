"""What a program sends to a VT102 terminal: text and control functions, read as
:class:`Call` events named after :class:`ITerminalTransport` methods."""

from __future__ import annotations

import re

from glisten.conch._vt._events import Call, Text, Unhandled
from glisten.conch._vt._limits import Limits
from glisten.conch._vt._params import parseParameters
from glisten.conch._vt._parser import StreamParser

__all__ = ["ScreenParser"]

Event = Text | Call | Unhandled

_ESC = 0x1B
_SHORTS = {
    ord("D"): "index",
    ord("M"): "reverseIndex",
    ord("E"): "nextLine",
    ord("7"): "saveCursor",
    ord("8"): "restoreCursor",
    ord("="): "applicationKeypadMode",
    ord(">"): "numericKeypadMode",
    ord("N"): "singleShift2",
    ord("O"): "singleShift3",
    ord("H"): "horizontalTabulationSet",
    ord("c"): "reset",
}
#: Character set designators (ESC ( x / ESC ) x) to Twisted's charset names.
CHARSETS = {
    ord("A"): b"CS_UK",
    ord("B"): b"CS_US",
    ord("0"): b"CS_DRAWING",
    ord("1"): b"CS_ALTERNATE",
    ord("2"): b"CS_ALTERNATE_SPECIAL",
}
_HEIGHT_WIDTH = {
    ord("3"): ("doubleHeightLine", (True,)),
    ord("4"): ("doubleHeightLine", (False,)),
    ord("5"): ("singleWidthLine", ()),
    ord("6"): ("doubleWidthLine", ()),
}
_CONTROLS = {
    0x08: Call("cursorBackward", (1,)),
    0x0E: Call("shiftOut"),
    0x0F: Call("shiftIn"),
}
_COUNTED = {
    ord("A"): "cursorUp",
    ord("B"): "cursorDown",
    ord("C"): "cursorForward",
    ord("D"): "cursorBackward",
    ord("P"): "deleteCharacter",
    ord("L"): "insertLine",
    ord("M"): "deleteLine",
    ord("@"): "insertCharacter",
}
_ERASE_LINE = {0: "eraseToLineEnd", 1: "eraseToLineBeginning", 2: "eraseLine"}
_ERASE_DISPLAY = {0: "eraseToDisplayEnd", 1: "eraseToDisplayBeginning", 2: "eraseDisplay"}


# Parser states (plain ints: they are compared for every byte).
_DATA, _ESC_SEEN, _CSI, _G0, _G1, _HASH = range(6)
_INTRODUCERS = {ord("["): _CSI, ord("("): _G0, ord(")"): _G1, ord("#"): _HASH}
#: A run of text: anything but ESC and the controls that are functions of their own.
_TEXT = re.compile(rb"[^\x1b\x08\x0e\x0f]+")


def _first(params: list[int | None], default: int) -> int:
    value = params[0] if params else None
    return default if value is None else value


class ScreenParser(StreamParser[Event]):
    """
    Reads a VT102 output stream. Text comes out in runs; each control function is a
    :class:`Call` (``Call("cursorPosition", (column, line))``, zero-based); sequences it does not
    know are :class:`Unhandled`.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._state = _DATA

    def _parse(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        i, n = 0, len(data)
        while i < n:
            state = self._state
            if state == _CSI:
                i, event, finished = self._csiStep(data, i)
                if not finished:
                    break
                self._state = _DATA
                if event is not None:
                    events.append(event)
                continue
            if state == _DATA:
                run = _TEXT.match(data, i)
                if run is not None:
                    events.append(Text(data[i : run.end()]))
                    i = run.end()
                    continue
            b = data[i]
            i += 1
            if state == _DATA:
                if b == _ESC:
                    self._state = _ESC_SEEN
                else:
                    events.append(_CONTROLS[b])
            elif state == _ESC_SEEN:
                introduced = _INTRODUCERS.get(b)
                if introduced is not None:
                    self._state = introduced
                    self._buf.clear()
                else:
                    self._state = _DATA
                    if b in _SHORTS:
                        events.append(Call(_SHORTS[b]))
                    else:
                        events.append(Unhandled(bytes((_ESC, b))))
            elif state in (_G0, _G1):
                self._state = _DATA
                which = b"G0" if state == _G0 else b"G1"
                charset = CHARSETS.get(b)
                if charset is None:
                    events.append(
                        Unhandled(b"\x1b" + (b"(" if state == _G0 else b")") + bytes((b,)))
                    )
                else:
                    events.append(Call("selectCharacterSet", (charset, which)))
            else:  # _HASH
                self._state = _DATA
                found = _HEIGHT_WIDTH.get(b)
                if found is None:
                    events.append(Unhandled(b"\x1b#" + bytes((b,))))
                else:
                    events.append(Call(*found))
        return events

    def _controlSequence(self, body: bytes, final: int) -> Event:
        sequence = b"\x1b[" + body + bytes((final,))
        private = body.startswith(b"?")
        params = parseParameters(body[1:] if private else body, self.limits)
        if params is None:
            return Unhandled(sequence)
        if final in (ord("h"), ord("l")):
            if not params or None in params:
                return Unhandled(sequence)
            name = ("set" if final == ord("h") else "reset") + (
                "PrivateModes" if private else "Modes"
            )
            return Call(name, (list(params),))
        if private:
            return Unhandled(sequence)
        if final in _COUNTED and len(params) <= 1:
            return Call(_COUNTED[final], (max(_first(params, 1), 1),))
        if final in (ord("H"), ord("f")) and len(params) <= 2:
            line = max(_first(params, 1), 1)
            column = params[1] if len(params) == 2 and params[1] is not None else 1
            return Call("cursorPosition", (max(column, 1) - 1, line - 1))
        if final == ord("K") and _first(params, 0) in _ERASE_LINE and len(params) <= 1:
            return Call(_ERASE_LINE[_first(params, 0)])
        if final == ord("J") and _first(params, 0) in _ERASE_DISPLAY and len(params) <= 1:
            return Call(_ERASE_DISPLAY[_first(params, 0)])
        if final == ord("m"):
            return Call(
                "selectGraphicRendition", tuple(0 if p is None else p for p in params) or (0,)
            )
        if final == ord("r") and len(params) <= 2:
            top = params[0] if params else None
            bottom = params[1] if len(params) == 2 else None
            return Call("setScrollRegion", (top, bottom))
        if final == ord("q") and _first(params, 0) in (0, 3) and len(params) <= 1:
            return Call("tabulationClearAll" if _first(params, 0) == 3 else "tabulationClear")
        if final == ord("n") and params == [6]:
            return Call("reportCursorPosition")
        return Unhandled(sequence)
