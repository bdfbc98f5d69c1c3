"""What the SMTP, POP3 and IMAP4 protocols share: feeding a sans-I/O codec and
running its events, with answers that may come later (Deferreds) or at once (re-entrantly,
from inside an event handler), a bounded number of commands per turn of the reactor (on
servers a client's pipelined commands, on clients a server's replies)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CodecDriver:
    """Mixin for a protocol adapter around a codec with ``receiveData(bytes) -> events``,
    ``dataToSend() -> bytes`` and a ``budget`` of commands it may still parse. Subclasses set
    ``_codec``, define ``_handle(event)`` and call :meth:`_stopTurns` when the connection is
    lost.

    :ivar maxCommandsPerTurn: Pipelined commands parsed in one go before the connection
        yields to the others: reading pauses and the rest are parsed on the reactor's next
        turn (``callLater(0)``), so one client's megabyte of ``NOOP`` cannot stall the rest.
    """

    maxCommandsPerTurn = 64
    _codec: Any
    transport: Any
    _busy = False
    _again = False
    _disconnected = False
    _nextTurn: Any = None
    _readingPaused = False
    #: Acts on one event of the codec (each adapter defines it).
    _handle: Callable[[Any], None]
    #: Restarts the idle timeout (``TimeoutMixin``).
    resetTimeout: Callable[[], None]
    #: Schedules a call on the protocol's reactor (``TimeoutMixin``).
    callLater: Callable[[float, Callable[[], None]], Any]
    #: What the codec raises for a peer that broke the protocol (the client codecs raise;
    #: the server codecs answer with errors instead).
    _codecErrors: tuple[type[Exception], ...] = ()

    def _codecFailed(self, error: Exception) -> None:
        """The codec raised one of :attr:`_codecErrors`: the connection cannot go on (the
        adapter fails what waits and disconnects)."""
        self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """Traffic: restart the idle timeout and feed the codec."""
        self.resetTimeout()
        self._process(data)

    def _process(self, data: bytes) -> None:
        """Feed ``data`` and handle the events; an answer given while handling (a
        synchronous one) resumes parsing here instead of recursing."""
        codec = self._codec
        assert codec is not None
        if self._busy:
            # An answer arrived while we handle events: pick it up when we are done.
            self._again = True
            return
        if self._nextTurn is None:
            # A new turn (not one cut short and waiting for the next): a fresh budget.
            codec.budget = self.maxCommandsPerTurn
        self._busy = True
        try:
            events = codec.receiveData(data)
            while True:
                for event in events:
                    self._handle(event)
                if not self._again or self._disconnected:
                    break
                self._again = False
                events = codec.receiveData(b"")
        except self._codecErrors as e:
            self._again = False
            self._codecFailed(e)
            return
        finally:
            self._busy = False
        self._flush()
        if codec.budget == 0 and self._nextTurn is None and not self._disconnected:
            self._yieldTurn()

    def _yieldTurn(self) -> None:
        """Stop reading and parse the rest of what is buffered on the next turn."""
        if not self._readingPaused:
            self._readingPaused = True
            self.transport.pauseProducing()
        self._nextTurn = self.callLater(0, self._takeTurn)

    def _takeTurn(self) -> None:
        self._nextTurn = None
        if self._disconnected or self._codec is None:
            return
        self._process(b"")
        if self._nextTurn is None and self._readingPaused and not self._disconnected:
            self._readingPaused = False
            self.transport.resumeProducing()

    def _stopTurns(self) -> None:
        """The connection is gone: drop the turn scheduled for what was left to parse."""
        call, self._nextTurn = self._nextTurn, None
        if call is not None and call.active():
            call.cancel()

    def _flush(self) -> None:
        """Write what the codec owes the peer."""
        if self._codec is not None and not self._disconnected:
            out = self._codec.dataToSend()
            if out:
                self.transport.write(out)
