"""What both terminal codecs share: their limits, and failing for good once one is broken."""

from __future__ import annotations

import abc
from typing import Generic, TypeVar

from glisten.conch._vt._errors import TerminalProtocolError
from glisten.conch._vt._limits import Limits

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
