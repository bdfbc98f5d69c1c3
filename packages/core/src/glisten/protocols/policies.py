"""Wrappers that add policies to any protocol: timeouts, throttling, connection limits, spewing.

A :class:`WrappingFactory` wraps every protocol its inner factory builds in a
:class:`ProtocolWrapper`, which sits between the transport and the real protocol; the
subclasses here hook into that position.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from zope.interface import directlyProvides, providedBy

from glisten.internet import error, interfaces
from glisten.internet.main import getReactor
from glisten.internet.protocol import ClientFactory, Protocol, ServerFactory, connectionDone
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "LimitConnectionsByPeer",
    "LimitTotalConnectionsFactory",
    "ProtocolWrapper",
    "SpewingFactory",
    "SpewingProtocol",
    "ThrottlingFactory",
    "ThrottlingProtocol",
    "TimeoutFactory",
    "TimeoutMixin",
    "TimeoutProtocol",
    "TrafficLoggingFactory",
    "TrafficLoggingProtocol",
    "WrappingFactory",
]

_log = Logger()


def _callLater(clock: Any, period: float, func: Callable[..., Any]) -> Any:
    return getReactor(clock).callLater(period, func)


class ProtocolWrapper(Protocol):
    """Stands between a transport and a protocol, passing everything through.

    To the wrapped protocol it is the transport (it provides the same interfaces as the real
    transport, and unknown attributes are looked up on it); to the transport it is the protocol.

    :ivar wrappedProtocol: the protocol inside.
    """

    disconnecting = 0

    def __init__(self, factory: Any, wrappedProtocol: Any) -> None:
        self.wrappedProtocol = wrappedProtocol
        self.factory = factory

    def logPrefix(self) -> str:
        inner = self.wrappedProtocol
        if interfaces.ILoggingContext.providedBy(inner):
            return f"{inner.logPrefix()} (ProtocolWrapper)"
        return f"{inner.__class__.__name__} (ProtocolWrapper)"

    def makeConnection(self, transport: Any) -> None:
        """Attach ``transport``, register with the factory and connect the wrapped protocol."""
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)
        self.wrappedProtocol.makeConnection(self)

    # Transport side, called by the wrapped protocol.
    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def writeSequence(self, data: Sequence[bytes]) -> None:
        self.transport.writeSequence(data)

    def loseConnection(self) -> None:
        self.disconnecting = 1
        self.transport.loseConnection()

    def abortConnection(self) -> None:
        self.disconnecting = 1
        self.transport.abortConnection()

    def getPeer(self) -> Any:
        return self.transport.getPeer()

    def getHost(self) -> Any:
        return self.transport.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.transport.unregisterProducer()

    def stopConsuming(self) -> None:
        self.transport.stopConsuming()

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not found normally: delegate to the real transport.
        if name in ("transport", "wrappedProtocol", "factory") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.transport, name)

    # Protocol side, called by the transport.
    def dataReceived(self, data: bytes) -> None:
        self.wrappedProtocol.dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.factory.unregisterProtocol(self)
        self.wrappedProtocol.connectionLost(reason)

    def readConnectionLost(self) -> None:
        if interfaces.IHalfCloseableProtocol.providedBy(self.wrappedProtocol):
            self.wrappedProtocol.readConnectionLost()
        else:
            self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        if interfaces.IHalfCloseableProtocol.providedBy(self.wrappedProtocol):
            self.wrappedProtocol.writeConnectionLost()


class WrappingFactory(ClientFactory):
    """Wraps the protocols built by ``wrappedFactory`` in :attr:`protocol`.

    :ivar protocols: the live wrappers (keys), for policies that act on every connection.
    """

    protocol: Any = ProtocolWrapper

    def __init__(self, wrappedFactory: Any) -> None:
        self.wrappedFactory = wrappedFactory
        self.protocols: dict[Any, int] = {}

    def logPrefix(self) -> str:
        inner = self.wrappedFactory
        if interfaces.ILoggingContext.providedBy(inner):
            return f"{inner.logPrefix()} (WrappingFactory)"
        return f"{inner.__class__.__name__} (WrappingFactory)"

    def doStart(self) -> None:
        self.wrappedFactory.doStart()
        ClientFactory.doStart(self)

    def doStop(self) -> None:
        self.wrappedFactory.doStop()
        ClientFactory.doStop(self)

    def startedConnecting(self, connector: Any) -> None:
        self.wrappedFactory.startedConnecting(connector)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.wrappedFactory.clientConnectionFailed(connector, reason)

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.wrappedFactory.clientConnectionLost(connector, reason)

    def buildProtocol(self, addr: Any) -> Any:
        """Wrap what the inner factory builds; ``None`` (refused) stays ``None``."""
        inner = self.wrappedFactory.buildProtocol(addr)
        if inner is None:
            return None
        return self.protocol(self, inner)

    def registerProtocol(self, p: Any) -> None:
        """Called by a wrapper when its connection is made."""
        self.protocols[p] = 1

    def unregisterProtocol(self, p: Any) -> None:
        """Called by a wrapper when its connection is lost."""
        self.protocols.pop(p, None)


class ThrottlingProtocol(ProtocolWrapper):
    """Counts the bytes of one connection for :class:`ThrottlingFactory` and pauses it."""

    producer: Any = None

    def write(self, data: bytes) -> None:
        self.factory.registerWritten(len(data))
        ProtocolWrapper.write(self, data)

    def writeSequence(self, data: Sequence[bytes]) -> None:
        self.factory.registerWritten(sum(len(x) for x in data))
        ProtocolWrapper.writeSequence(self, data)

    def dataReceived(self, data: bytes) -> None:
        self.factory.registerRead(len(data))
        ProtocolWrapper.dataReceived(self, data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer
        ProtocolWrapper.registerProducer(self, producer, streaming)

    def unregisterProducer(self) -> None:
        self.producer = None
        ProtocolWrapper.unregisterProducer(self)

    def throttleReads(self) -> None:
        self.transport.pauseProducing()

    def unthrottleReads(self) -> None:
        self.transport.resumeProducing()

    def throttleWrites(self) -> None:
        if self.producer is not None:
            self.producer.pauseProducing()

    def unthrottleWrites(self) -> None:
        if self.producer is not None:
            self.producer.resumeProducing()


class ThrottlingFactory(WrappingFactory):
    """Limits the number of connections and the bytes per second read and written by all.

    Each second the bytes of the last second are compared with the limits; over a limit, every
    connection's reads (or its producer's writes) are paused for as long as it takes for the
    average to come back under the limit.

    :param maxConnectionCount: refuse connections beyond this many.
    :param readLimit: bytes per second read over all connections, or ``None``.
    :param writeLimit: bytes per second written over all connections, or ``None``.
    :param clock: the IReactorTime to use (default: the global reactor, looked up when needed).
    """

    protocol = ThrottlingProtocol

    def __init__(
        self,
        wrappedFactory: Any,
        maxConnectionCount: int = sys.maxsize,
        readLimit: float | None = None,
        writeLimit: float | None = None,
        clock: Any = None,
    ) -> None:
        WrappingFactory.__init__(self, wrappedFactory)
        self.connectionCount = 0
        self.maxConnectionCount = maxConnectionCount
        self.readLimit = readLimit
        self.writeLimit = writeLimit
        self.readThisSecond = 0
        self.writtenThisSecond = 0
        self.unthrottleReadsID: Any = None
        self.checkReadBandwidthID: Any = None
        self.unthrottleWritesID: Any = None
        self.checkWriteBandwidthID: Any = None
        self.clock = clock

    def callLater(self, period: float, func: Callable[..., Any]) -> Any:
        """Schedule ``func`` on :attr:`clock` (the global reactor by default)."""
        return _callLater(self.clock, period, func)

    def registerWritten(self, length: int) -> None:
        self.writtenThisSecond += length

    def registerRead(self, length: int) -> None:
        self.readThisSecond += length

    def checkReadBandwidth(self) -> None:
        """Pause reads if the last second's reads went over the limit; check again in 1s."""
        assert self.readLimit is not None
        if self.readThisSecond > self.readLimit:
            self.throttleReads()
            throttleTime = (float(self.readThisSecond) / self.readLimit) - 1.0
            self.unthrottleReadsID = self.callLater(throttleTime, self.unthrottleReads)
        self.readThisSecond = 0
        self.checkReadBandwidthID = self.callLater(1, self.checkReadBandwidth)

    def checkWriteBandwidth(self) -> None:
        """Pause writes if the last second's writes went over the limit; check again in 1s."""
        assert self.writeLimit is not None
        if self.writtenThisSecond > self.writeLimit:
            self.throttleWrites()
            throttleTime = (float(self.writtenThisSecond) / self.writeLimit) - 1.0
            self.unthrottleWritesID = self.callLater(throttleTime, self.unthrottleWrites)
        self.writtenThisSecond = 0
        self.checkWriteBandwidthID = self.callLater(1, self.checkWriteBandwidth)

    def throttleReads(self) -> None:
        _log.debug("Throttling reads on {factory}", factory=self)
        for p in list(self.protocols):
            p.throttleReads()

    def unthrottleReads(self) -> None:
        self.unthrottleReadsID = None
        for p in list(self.protocols):
            p.unthrottleReads()

    def throttleWrites(self) -> None:
        _log.debug("Throttling writes on {factory}", factory=self)
        for p in list(self.protocols):
            p.throttleWrites()

    def unthrottleWrites(self) -> None:
        self.unthrottleWritesID = None
        for p in list(self.protocols):
            p.unthrottleWrites()

    def buildProtocol(self, addr: Any) -> Any:
        if self.connectionCount == 0:
            if self.readLimit is not None:
                self.checkReadBandwidth()
            if self.writeLimit is not None:
                self.checkWriteBandwidth()
        if self.connectionCount < self.maxConnectionCount:
            protocol = WrappingFactory.buildProtocol(self, addr)
            if protocol is not None:
                self.connectionCount += 1
            elif self.connectionCount == 0:
                self._cancelChecks()
            return protocol
        _log.info("Max connection count reached!")
        return None

    def unregisterProtocol(self, p: Any) -> None:
        WrappingFactory.unregisterProtocol(self, p)
        self.connectionCount -= 1
        if self.connectionCount == 0:
            self._cancelChecks()

    def _cancelChecks(self) -> None:
        for name in (
            "unthrottleReadsID",
            "checkReadBandwidthID",
            "unthrottleWritesID",
            "checkWriteBandwidthID",
        ):
            call = getattr(self, name)
            if call is not None and call.active():
                call.cancel()
            setattr(self, name, None)


