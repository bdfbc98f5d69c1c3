"""
Base classes for protocols and the factories that build them.

Protocol code written for Twisted's ``twisted.internet.protocol`` runs unchanged on these.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, ClassVar

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure

if TYPE_CHECKING:
    from glisten.internet.interfaces import IAddress, IDelayedCall

_log = Logger()


@implementer(interfaces.IProtocolFactory, interfaces.ILoggingContext)
class Factory:
    """
    Builds one protocol instance (of :attr:`protocol`) per connection.

    :ivar protocol: the protocol class to build, or None.
    :ivar noisy: log when the factory starts and stops.
    :ivar numPorts: how many ports or connectors use this factory right now.
    """

    protocol: Any = None
    noisy: bool = True
    numPorts: int = 0

    @classmethod
    def forProtocol(cls, protocol: Any, *args: Any, **kwargs: Any) -> Any:
        """
        Build a factory of ``cls`` (with ``*args, **kwargs``) that makes ``protocol`` instances.
        """
        factory = cls(*args, **kwargs)
        factory.protocol = protocol
        return factory

    def logPrefix(self) -> str:
        """
        :return: the class name, for log lines.
        """
        return self.__class__.__name__

    def doStart(self) -> None:
        """
        Called by each port or connector before it starts using the factory.
        """
        if not self.numPorts:
            if self.noisy:
                _log.info("Starting factory {factory!r}", factory=self)
            self.startFactory()
        self.numPorts += 1

    def doStop(self) -> None:
        """
        Called by each port or connector when it stops using the factory.
        """
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        if not self.numPorts:
            if self.noisy:
                _log.info("Stopping factory {factory!r}", factory=self)
            self.stopFactory()

    def startFactory(self) -> None:
        """
        Override to set up shared state when the first port starts.
        """

    def stopFactory(self) -> None:
        """
        Override to tear down shared state when the last port stops.
        """

    def buildProtocol(self, addr: IAddress) -> Any:
        """
        Build a protocol instance and set its ``factory`` attribute.

        :return: the protocol, or None to refuse the connection.
        """
        p = self.protocol()
        p.factory = self
        return p


class ClientFactory(Factory):
    """
    A factory for outgoing connections, told how the attempts go.
    """

    def startedConnecting(self, connector: Any) -> None:
        """
        A connection attempt started with ``connector``.
        """

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """
        The attempt failed; ``connector.connect()`` may retry.
        """

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        """
        An established connection closed; ``connector.connect()`` may reconnect.
        """


class ServerFactory(Factory):
    """
    A factory for accepted connections.
    """


class ReconnectingClientFactory(ClientFactory):
    """
    A client factory that reconnects with randomised exponential back-off.

    :ivar maxDelay: the longest wait between attempts, in seconds.
    :ivar initialDelay: the first wait.
    :ivar factor: how much the wait grows per attempt (e).
    :ivar jitter: the standard deviation of the wait, as a fraction of it.
    :ivar maxRetries: give up after this many attempts (None: never).
    :ivar clock: the IReactorTime to schedule with (the global reactor if None).
    """

    maxDelay: float = 3600
    initialDelay: float = 1.0
    factor: float = 2.7182818284590451
    jitter: float = 0.11962656472
    delay: float = initialDelay
    retries: int = 0
    maxRetries: int | None = None
    _callID: IDelayedCall | None = None
    connector: Any = None
    clock: Any = None
    continueTrying: bool = True

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def clientConnectionLost(self, connector: Any, unused_reason: Failure) -> None:
        if self.continueTrying:
            self.connector = connector
            self.retry()

    def retry(self, connector: Any = None) -> None:
        """
        Schedule the next attempt after the current delay, then grow the delay.
        """
        if not self.continueTrying:
            if self.noisy:
                _log.info("Abandoning {connector} on explicit request", connector=connector)
            return
        if connector is None:
            if self.connector is None:
                raise ValueError("no connector to retry")
            connector = self.connector
        self.retries += 1
        if self.maxRetries is not None and self.retries > self.maxRetries:
            if self.noisy:
                _log.info(
                    "Abandoning {connector} after {retries} retries.",
                    connector=connector,
                    retries=self.retries,
                )
            return
        self.delay = min(self.delay * self.factor, self.maxDelay)
        if self.jitter:
            self.delay = random.normalvariate(self.delay, self.delay * self.jitter)
        if self.noisy:
            _log.info(
                "{connector} will retry in {delay} seconds", connector=connector, delay=self.delay
            )

        def reconnector() -> None:
            self._callID = None
            connector.connect()

        self.clock = getReactor(self.clock)
        self._callID = self.clock.callLater(self.delay, reconnector)

    def stopTrying(self) -> None:
        """
        Cancel any scheduled attempt and stop reconnecting.
        """
        if self._callID is not None:
            self._callID.cancel()
            self._callID = None
        self.continueTrying = False
        if self.connector is not None:
            try:
                self.connector.stopConnecting()
            except error.NotConnectingError:
                pass

    def resetDelay(self) -> None:
        """
        Start the back-off over; call this once a connection works.
        """
        self.delay = self.initialDelay
        self.retries = 0
        self._callID = None
        self.continueTrying = True

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for key in ("connector", "retries", "delay", "continueTrying", "_callID", "clock"):
            state.pop(key, None)
        return state


class BaseProtocol:
    """
    What every connection-oriented protocol has: a transport and ``connected``.
    """

    connected: int = 0
    transport: Any = None

    def makeConnection(self, transport: Any) -> None:
        """
        Attach ``transport`` and call :meth:`connectionMade`.
        """
        self.connected = 1
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        """
        Override: the connection is up.
        """


connectionDone = Failure(error.ConnectionDone())
connectionDone.cleanFailure()


@implementer(interfaces.IProtocol, interfaces.ILoggingContext)
class Protocol(BaseProtocol):
    """
    The base class of stream protocols: override :meth:`dataReceived` and friends.

    :ivar factory: the factory that built this protocol, if any.
    """

    factory: Any = None

    def logPrefix(self) -> str:
        """
        :return: the class name, for log lines.
        """
        return self.__class__.__name__

    def dataReceived(self, data: bytes) -> None:
        """
        Override: bytes arrived.
        """

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Override: the connection closed.
        """


