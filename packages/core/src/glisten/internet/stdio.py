"""
A protocol on this process's own standard input and output.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs
from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.process import FDReader, FDWriter
from glisten.python.failure import Failure

__all__ = ["PipeAddress", "StandardIO"]


@implementer(interfaces.IAddress)
@attrs.frozen
class PipeAddress:
    """
    The address of either end of a standard I/O pipe (there is nothing more to say).
    """


@implementer(interfaces.ITransport, interfaces.IProducer, interfaces.IConsumer)
class StandardIO:
    """
    Connects ``proto`` to descriptors ``stdin`` and ``stdout`` (0 and 1 by default) as its
    transport.

    End of input calls ``readConnectionLost`` on protocols providing ``IHalfCloseableProtocol``
    (they may keep writing) and closes the whole transport for others. ``connectionLost`` comes
    once both directions are closed. The descriptors are switched to non-blocking mode.

    :ivar disconnecting: ``loseConnection`` was called.
    """

    disconnecting = False

    def __init__(self, proto: Any, stdin: int = 0, stdout: int = 1, reactor: Any = None) -> None:
        """
        :param proto: the protocol (an ``IProtocol``).
        :param reactor: an ``IReactorFDSet``; the global reactor by default.
        """
        if reactor is None:
            reactor = importlib.import_module("glisten.internet.reactor")
        self.protocol = proto
        self._reader: FDReader | None = FDReader(reactor, stdin, self._dataReceived, self._readLost)
        self._writer: FDWriter | None = FDWriter(reactor, stdout, self._writeLost)
        self._reason: Failure | None = None
        self._lost = False
        proto.makeConnection(self)
        if self._reader is not None:
            self._reader.startReading()

    def _dataReceived(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def _readLost(self, reason: Failure) -> None:
        self._reader = None
        if self._writer is not None and interfaces.IHalfCloseableProtocol.providedBy(self.protocol):
            self.protocol.readConnectionLost()
        elif self._writer is not None:
            self._reason = reason
            self._writer.loseConnection()
        self._checkLost(reason)

    def _writeLost(self, reason: Failure) -> None:
        self._writer = None
        if self._reader is not None:
            if interfaces.IHalfCloseableProtocol.providedBy(self.protocol):
                self.protocol.writeConnectionLost()
            if self.disconnecting:
                self._reader.loseConnection()
        self._checkLost(reason)

    def _checkLost(self, reason: Failure) -> None:
        if self._lost or self._reader is not None or self._writer is not None:
            return
        self._lost = True
        if self._reason is not None and reason.check(error.ConnectionDone) is None:
            reason = self._reason
        self.protocol.connectionLost(reason)

    # ITransport

    def write(self, data: bytes) -> None:
        if self._writer is not None:
            self._writer.write(data)

    def writeSequence(self, data: Any) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        """
        Stop reading, close stdout once what is buffered is written.
        """
        self.disconnecting = True
        if self._writer is not None:
            self._writer.loseConnection()
        elif self._reader is not None:
            self._reader.loseConnection()

    def loseWriteConnection(self) -> None:
        """
        Close stdout only (after writing what is buffered).
        """
        if self._writer is not None:
            self._writer.loseConnection()

    def getPeer(self) -> PipeAddress:
        return PipeAddress()

    def getHost(self) -> PipeAddress:
        return PipeAddress()

    # IConsumer

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self._writer is None:
            producer.stopProducing()
            return
        self._writer.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        if self._writer is not None:
            self._writer.unregisterProducer()

    # IPushProducer (reading stdin)

    def pauseProducing(self) -> None:
        if self._reader is not None:
            self._reader.stopReading()

    def resumeProducing(self) -> None:
        if self._reader is not None:
            self._reader.startReading()

    def stopProducing(self) -> None:
        self.loseConnection()
