"""Applying PROXY protocol headers to accepted connections.

:class:`HAProxyWrappingFactory` wraps any server factory: each connection first has its PROXY
header read; only then is the real protocol built (with the client's real address) and
connected, so ``connectionMade`` and ``transport.getPeer()`` already see the real client.
A malformed, over-long or late header closes the connection and is logged once; the
application protocol never sees such a connection. (Twisted connects the application protocol
before the header arrives, so its ``connectionMade`` sees the proxy's address.)
"""

from __future__ import annotations

from typing import Any

from zope.interface import alsoProvides, providedBy

from ..logger import Logger
from ._haproxy import DEFAULT_MAX_V2_LENGTH, HAProxyHeaderParser, InvalidProxyHeader, ProxyInfo

_log = Logger()


class HAProxyProtocolWrapper:
    """Reads the PROXY header, then acts as the transport of the real protocol."""

    def __init__(self, factory: HAProxyWrappingFactory) -> None:
        self.factory = factory
        self.transport: Any = None
        self.wrappedProtocol: Any = None
        self.connected = 0
        self._parser = HAProxyHeaderParser(factory.maxV2Length)
        self._info: ProxyInfo | None = None
        self._rejected = False
        self._timeoutCall: Any = None

    # -- protocol side (the real transport calls these)

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport
        self.connected = 1
        alsoProvides(self, providedBy(transport))
        clock = self.factory.clock
        if clock is not None and self.factory.headerTimeout is not None:
            self._timeoutCall = clock.callLater(self.factory.headerTimeout, self._timedOut)

    def logPrefix(self) -> str:
        inner = self.wrappedProtocol
        if inner is not None and hasattr(inner, "logPrefix"):
            return f"{inner.logPrefix()} (PROXY)"
        return "HAProxyProtocolWrapper"

    def dataReceived(self, data: bytes) -> None:
        if self.wrappedProtocol is not None:
            self.wrappedProtocol.dataReceived(data)
            return
        if self._rejected:
            return
        try:
            result = self._parser.feed(data)
        except InvalidProxyHeader as e:
            self._reject(str(e))
            return
        if result is None:
            return
        info, rest = result
        self._cancelTimeout()
        self._info = info
        protocol = self.factory.wrappedFactory.buildProtocol(self.getPeer())
        if protocol is None:
            self._rejected = True
            self.transport.loseConnection()
            return
        self.wrappedProtocol = protocol
        alsoProvides(self, providedBy(protocol))
        protocol.makeConnection(self)
        if rest and self.wrappedProtocol is not None and self.connected:
            protocol.dataReceived(rest)

    def connectionLost(self, reason: Any) -> None:
        self.connected = 0
        self._cancelTimeout()
        protocol, self.wrappedProtocol = self.wrappedProtocol, None
        if protocol is not None:
            protocol.connectionLost(reason)

    def readConnectionLost(self) -> None:
        if self.wrappedProtocol is not None and hasattr(self.wrappedProtocol, "readConnectionLost"):
            self.wrappedProtocol.readConnectionLost()
        else:
            self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        if self.wrappedProtocol is not None and hasattr(
            self.wrappedProtocol, "writeConnectionLost"
        ):
            self.wrappedProtocol.writeConnectionLost()

    def _reject(self, why: str) -> None:
        self._rejected = True
        self._cancelTimeout()
        _log.warn(
            "Closing connection from {peer}: invalid PROXY header: {why}",
            peer=self.transport.getPeer(),
            why=why,
        )
        abort = getattr(self.transport, "abortConnection", None)
        if abort is not None:
            abort()
        else:
            self.transport.loseConnection()

    def _timedOut(self) -> None:
        self._timeoutCall = None
        if self.wrappedProtocol is None and not self._rejected and self.connected:
            self._reject(f"no complete header within {self.factory.headerTimeout} seconds")

    def _cancelTimeout(self) -> None:
        call, self._timeoutCall = self._timeoutCall, None
        if call is not None and call.active():
            call.cancel()

    # -- transport side (the real protocol calls these)

    @property
    def proxyInfo(self) -> ProxyInfo | None:
        """The parsed header, once it has arrived."""
        return self._info

    def getPeer(self) -> Any:
        """The real client's address from the header, else the connection's own peer."""
        if self._info is not None and self._info.source is not None:
            return self._info.source
        return self.transport.getPeer()

    def getHost(self) -> Any:
        """The address the client connected to from the header, else the local address."""
        if self._info is not None and self._info.destination is not None:
            return self._info.destination
        return self.transport.getHost()

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def writeSequence(self, data: Any) -> None:
        self.transport.writeSequence(data)

    def loseConnection(self) -> None:
        self.transport.loseConnection()

    def abortConnection(self) -> None:
        self.transport.abortConnection()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.transport.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self.transport.unregisterProducer()

    def stopConsuming(self) -> None:
        self.transport.unregisterProducer()
        self.transport.loseConnection()

    def pauseProducing(self) -> None:
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        self.transport.stopProducing()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or self.__dict__.get("transport") is None:
            raise AttributeError(name)
        return getattr(self.__dict__["transport"], name)


class HAProxyWrappingFactory:
    """Wraps a server factory so every connection starts with a PROXY header (v1 or v2).

    :param wrappedFactory: builds the application protocol once the header has arrived.
    :param clock: an ``IReactorTime`` for the header timeout; no timeout if ``None``.
    :param headerTimeout: seconds a client may take to send the whole header.
    :param maxV2Length: the largest v2 header accepted.
    """

    protocol = HAProxyProtocolWrapper
    noisy = False

    def __init__(
        self,
        wrappedFactory: Any,
        clock: Any = None,
        headerTimeout: float | None = 30.0,
        maxV2Length: int = DEFAULT_MAX_V2_LENGTH,
    ) -> None:
        self.wrappedFactory = wrappedFactory
        self.clock = clock
        self.headerTimeout = headerTimeout
        self.maxV2Length = maxV2Length

    def logPrefix(self) -> str:
        inner = getattr(self.wrappedFactory, "logPrefix", None)
        return f"{inner() if inner else type(self.wrappedFactory).__name__} (PROXY)"

    def doStart(self) -> None:
        self.wrappedFactory.doStart()

    def doStop(self) -> None:
        self.wrappedFactory.doStop()

    def buildProtocol(self, addr: Any) -> HAProxyProtocolWrapper:
        return self.protocol(self)


def proxyEndpoint(wrappedEndpoint: Any, clock: Any = None) -> Any:
    """A server endpoint like ``wrappedEndpoint`` whose connections start with a PROXY header."""
    from .endpoints import _WrapperServerEndpoint

    return _WrapperServerEndpoint(
        wrappedEndpoint, lambda factory: HAProxyWrappingFactory(factory, clock=clock)
    )
