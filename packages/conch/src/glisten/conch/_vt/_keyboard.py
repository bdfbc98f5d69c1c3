"""What a terminal sends: keys (ECMA-48/VT220/xterm encodings), pastes and reports."""

from __future__ import annotations

import re

from glisten.conch._vt._errors import TerminalProtocolError
from glisten.conch._vt._events import CursorPosition, Keystroke, Paste, Unhandled
from glisten.conch._vt._keys import ALT, CONTROL, SHIFT, keyConstant
from glisten.conch._vt._limits import Limits
from glisten.conch._vt._params import parseParameters
from glisten.conch._vt._parser import StreamParser

__all__ = ["KeyboardParser"]

Event = Keystroke | Paste | CursorPosition | Unhandled

_ESC = 0x1B
#: One keystroke object per single byte (they are immutable), so typing allocates nothing.
_SINGLE = [Keystroke(bytes((b,))) for b in range(256)]
#: A whole escape sequence; the usual key sequences (:data:`_KNOWN`, filled below by running
#: them through the state machine once) then cost one lookup instead of a walk through it.
_WHOLE = re.compile(rb"\x1b(?:\[[\x20-\x3f]{0,16}[\x40-\x7e]|O[\x20-\x7e])")
_KNOWN: dict[bytes, Keystroke] = {}
#: A run of bytes that are each a keystroke on their own: neither ESC nor UTF-8 lead bytes.
_PLAIN = re.compile(rb"[\x00-\x1a\x1c-\xc1\xf5-\xff]+")
_PASTE_END = b"\x1b[201~"

_LETTER_KEYS = {
    ord("A"): keyConstant("UP_ARROW"),
    ord("B"): keyConstant("DOWN_ARROW"),
    ord("C"): keyConstant("RIGHT_ARROW"),
    ord("D"): keyConstant("LEFT_ARROW"),
    ord("E"): keyConstant("NUMPAD_MIDDLE"),
    ord("F"): keyConstant("END"),
    ord("H"): keyConstant("HOME"),
    ord("P"): keyConstant("F1"),
    ord("Q"): keyConstant("F2"),
    ord("S"): keyConstant("F4"),
}
_SS3_KEYS = dict(_LETTER_KEYS)
_SS3_KEYS[ord("R")] = keyConstant("F3")
_TILDE_KEYS = {
    1: keyConstant("HOME"),
    2: keyConstant("INSERT"),
    3: keyConstant("DELETE"),
    4: keyConstant("END"),
    5: keyConstant("PGUP"),
    6: keyConstant("PGDN"),
    7: keyConstant("HOME"),
    8: keyConstant("END"),
    11: keyConstant("F1"),
    12: keyConstant("F2"),
    13: keyConstant("F3"),
    14: keyConstant("F4"),
    15: keyConstant("F5"),
    17: keyConstant("F6"),
    18: keyConstant("F7"),
    19: keyConstant("F8"),
    20: keyConstant("F9"),
    21: keyConstant("F10"),
    23: keyConstant("F11"),
    24: keyConstant("F12"),
}


def _modifier(code: int | None) -> bytes | None:
    """xterm's ``1 + bits`` modifier parameter (shift 1, alt 2, control 4), strongest first."""
    if code is None or code < 2:
        return None
    bits = code - 1
    if bits & 4:
        return CONTROL
    if bits & 2:
        return ALT
    if bits & 1:
        return SHIFT
    return None


# Parser states (plain ints: they are compared for every byte).
_DATA, _ESC_SEEN, _CSI, _SS3, _PASTE, _UTF8 = range(6)
_BRACKET, _LETTER_O = ord("["), ord("O")