class SpewingProtocol(ProtocolWrapper):
    """Logs every byte received and sent, for debugging."""

    def dataReceived(self, data: bytes) -> None:
        _log.info("Received: {data!r}", data=data)
        ProtocolWrapper.dataReceived(self, data)

    def write(self, data: bytes) -> None:
        _log.info("Sending: {data!r}", data=data)
        ProtocolWrapper.write(self, data)


class SpewingFactory(WrappingFactory):
    """Wraps protocols in :class:`SpewingProtocol`."""

    protocol = SpewingProtocol


class LimitConnectionsByPeer(WrappingFactory):
    """Refuses a connection when its peer host already has ``maxConnectionsPerPeer``."""

    maxConnectionsPerPeer = 5

    def startFactory(self) -> None:
        self.peerConnections: dict[Any, int] = {}

    def buildProtocol(self, addr: Any) -> Any:
        peerHost = _hostOf(addr)
        if not hasattr(self, "peerConnections"):
            self.startFactory()
        count = self.peerConnections.get(peerHost, 0)
        if count >= self.maxConnectionsPerPeer:
            return None
        protocol = WrappingFactory.buildProtocol(self, addr)
        if protocol is not None:
            self.peerConnections[peerHost] = count + 1
        return protocol

    def unregisterProtocol(self, p: Any) -> None:
        WrappingFactory.unregisterProtocol(self, p)
        peerHost = _hostOf(p.getPeer())
        remaining = self.peerConnections.get(peerHost, 0) - 1
        if remaining > 0:
            self.peerConnections[peerHost] = remaining
        else:
            self.peerConnections.pop(peerHost, None)


