"""Bounded work per turn of the reactor for one connection's input (issue 29).

A client that sends a megabyte of tiny IRC lines or XMPP stanzas in one read would otherwise
have every one of them parsed and answered before the reactor serves anyone else. The
:class:`InputPacer` feeds a protocol's parser a slice at a time and hands its events on, up
to a budget per turn; past it, reading pauses and the rest waits for ``callLater(0)``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

E = TypeVar("E")


class InputPacer(Generic[E]):
    """Runs one connection's input through ``receive`` and ``handle`` a turn at a time.

    :param receive: Parses bytes into events (it may also act on them itself and return
        none: then only the byte budget applies).
    :param handle: Acts on one event.
    :param transport: Paused while input waits for a later turn, resumed when it is done
        (``None``: nothing to pause).
    :param clock: Returns the reactor whose ``callLater`` schedules the next turn (looked up
        when needed, so a protocol's reactor may be set after it is built).
    :param maxEvents: Events handled per turn.
    :param maxBytes: Bytes parsed per turn.
    :param sliceSize: Bytes given to ``receive`` at a time; a slice's events beyond the
        budget wait, already parsed, for the next turn.
    """

    def __init__(
        self,
        receive: Callable[[bytes], Iterable[E]],
        handle: Callable[[E], object],
        transport: Any,
        clock: Callable[[], Any],
        maxEvents: int = 64,
        maxBytes: int = 16384,
        sliceSize: int = 1024,
    ) -> None:
        self._receive = receive
        self._handle = handle
        self._transport = transport
        self._clock = clock
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.sliceSize = sliceSize
        self._events: deque[E] = deque()
        self._input = b""
        self._pos = 0
        self._nextTurn: Any = None
        self._paused = False
        self._running = False
        self._stopped = False

    @property
    def pending(self) -> bool:
        """Input or events wait for a later turn."""
        return bool(self._events) or self._pos < len(self._input)

    def dataReceived(self, data: bytes) -> None:
        """Take the connection's bytes: run them now, or after what already waits."""
        if self._stopped:
            return
        if self._pos < len(self._input):
            self._input = self._input[self._pos :] + data
        else:
            self._input = data
        self._pos = 0
        if self._nextTurn is None and not self._running:
            self._run()

    def discard(self) -> None:
        """Forget what waits (a stream restarted, or TLS started: what was sent before must
        not be read after)."""
        self._events.clear()
        self._input = b""
        self._pos = 0

    def stop(self) -> None:
        """The connection is gone: drop what waits and the scheduled turn."""
        self._stopped = True
        self.discard()
        call, self._nextTurn = self._nextTurn, None
        if call is not None and call.active():
            call.cancel()

    def _run(self) -> None:
        self._running = True
        try:
            self._turn()
        finally:
            self._running = False
        if self._stopped:
            return
        if self._pos >= len(self._input):
            self._input = b""
            self._pos = 0
        if self.pending:
            if not self._paused and self._transport is not None:
                self._paused = True
                self._transport.pauseProducing()
            self._nextTurn = self._clock().callLater(0, self._takeTurn)
        elif self._paused:
            self._paused = False
            self._transport.resumeProducing()

    def _turn(self) -> None:
        events = self._events
        handle = self._handle
        nextEvent = events.popleft
        maxEvents = self.maxEvents
        handled = 0
        fed = 0
        while not self._stopped:
            # A handler that stops or discards empties ``events``, which ends this loop.
            while events and handled < maxEvents:
                handled += 1
                handle(nextEvent())
            if events or self._stopped:
                return
            data = self._input
            pos = self._pos
            if pos >= len(data) or fed >= self.maxBytes:
                return
            end = pos + self.sliceSize
            self._pos = end
            fed += self.sliceSize
            events.extend(self._receive(data[pos:end] if pos or end < len(data) else data))

    def _takeTurn(self) -> None:
        self._nextTurn = None
        if not self._stopped:
            self._run()