class KeyboardParser(StreamParser[Event]):
    """
    Turns a terminal's input into :class:`Keystroke`, :class:`Paste`, :class:`CursorPosition`
    and :class:`Unhandled` events. A UTF-8 character is one keystroke; an ESC before a key
    means Alt.

    :ivar limits: bounds on sequences and pastes.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(limits)
        self._state = _DATA
        self._need = 0

    def _parse(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        i, n = 0, len(data)
        while i < n:
            state = self._state
            if state == _PASTE:
                self._buf += data[i:]
                i = n
                end = self._buf.find(_PASTE_END)
                if end < 0:
                    if len(self._buf) > self.limits.maxPasteLength + len(_PASTE_END):
                        raise TerminalProtocolError("bracketed paste too long")
                    break
                if end > self.limits.maxPasteLength:
                    raise TerminalProtocolError("bracketed paste too long")
                events.append(Paste(bytes(self._buf[:end])))
                rest = bytes(self._buf[end + len(_PASTE_END) :])
                self._buf.clear()
                self._state = _DATA
                data, i, n = rest, 0, len(rest)
                continue
            if state == _CSI:
                i, event, finished = self._csiStep(data, i)
                if not finished:
                    break
                if self._state == _CSI:
                    self._state = _DATA
                if event is not None:
                    events.append(event)
                continue
            b = data[i]
            i += 1
            if state == _DATA:
                if b == _ESC:
                    whole = _WHOLE.match(data, i - 1)
                    known = _KNOWN.get(whole.group()) if whole is not None else None
                    if known is not None and whole is not None:
                        events.append(known)
                        i = whole.end()
                    else:
                        self._state = _ESC_SEEN
                elif b < 0xC2 or b > 0xF4:
                    plain = _PLAIN.match(data, i - 1)
                    assert plain is not None
                    events.extend(map(_SINGLE.__getitem__, data[i - 1 : plain.end()]))
                    i = plain.end()
                else:
                    self._buf[:] = bytes((b,))
                    self._need = 1 if b < 0xE0 else 2 if b < 0xF0 else 3
                    self._state = _UTF8
            elif state == _ESC_SEEN:
                if b == _BRACKET:
                    self._buf.clear()
                    self._state = _CSI
                elif b == _LETTER_O:
                    self._state = _SS3
                else:
                    self._state = _DATA
                    events.append(Keystroke(bytes((b,)), ALT))
            elif state == _SS3:
                self._state = _DATA
                key = _SS3_KEYS.get(b)
                if key is None:
                    events.append(Unhandled(b"\x1bO" + bytes((b,))))
                else:
                    events.append(Keystroke(key))
            else:  # _UTF8
                if 0x80 <= b < 0xC0:
                    self._buf.append(b)
                    self._need -= 1
                    if self._need == 0:
                        events.append(Keystroke(bytes(self._buf)))
                        self._buf.clear()
                        self._state = _DATA
                else:
                    # Not a continuation byte: the lead byte stands alone, b starts afresh.
                    events.extend(_SINGLE[x] for x in self._buf)
                    self._buf.clear()
                    self._state = _DATA
                    i -= 1
        return events

    def _controlSequence(self, body: bytes, final: int) -> Event | None:
        sequence = b"\x1b[" + body + bytes((final,))
        params = parseParameters(body, self.limits)
        if params is None:
            return Unhandled(sequence)
        if final == ord("~"):
            code = params[0] if params else None
            if code == 200 and len(params) == 1:
                self._state = _PASTE
                return None
            key = _TILDE_KEYS.get(code) if code is not None else None
            if key is None or len(params) > 2:
                return Unhandled(sequence)
            return Keystroke(key, _modifier(params[1] if len(params) == 2 else None))
        if final == ord("R") and len(params) == 2 and None not in params:
            line, column = params
            assert line is not None and column is not None
            return CursorPosition(max(column - 1, 0), max(line - 1, 0))
        if final == ord("Z") and not params:
            return Keystroke(b"\t", SHIFT)
        key = _LETTER_KEYS.get(final)
        if key is None:
            return Unhandled(sequence)
        if not params:
            return Keystroke(key)
        if len(params) == 2 and params[0] in (None, 1):
            return Keystroke(key, _modifier(params[1]))
        return Unhandled(sequence)

    def pending(self) -> bool:
        """Whether a sequence, character or paste is half read (say, a lone ESC)."""
        return self._state != _DATA


def _usualSequences() -> dict[bytes, Keystroke]:
    """The keystrokes of the usual key sequences, with and without xterm modifiers."""
    candidates = [b"\x1bO" + bytes((final,)) for final in _SS3_KEYS] + [b"\x1b[Z"]
    for final in _LETTER_KEYS:
        candidates.append(b"\x1b[" + bytes((final,)))
        candidates += [b"\x1b[1;%d" % m + bytes((final,)) for m in range(2, 9)]
    for code in _TILDE_KEYS:
        candidates.append(b"\x1b[%d~" % code)
        candidates += [b"\x1b[%d;%d~" % (code, m) for m in range(2, 9)]
    parser = KeyboardParser()
    known = {}
    for sequence in candidates:
        events = parser.receiveData(sequence)
        if len(events) == 1 and type(events[0]) is Keystroke:
            known[sequence] = events[0]
    return known


_KNOWN.update(_usualSequences())
