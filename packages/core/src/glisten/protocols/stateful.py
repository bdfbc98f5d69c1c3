"""``StatefulProtocol``: parse a stream as a series of fixed-size pieces, as in
``twisted.protocols.stateful``.

The protocol's state is a pair ``(handler, size)``: once ``size`` bytes have arrived,
``handler`` is called with exactly those bytes and returns the next state (or ``None`` to
keep the current one). Binary protocols with length fields read a header, then a body of
the length the header gave, then the next header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glisten.internet.protocol import Protocol

__all__ = ["StatefulProtocol"]

State = tuple[Callable[[bytes], Any], int]


class StatefulProtocol(Protocol):
    """A protocol fed in pieces whose sizes its handlers choose.

    Override :meth:`getInitialState`. The received bytes are kept in one buffer walked with
    an offset, so a read holding many pieces costs time linear in its size.
    """

    _state: State | None = None

    def makeConnection(self, transport: Any) -> None:
        self._state = self.getInitialState()
        self._buffer = bytearray()
        self._offset = 0
        super().makeConnection(transport)

    def getInitialState(self) -> State:
        """The first ``(handler, size)``. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must define getInitialState")

    def dataReceived(self, data: bytes) -> None:
        state = self._state
        if state is None:
            raise RuntimeError("dataReceived before makeConnection")
        buf = self._buffer
        buf += data
        offset = self._offset
        handler, size = state
        while len(buf) - offset >= size:
            piece = bytes(buf[offset : offset + size])
            offset += size
            following = handler(piece)
            if self.transport is not None and self.transport.disconnecting:
                # The handler closed the connection: what follows is not to be parsed.
                break
            if following:
                handler, size = following
        self._state = (handler, size)
        if offset:
            del buf[:offset]
        self._offset = 0
