"""What both terminal codecs share: their limits, and failing for good once one is broken."""

from __future__ import annotations

import abc
from typing import Any, Generic, TypeVar

from glisten.conch._vt._errors import TerminalProtocolError
from glisten.conch._vt._events import Unhandled
from glisten.conch._vt._limits import Limits
from glisten.conch._vt._params import FINAL, MORE, csiScan

E = TypeVar("E")


class StreamParser(abc.ABC, Generic[E]):
    """A parser of one direction of a terminal stream.

    :ivar limits: the bounds applied to the stream.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits if limits is not None else Limits()
        self._buf = bytearray()
        self._broken = False

    def receiveData(self, data: bytes) -> list[E]:
        """
        :return: the events ``data`` completes.
        :raises TerminalProtocolError: the stream went over a limit; every later call raises
            too, since the parser no longer knows where it stands.
        """
        if self._broken:
            raise TerminalProtocolError("the terminal stream parser already failed")
        try:
            return self._parse(data)
        except TerminalProtocolError:
            self._broken = True
            raise

    @abc.abstractmethod
    def _parse(self, data: bytes) -> list[E]:
        """Parse ``data`` (the subclass's state machine)."""

    @abc.abstractmethod
    def _controlSequence(self, body: bytes, final: int) -> E | None:
        """The event of a complete ``CSI body final`` sequence, if any."""

    def _csiStep(self, data: bytes, i: int) -> tuple[int, E | None, bool]:
        """
        Go on reading a control sequence at ``data[i]``.

        :return: the next index, the sequence's event, and whether the sequence ended (a
            control character in its middle ends it as :class:`Unhandled`, ECMA-48 leaving
            that case open).
        """
        i, kind = csiScan(self._buf, data, i, self.limits)
        if kind == MORE:
            return i, None, False
        final = data[i]
        body = bytes(self._buf)
        self._buf.clear()
        if kind == FINAL:
            return i + 1, self._controlSequence(body, final), True
        unhandled: Any = Unhandled(b"\x1b[" + body + bytes((final,)))
        return i + 1, unhandled, True