def _hostOf(addr: Any) -> Any:
    host = getattr(addr, "host", None)
    if host is not None:
        return host
    try:
        return addr[0]
    except (TypeError, IndexError):
        return addr


class LimitTotalConnectionsFactory(ServerFactory):
    """Serves at most :attr:`connectionLimit` connections at once.

    Beyond the limit, connections get an :attr:`overflowProtocol` instance (to say "busy") or,
    without one, are refused.

    :ivar connectionCount: the live connections.
    """

    connectionCount = 0
    connectionLimit: int | None = None
    overflowProtocol: Any = None

    def buildProtocol(self, addr: Any) -> Any:
        if self.connectionLimit is None or self.connectionCount < self.connectionLimit:
            wrappedProtocol = self.protocol()
        elif self.overflowProtocol is None:
            return None
        else:
            wrappedProtocol = self.overflowProtocol()
        wrappedProtocol.factory = self
        protocol = ProtocolWrapper(self, wrappedProtocol)
        self.connectionCount += 1
        return protocol

    def registerProtocol(self, p: Any) -> None:
        """Nothing to do: counted when built."""

    def unregisterProtocol(self, p: Any) -> None:
        self.connectionCount -= 1


class TimeoutProtocol(ProtocolWrapper):
    """Drops the connection after ``timeoutPeriod`` seconds without traffic either way."""

    timeoutCall: Any = None

    def __init__(self, factory: Any, wrappedProtocol: Any, timeoutPeriod: float | None) -> None:
        ProtocolWrapper.__init__(self, factory, wrappedProtocol)
        self.timeoutPeriod: float | None = None
        self.setTimeout(timeoutPeriod)

    def setTimeout(self, timeoutPeriod: float | None = None) -> None:
        """Start (or restart) the timeout; ``None`` disables it."""
        self.cancelTimeout()
        self.timeoutPeriod = timeoutPeriod
        if timeoutPeriod is not None:
            self.timeoutCall = self.factory.callLater(timeoutPeriod, self.timeoutFunc)

    def cancelTimeout(self) -> None:
        """Cancel the timeout, if any."""
        self.timeoutPeriod = None
        call, self.timeoutCall = self.timeoutCall, None
        if call is not None:
            try:
                call.cancel()
            except (error.AlreadyCalled, error.AlreadyCancelled):
                pass

    def resetTimeout(self) -> None:
        """Restart the countdown (traffic was seen)."""
        if self.timeoutCall is not None and self.timeoutPeriod is not None:
            self.timeoutCall.reset(self.timeoutPeriod)

    def write(self, data: bytes) -> None:
        self.resetTimeout()
        ProtocolWrapper.write(self, data)

    def writeSequence(self, data: Sequence[bytes]) -> None:
        self.resetTimeout()
        ProtocolWrapper.writeSequence(self, data)

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        ProtocolWrapper.dataReceived(self, data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.cancelTimeout()
        ProtocolWrapper.connectionLost(self, reason)

    def timeoutFunc(self) -> None:
        """The connection was idle too long: drop it."""
        self.timeoutCall = None
        self.loseConnection()


class TimeoutFactory(WrappingFactory):
    """Wraps protocols in :class:`TimeoutProtocol`.

    :param timeoutPeriod: idle seconds before a connection is dropped (default 30 minutes).
    :param clock: the IReactorTime to use (default: the global reactor).
    """

    protocol = TimeoutProtocol

    def __init__(
        self, wrappedFactory: Any, timeoutPeriod: float = 30 * 60, clock: Any = None
    ) -> None:
        self.timeoutPeriod = timeoutPeriod
        self.clock = clock
        WrappingFactory.__init__(self, wrappedFactory)

    def buildProtocol(self, addr: Any) -> Any:
        inner = self.wrappedFactory.buildProtocol(addr)
        if inner is None:
            return None
        return self.protocol(self, inner, timeoutPeriod=self.timeoutPeriod)

    def callLater(self, period: float, func: Callable[..., Any]) -> Any:
        """Schedule ``func`` on :attr:`clock` (the global reactor by default)."""
        return _callLater(self.clock, period, func)


class TrafficLoggingProtocol(ProtocolWrapper):
    """Writes every byte received and sent, and each close, to a log file (for debugging).

    Lines are ``C N: data`` (received), ``S N: data`` (sent), ``SV N: [...]`` (sent as a
    sequence), ``S N: *`` (close requested), ``C N: reason`` (connection lost) and ``*``
    (connected), with N the connection's number; data longer than ``lengthLimit`` is cut.
    """

    def __init__(
        self,
        factory: Any,
        wrappedProtocol: Any,
        logfile: Any,
        lengthLimit: int | None = None,
        number: int = 0,
    ) -> None:
        super().__init__(factory, wrappedProtocol)
        self.logfile = logfile
        self.lengthLimit = lengthLimit
        self._number = number

    def _log(self, line: str) -> None:
        self.logfile.write(line + "\n")
        self.logfile.flush()

    def _mungeData(self, data: bytes) -> bytes:
        if self.lengthLimit and len(data) > self.lengthLimit:
            data = data[: self.lengthLimit - 12] + b"<... elided>"
        return data

    def connectionMade(self) -> None:
        self._log("*")
        super().connectionMade()

    def dataReceived(self, data: bytes) -> None:
        self._log(f"C {self._number}: {self._mungeData(data)!r}")
        super().dataReceived(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._log(f"C {self._number}: {reason!r}")
        super().connectionLost(reason)

    def write(self, data: bytes) -> None:
        self._log(f"S {self._number}: {self._mungeData(data)!r}")
        super().write(data)

    def writeSequence(self, iovec: Sequence[bytes]) -> None:
        self._log(f"SV {self._number}: {[self._mungeData(d) for d in iovec]!r}")
        super().writeSequence(iovec)

    def loseConnection(self) -> None:
        self._log(f"S {self._number}: *")
        super().loseConnection()


class TrafficLoggingFactory(WrappingFactory):
    """Wraps each connection in a :class:`TrafficLoggingProtocol` writing to its own file,
    ``logfilePrefix-1``, ``logfilePrefix-2``, ... (for debugging: it records everything)."""

    protocol = TrafficLoggingProtocol
    _counter = 0

    def __init__(
        self, wrappedFactory: Any, logfilePrefix: str, lengthLimit: int | None = None
    ) -> None:
        self.logfilePrefix = logfilePrefix
        self.lengthLimit = lengthLimit
        super().__init__(wrappedFactory)

    def open(self, name: str) -> Any:
        """Open the log file ``name`` for writing (override to log elsewhere)."""
        return open(name, "w", encoding="utf-8")

    def buildProtocol(self, addr: Any) -> Any:
        self._counter += 1
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        logfile = self.open(f"{self.logfilePrefix}-{self._counter}")
        return self.protocol(self, wrapped, logfile, self.lengthLimit, self._counter)

    def resetCounter(self) -> None:
        """Number the next connection 1 again."""
        self._counter = 0


class TimeoutMixin:
    """Mixin for protocols that drop idle connections.

    Call :meth:`setTimeout` to start, :meth:`resetTimeout` on traffic, override
    :meth:`timeoutConnection` to do more than disconnect. Set :attr:`clock` (or override
    :meth:`callLater`) to use a fake clock in tests.

    :ivar timeOut: the timeout in seconds, or ``None``.
    """

    timeOut: float | None = None
    clock: Any = None
    transport: Any
    __timeoutCall: Any = None

    def callLater(self, period: float, func: Callable[..., Any]) -> Any:
        """Schedule ``func`` on :attr:`clock` (the global reactor by default)."""
        return _callLater(self.clock, period, func)

    def resetTimeout(self) -> None:
        """Restart the countdown (call on traffic)."""
        call = self.__timeoutCall
        if call is not None:
            period = self.timeOut
            if period is not None:
                call.reset(period)

    def setTimeout(self, period: float | None) -> float | None:
        """Change the timeout (``None`` cancels it).

        :return: the previous timeout.
        """
        prev = self.timeOut
        self.timeOut = period
        if self.__timeoutCall is not None:
            if period is None:
                try:
                    self.__timeoutCall.cancel()
                except (error.AlreadyCancelled, error.AlreadyCalled):
                    pass
                self.__timeoutCall = None
            else:
                self.__timeoutCall.reset(period)
        elif period is not None:
            self.__timeoutCall = self.callLater(period, self.__timedOut)
        return prev

    def __timedOut(self) -> None:
        self.__timeoutCall = None
        self.timeoutConnection()

    def timeoutConnection(self) -> None:
        """The connection was idle too long; drops it by default."""
        self.transport.loseConnection()