@implementer(interfaces.IConsumer)
class ProtocolToConsumerAdapter:
    """
    Present a protocol as an IConsumer (its ``write`` feeds ``dataReceived``).
    """

    def __init__(self, original: Protocol) -> None:
        self.original = original

    def write(self, data: bytes) -> None:
        self.original.dataReceived(data)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        pass

    def unregisterProducer(self) -> None:
        pass


@implementer(interfaces.ITransport)
class FileWrapper:
    """
    A transport writing into a file object (for tests and simple tools).
    """

    closed = 0
    disconnecting = 0
    producer: Any = None
    streamingProducer = 0

    def __init__(self, file: Any) -> None:
        self.file = file

    def write(self, data: bytes) -> None:
        try:
            self.file.write(data)
        except BaseException:
            self.handleException()

    def _checkProducer(self) -> None:
        if self.producer:
            self.producer.resumeProducing()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self.producer = producer
        self.streamingProducer = streaming
        if not streaming:
            producer.resumeProducing()

    def unregisterProducer(self) -> None:
        self.producer = None

    def stopConsuming(self) -> None:
        self.unregisterProducer()
        self.loseConnection()

    def writeSequence(self, iovec: Any) -> None:
        self.write(b"".join(iovec))

    def loseConnection(self) -> None:
        self.closed = 1
        try:
            self.file.close()
        except OSError:
            self.handleException()

    def getPeer(self) -> Any:
        return ("file", "file")

    def getHost(self) -> Any:
        return "file"

    def handleException(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def pauseProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self.loseConnection()


class AbstractDatagramProtocol:
    """
    The base of datagram protocols: a transport and start/stop hooks.

    :ivar noisy: log when the protocol starts and stops listening.
    """

    transport: Any = None
    numPorts: int = 0
    noisy: bool = True

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["transport"] = None
        return d

    def doStart(self) -> None:
        """
        Called by the port when it starts listening.
        """
        if not self.numPorts:
            if self.noisy:
                _log.info("Starting protocol {protocol!r}", protocol=self)
            self.startProtocol()
        self.numPorts += 1

    def doStop(self) -> None:
        """
        Called by the port when it stops listening.
        """
        if self.numPorts == 0:
            return
        self.numPorts -= 1
        self.transport = None
        if not self.numPorts:
            if self.noisy:
                _log.info("Stopping protocol {protocol!r}", protocol=self)
            self.stopProtocol()

    def startProtocol(self) -> None:
        """
        Override: the transport is listening.
        """

    def stopProtocol(self) -> None:
        """
        Override: the transport stopped listening.
        """

    def makeConnection(self, transport: Any) -> None:
        """
        Attach ``transport`` and start the protocol (called by the port).
        """
        if self.transport:
            raise RuntimeError("protocol already has a transport")
        self.transport = transport
        self.doStart()

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        """
        Override: one datagram arrived from ``addr``.
        """


@implementer(interfaces.ILoggingContext)
class DatagramProtocol(AbstractDatagramProtocol):
    """
    The base class of UDP protocols.
    """

    def logPrefix(self) -> str:
        """
        :return: the class name, for log lines.
        """
        return self.__class__.__name__

    def connectionRefused(self) -> None:
        """
        Override: a datagram sent on a connected socket was refused (ICMP port unreachable).
        """


class ConnectedDatagramProtocol(DatagramProtocol):
    """
    A datagram protocol on a connected socket (Unix datagram ``connect``).
    """

    def datagramReceived(self, datagram: bytes, addr: Any = None) -> None:
        """
        Override: one datagram arrived from the connected peer.
        """

    def connectionFailed(self, failure: Failure) -> None:
        """
        Override: connecting failed.
        """


@implementer(interfaces.IProcessProtocol)
class ProcessProtocol(BaseProtocol):
    """
    The base class of child-process protocols.

    :ivar transport: the IProcessTransport, once connected.
    """

    transport: Any = None
    _FD_STDOUT: ClassVar[int] = 1
    _FD_STDERR: ClassVar[int] = 2

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        """
        Dispatch output of fd 1 and 2 to :meth:`outReceived` and :meth:`errReceived`.
        """
        if childFD == 1:
            self.outReceived(data)
        elif childFD == 2:
            self.errReceived(data)

    def outReceived(self, data: bytes) -> None:
        """
        Override: the child wrote to stdout.
        """

    def errReceived(self, data: bytes) -> None:
        """
        Override: the child wrote to stderr.
        """

    def childConnectionLost(self, childFD: int) -> None:
        """
        Dispatch a closed fd 0, 1 or 2 to the matching ``...ConnectionLost`` method.
        """
        if childFD == 0:
            self.inConnectionLost()
        elif childFD == 1:
            self.outConnectionLost()
        elif childFD == 2:
            self.errConnectionLost()

    def inConnectionLost(self) -> None:
        """
        Override: the child's stdin closed.
        """

    def outConnectionLost(self) -> None:
        """
        Override: the child's stdout closed.
        """

    def errConnectionLost(self) -> None:
        """
        Override: the child's stderr closed.
        """

    def processExited(self, reason: Failure) -> None:
        """
        Override: the child exited.
        """

    def processEnded(self, reason: Failure) -> None:
        """
        Override: the child exited and its pipes closed.
        """


@implementer(interfaces.IProtocol)
class ConsumerToProtocolAdapter:
    """
    Present an IConsumer as a protocol: bytes received are written to the consumer.
    """

    def __init__(self, original: Any) -> None:
        self.original = original

    def dataReceived(self, data: bytes) -> None:
        self.original.write(data)

    def connectionLost(self, reason: Failure) -> None:
        pass

    def makeConnection(self, transport: Any) -> None:
        pass

    def connectionMade(self) -> None:
        pass


class _InstanceFactory(ClientFactory):
    """
    Hands out one already-built protocol, then fires a Deferred with it (or the failure).

    The Deferred fires on the next reactor turn, after ``connectionMade`` has run, so its
    callbacks see a connected protocol.
    """

    noisy = False
    pending: Any = None

    def __init__(self, reactor: Any, instance: Any, deferred: Any) -> None:
        self.reactor = reactor
        self.instance = instance
        self.deferred = deferred

    def __repr__(self) -> str:
        return f"<ClientCreator factory: {self.instance!r}>"

    def buildProtocol(self, addr: IAddress) -> Any:
        self.pending = self.reactor.callLater(0, self._fire, self.deferred.callback, self.instance)
        self.deferred = None
        return self.instance

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.pending = self.reactor.callLater(0, self._fire, self.deferred.errback, reason)
        self.deferred = None

    def _fire(self, func: Any, value: Any) -> None:
        self.pending = None
        func(value)


class ClientCreator:
    """
    Connect once and get the connected protocol instance from a Deferred.

    ``ClientCreator(reactor, MyProtocol, *args, **kw).connectTCP(host, port)`` builds
    ``MyProtocol(*args, **kw)`` and fires with it once connected (or fails with the
    connection error). Cancelling the Deferred abandons the attempt. Endpoints
    (``connectProtocol``) are the modern way; this is kept for the code that uses it.
    """

    def __init__(self, reactor: Any, protocolClass: Any, *args: Any, **kwargs: Any) -> None:
        self.reactor = reactor
        self.protocolClass = protocolClass
        self.args = args
        self.kwargs = kwargs

    def _connect(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        from glisten.internet.defer import Deferred

        def cancelConnect(deferred: Any) -> None:
            connector.disconnect()
            if factory.pending is not None:
                factory.pending.cancel()
                factory.pending = None

        d: Deferred[Any] = Deferred(cancelConnect)
        factory = _InstanceFactory(self.reactor, self.protocolClass(*self.args, **self.kwargs), d)
        connector = method(*args, factory=factory, **kwargs)
        return d

    def connectTCP(self, host: str, port: int, timeout: float = 30, bindAddress: Any = None) -> Any:
        """
        Connect over TCP.

        :return: a Deferred firing with the protocol instance.
        """
        return self._connect(
            self.reactor.connectTCP, host, port, timeout=timeout, bindAddress=bindAddress
        )

    def connectUNIX(self, address: str, timeout: float = 30, checkPID: bool = False) -> Any:
        """
        Connect to a Unix socket.

        :return: a Deferred firing with the protocol instance.
        """
        return self._connect(self.reactor.connectUNIX, address, timeout=timeout, checkPID=checkPID)

    def connectSSL(
        self,
        host: str,
        port: int,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: Any = None,
    ) -> Any:
        """
        Connect over TLS.

        :return: a Deferred firing with the protocol instance.
        """
        return self._connect(
            self.reactor.connectSSL,
            host,
            port,
            contextFactory=contextFactory,
            timeout=timeout,
            bindAddress=bindAddress,
        )


__all__ = [
    "AbstractDatagramProtocol",
    "BaseProtocol",
    "ClientCreator",
    "ClientFactory",
    "ConnectedDatagramProtocol",
    "ConsumerToProtocolAdapter",
    "DatagramProtocol",
    "Factory",
    "FileWrapper",
    "ProcessProtocol",
    "Protocol",
    "ProtocolToConsumerAdapter",
    "ReconnectingClientFactory",
    "ServerFactory",
    "connectionDone",
]
