"""In-memory stand-ins for transports and reactors, for testing protocols without sockets.

The pieces follow Twisted's ``twisted.internet.testing`` and ``twisted.test.iosim``:

- :class:`StringTransport` records what a protocol writes; :meth:`StringTransport.value`
  returns it and :meth:`StringTransport.clear` forgets it.
- :class:`StringTransportWithDisconnection` also tells its protocol when it is disconnected.
- :class:`MemoryReactor` records ``listenTCP``/``connectTCP``/... calls instead of opening
  sockets; :class:`MemoryReactorClock` adds a fake :class:`Clock`.
- :class:`RaisingMemoryReactor` raises on every listen/connect call.
- :func:`connectedServerAndClient` and :class:`IOPump` connect two protocols through memory and
  move bytes between them on :meth:`IOPump.pump`/:meth:`IOPump.flush`.
- :class:`CopyCounter` (a glisten addition) counts the bytes a parser copies and scans, for
  tests that fail when parsing becomes quadratic.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator, Sequence
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet._copycount import CopyCounter
from glisten.internet.address import IPv4Address, IPv6Address, UNIXAddress
from glisten.internet.defer import Deferred, succeed
from glisten.internet.protocol import ClientFactory, Protocol, connectionDone
from glisten.internet.task import Clock
from glisten.protocols.basic import LineReceiver
from glisten.python.failure import Failure

if TYPE_CHECKING:
    from glisten.logger import LogPublisher

__all__ = [
    "AccumulatingProtocol",
    "Clock",
    "CopyCounter",
    "EventLoggingObserver",
    "FakeDatagramTransport",
    "FakeTransport",
    "IOPump",
    "LineSendingProtocol",
    "MemoryReactor",
    "MemoryReactorClock",
    "NonStreamingProducer",
    "RaisingMemoryReactor",
    "StringTransport",
    "StringIOWithoutClosing",
    "StringTransportWithDisconnection",
    "connect",
    "connectedServerAndClient",
    "makeFakeClient",
    "makeFakeServer",
    "waitUntilAllDisconnected",
]

_Address = IPv4Address | IPv6Address | UNIXAddress


@implementer(interfaces.IConnector)
class _FakeConnector:
    """A connector that only records what was asked of it.

    :ivar stoppedConnecting: ``stopConnecting`` was called.
    :ivar disconnected: ``disconnect`` was called.
    :ivar connectionAttempts: how many times ``connect`` was called (starts at 1).
    """

    stoppedConnecting = False
    disconnected = False
    connectionAttempts = 1

    def __init__(self, address: Any) -> None:
        self._address = address
        self.factory: ClientFactory | None = None

    def stopConnecting(self) -> None:
        self.stoppedConnecting = True

    def disconnect(self) -> None:
        self.disconnected = True

    def connect(self) -> None:
        self.connectionAttempts += 1

    def getDestination(self) -> Any:
        return self._address


@implementer(interfaces.IListeningPort)
class _FakePort:
    """A listening port that only records whether it was stopped."""

    stopped = False

    def __init__(self, address: Any, hostAddress: Any = None) -> None:
        self._address = address
        self._hostAddress = hostAddress if hostAddress is not None else address

    def startListening(self) -> None:
        """Nothing to do: the port never listened."""

    def stopListening(self) -> Deferred[None]:
        self.stopped = True
        return succeed(None)

    def getHost(self) -> Any:
        return self._hostAddress


class _ProducerSlot:
    """Producer bookkeeping shared by the in-memory transports."""

    producer: Any = None
    streaming: bool | None = None

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """Register a producer; only one may be registered at a time.

        :raises RuntimeError: a producer is already registered.
        """
        if self.producer is not None:
            raise RuntimeError("Cannot register two producers")
        self.producer = producer
        self.streaming = bool(streaming)

    def unregisterProducer(self) -> None:
        """Forget the producer.

        :raises RuntimeError: no producer is registered.
        """
        if self.producer is None:
            raise RuntimeError("Cannot unregister a producer unless one is registered")
        self.producer = None
        self.streaming = None


class _TCPOptions:
    """The ITCPTransport socket options of the in-memory transports, recorded, not applied."""

    noDelay = False
    keepAlive = False

    def getTcpNoDelay(self) -> bool:
        return self.noDelay

    def setTcpNoDelay(self, enabled: bool) -> None:
        self.noDelay = bool(enabled)

    def getTcpKeepAlive(self) -> bool:
        return self.keepAlive

    def setTcpKeepAlive(self, enabled: bool) -> None:
        self.keepAlive = bool(enabled)


@implementer(
    interfaces.ITransport,
    interfaces.ITCPTransport,
    interfaces.IConsumer,
    interfaces.IPushProducer,
)
class StringTransport(_TCPOptions, _ProducerSlot):
    """A transport that keeps what is written to it in memory.

    It is also a push producer, so tests can check that a protocol pauses or resumes its
    transport: :attr:`producerState` is ``"producing"``, ``"paused"`` or ``"stopped"``.

    :ivar disconnecting: ``loseConnection`` was called.
    :ivar producer: the registered producer, or ``None``.
    :ivar streaming: whether the registered producer is a push (streaming) producer.
    :ivar hostAddr: what :meth:`getHost` returns.
    :ivar peerAddr: what :meth:`getPeer` returns.
    """

    disconnecting = False
    connected = True
    producerState = "producing"

    def __init__(self, hostAddress: Any = None, peerAddress: Any = None) -> None:
        self.clear()
        self.hostAddr: Any = (
            hostAddress if hostAddress is not None else IPv4Address("TCP", "10.0.0.1", 12345)
        )
        self.peerAddr: Any = (
            peerAddress if peerAddress is not None else IPv4Address("TCP", "192.168.1.1", 54321)
        )
        self.noDelay = False
        self.keepAlive = False
        self.writeConnectionLost = False
        self.aborted = False

    def clear(self) -> None:
        """Forget everything written so far."""
        self.io = BytesIO()

    def value(self) -> bytes:
        """Return all bytes written since creation or the last :meth:`clear`."""
        return self.io.getvalue()

    # ITransport
    def write(self, data: bytes) -> None:
        """Record ``data``.

        :raises TypeError: ``data`` is not bytes (a common porting mistake).
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"Data must be bytes, not {type(data).__name__}")
        self.io.write(data)

    def writeSequence(self, data: Sequence[bytes]) -> None:
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        """Only set :attr:`disconnecting`: the protocol is not told (see the subclass)."""
        self.disconnecting = True

    def abortConnection(self) -> None:
        self.aborted = True
        self.loseConnection()

    def loseWriteConnection(self) -> None:
        self.writeConnectionLost = True

    def getPeer(self) -> Any:
        return self.peerAddr

    def getHost(self) -> Any:
        return self.hostAddr

    # IPushProducer
    def _checkState(self) -> None:
        if self.disconnecting and not self.connected:
            raise RuntimeError("Cannot resume producing after loseConnection")
        if self.producerState == "stopped":
            raise RuntimeError("Cannot resume or pause a stopped producer")

    def pauseProducing(self) -> None:
        self._checkState()
        self.producerState = "paused"

    def stopProducing(self) -> None:
        self.producerState = "stopped"

    def resumeProducing(self) -> None:
        self._checkState()
        self.producerState = "producing"


class StringTransportWithDisconnection(StringTransport):
    """A :class:`StringTransport` that calls its protocol's ``connectionLost`` on
    :meth:`loseConnection`.

    :ivar protocol: the protocol to tell; set it before disconnecting.
    """

    protocol: Any = None

    def loseConnection(self) -> None:
        if self.connected:
            self.connected = False
            self.disconnecting = True
            if self.protocol is not None:
                self.protocol.connectionLost(Failure(error.ConnectionDone("Bye.")))


class AccumulatingProtocol(Protocol):
    """A protocol that keeps everything it receives.

    :ivar data: the bytes received so far.
    :ivar made: 1 once ``connectionMade`` ran.
    :ivar closed: 1 once ``connectionLost`` ran.
    :ivar closedReason: the failure given to ``connectionLost``.
    :ivar closedDeferred: if set, fired with ``None`` on ``connectionLost``.

    If the factory has a Deferred attribute ``protocolConnectionMade``, it is fired with the
    protocol on connection (and reset to ``None``), so a test can wait for the connection.
    """

    made = 0
    closed = 0
    closedReason: Failure | None = None
    closedDeferred: Deferred[None] | None = None

    data = b""

    def connectionMade(self) -> None:
        self.made = 1
        factory: Any = self.factory
        if factory is not None and getattr(factory, "protocolConnectionMade", None) is not None:
            d = factory.protocolConnectionMade
            factory.protocolConnectionMade = None
            d.callback(self)

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed = 1
        self.closedReason = reason
        if self.closedDeferred is not None:
            d, self.closedDeferred = self.closedDeferred, None
            d.callback(None)


class LineSendingProtocol(LineReceiver):
    """Sends ``lines`` on connection (if ``start``) and records the lines it receives.

    :ivar response: the lines received.
    :ivar lostConn: ``connectionLost`` was called.
    """

    lostConn = False

    def __init__(self, lines: Sequence[bytes], start: bool = True) -> None:
        self.lines = list(lines)
        self.response: list[bytes] = []
        self.start = start

    def connectionMade(self) -> None:
        if self.start:
            for line in self.lines:
                self.sendLine(line)

    def lineReceived(self, line: bytes) -> None:
        if not self.start:
            for sent in self.lines:
                self.sendLine(sent)
            self.lines = []
        self.response.append(line)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lostConn = True


class FakeDatagramTransport:
    """A datagram transport that records ``(packet, address)`` pairs in :attr:`written`."""

    noAddr = object()

    def __init__(self) -> None:
        self.written: list[tuple[bytes, Any]] = []

    def write(self, packet: bytes, addr: Any = noAddr) -> None:
        self.written.append((packet, addr))


class StringIOWithoutClosing(BytesIO):
    """A BytesIO whose ``close`` does nothing, so its value can be read after use."""

    def close(self) -> None:
        pass


@implementer(interfaces.IPullProducer)
class NonStreamingProducer:
    """A pull producer that writes ``0``..``9`` (as bytes) to its consumer, then unregisters.

    :ivar result: fired with ``None`` when the producer is done.
    """

    counter = 0
    stopped = False

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.result: Deferred[None] = Deferred()

    def resumeProducing(self) -> None:
        if self.counter < 10:
            self.consumer.write(str(self.counter).encode("ascii"))
            self.counter += 1
            if self.counter == 10:
                self.consumer.unregisterProducer()
                self._done()
        else:
            if self.consumer is None:
                raise RuntimeError("BUG: resume after unregister/stop.")

    def pauseProducing(self) -> None:
        raise RuntimeError("BUG: pause should never be called.")

    def _done(self) -> None:
        self.consumer = None
        d, self.result = self.result, Deferred()
        d.callback(None)

    def stopProducing(self) -> None:
        self.stopped = True
        self._done()


@implementer(
    interfaces.IReactorCore,
    interfaces.IReactorTCP,
    interfaces.IReactorSSL,
    interfaces.IReactorUNIX,
    interfaces.IReactorUDP,
    interfaces.IReactorSocket,
    interfaces.IReactorFDSet,
)
class MemoryReactor:
    """A reactor that records every listen/connect call instead of doing it.

    Each call is appended to a list as a tuple of its arguments, Twisted's layout:

    - ``tcpServers``: ``(port, factory, backlog, interface)``
    - ``tcpClients``: ``(host, port, factory, timeout, bindAddress)``
    - ``sslServers``: ``(port, factory, contextFactory, backlog, interface)``
    - ``sslClients``: ``(host, port, factory, contextFactory, timeout, bindAddress)``
    - ``unixServers``: ``(address, factory, backlog, mode, wantPID)``
    - ``unixClients``: ``(address, factory, timeout, checkPID)``
    - ``udpServers``: ``(port, protocol, interface, maxPacketSize)``
    - ``adoptedPorts``: ``(fileno, addressFamily, factory)``
    - ``adoptedStreamConnections``: ``(fileDescriptor, addressFamily, factory)``
    - ``adoptedDatagramPorts``: ``(fileno, addressFamily, protocol, maxPacketSize)``

    Connectors returned by ``connect*`` are kept in ``connectors``; the factory's
    ``startedConnecting`` is called as a real reactor would.
    """

    hasInstalled = False
    hasRun = False
    hasStopped = False
    hasCrashed = False
    running = False

    def __init__(self) -> None:
        self.triggers: dict[
            str, dict[str, list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]]
        ] = {}
        self.whenRunningHooks: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self.tcpServers: list[tuple[Any, ...]] = []
        self.tcpClients: list[tuple[Any, ...]] = []
        self.sslServers: list[tuple[Any, ...]] = []
        self.sslClients: list[tuple[Any, ...]] = []
        self.unixServers: list[tuple[Any, ...]] = []
        self.unixClients: list[tuple[Any, ...]] = []
        self.udpServers: list[tuple[Any, ...]] = []
        self.adoptedPorts: list[tuple[Any, ...]] = []
        self.adoptedStreamConnections: list[tuple[Any, ...]] = []
        self.adoptedDatagramPorts: list[tuple[Any, ...]] = []
        self.connectors: list[_FakeConnector] = []
        self.readers: set[Any] = set()
        self.writers: set[Any] = set()
        self._triggerIds = itertools.count(1)
        self._triggerHandles: dict[int, tuple[str, str, int]] = {}

    # IReactorCore
    def install(self) -> None:
        """Remember that ``install`` was called; nothing is installed globally."""
        self.hasInstalled = True

    def resolve(self, name: str, timeout: Sequence[int] = (1, 3, 11, 45)) -> Deferred[str]:
        raise NotImplementedError("MemoryReactor does not resolve names")

    def run(self, installSignalHandlers: bool = True) -> None:
        """Record the run and call the ``callWhenRunning`` hooks; returns at once."""
        if self.running:
            raise error.ReactorAlreadyRunning()
        self.running = True
        self.hasRun = True
        for f, args, kwargs in self.whenRunningHooks:
            f(*args, **kwargs)
        self.whenRunningHooks = []

    def stop(self) -> None:
        if not self.running:
            raise error.ReactorNotRunning()
        self.running = False
        self.hasStopped = True

    def crash(self) -> None:
        self.running = False
        self.hasCrashed = True

    def iterate(self, delay: float = 0) -> None:
        """Nothing to do: there are no file descriptors."""

    def fireSystemEvent(self, eventType: str) -> None:
        """Run the triggers of ``eventType`` for the phases before, during and after."""
        phases = self.triggers.get(eventType, {})
        for phase in ("before", "during", "after"):
            for f, args, kwargs in list(phases.get(phase, [])):
                f(*args, **kwargs)

    def addSystemEventTrigger(
        self, phase: str, eventType: str, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any:
        """Record a trigger; the return value can be passed to :meth:`removeSystemEventTrigger`.

        :raises KeyError: ``phase`` is not ``before``, ``during`` or ``after``.
        """
        if phase not in ("before", "during", "after"):
            raise KeyError(phase)
        phaseTriggers = self.triggers.setdefault(eventType, {}).setdefault(phase, [])
        entry = (callable, args, kw)
        phaseTriggers.append(entry)
        handle = next(self._triggerIds)
        self._triggerHandles[handle] = (eventType, phase, id(entry))
        return (phase, eventType, handle, entry)

    def removeSystemEventTrigger(self, triggerID: Any) -> None:
        """Remove a trigger added by :meth:`addSystemEventTrigger`.

        :raises ValueError: the trigger is unknown or was already removed.
        """
        try:
            phase, eventType, handle, entry = triggerID
            del self._triggerHandles[handle]
            self.triggers[eventType][phase].remove(entry)
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"unknown trigger {triggerID!r}") from None

    def callWhenRunning(self, callable: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Record a hook; it runs on :meth:`run`, or at once if already running."""
        if self.running:
            callable(*args, **kw)
        else:
            self.whenRunningHooks.append((callable, args, kw))

    # IReactorSocket
    def adoptStreamPort(self, fileDescriptor: int, addressFamily: Any, factory: Any) -> Any:
        self.adoptedPorts.append((fileDescriptor, addressFamily, factory))
        return _FakePort(_addressFor(addressFamily, "0.0.0.0", 0))

    def adoptStreamConnection(self, fileDescriptor: int, addressFamily: Any, factory: Any) -> None:
        self.adoptedStreamConnections.append((fileDescriptor, addressFamily, factory))

    def adoptDatagramPort(
        self, fileDescriptor: int, addressFamily: Any, protocol: Any, maxPacketSize: int = 8192
    ) -> Any:
        self.adoptedDatagramPorts.append((fileDescriptor, addressFamily, protocol, maxPacketSize))
        return _FakePort(_addressFor(addressFamily, "0.0.0.0", 0, "UDP"))

    # IReactorTCP
    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        self.tcpServers.append((port, factory, backlog, interface))
        if ":" in interface:
            return _FakePort(IPv6Address("TCP", interface, port))
        return _FakePort(IPv4Address("TCP", interface or "0.0.0.0", port))

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> Any:
        self.tcpClients.append((host, port, factory, timeout, bindAddress))
        address: Any = (
            IPv6Address("TCP", host, port) if ":" in host else IPv4Address("TCP", host, port)
        )
        return self._connector(address, factory)

    def _connector(self, address: Any, factory: Any) -> _FakeConnector:
        conn = _FakeConnector(address)
        conn.factory = factory
        factory.startedConnecting(conn)
        self.connectors.append(conn)
        return conn

    # IReactorSSL
    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> Any:
        self.sslServers.append((port, factory, contextFactory, backlog, interface))
        return _FakePort(IPv4Address("TCP", interface or "0.0.0.0", port))

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> Any:
        self.sslClients.append((host, port, factory, contextFactory, timeout, bindAddress))
        return self._connector(IPv4Address("TCP", host, port), factory)

    # IReactorUNIX
    def listenUNIX(
        self,
        address: str,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> Any:
        self.unixServers.append((address, factory, backlog, mode, wantPID))
        return _FakePort(UNIXAddress(address))

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: bool = False
    ) -> Any:
        self.unixClients.append((address, factory, timeout, checkPID))
        return self._connector(UNIXAddress(address), factory)

    # IReactorUDP
    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        self.udpServers.append((port, protocol, interface, maxPacketSize))
        return _FakePort(IPv4Address("UDP", interface or "0.0.0.0", port))

    # IReactorFDSet
    def addReader(self, reader: Any) -> None:
        self.readers.add(reader)

    def removeReader(self, reader: Any) -> None:
        self.readers.discard(reader)

    def addWriter(self, writer: Any) -> None:
        self.writers.add(writer)

    def removeWriter(self, writer: Any) -> None:
        self.writers.discard(writer)

    def getReaders(self) -> list[Any]:
        return list(self.readers)

    def getWriters(self) -> list[Any]:
        return list(self.writers)

    def removeAll(self) -> list[Any]:
        everything = list(self.readers | self.writers)
        self.readers.clear()
        self.writers.clear()
        return everything


def _addressFor(family: Any, host: str, port: int, kind: Literal["TCP", "UDP"] = "TCP") -> Any:
    if family == socket.AF_INET6:
        return IPv6Address(kind, "::", port)
    if family == getattr(socket, "AF_UNIX", None):
        return UNIXAddress(None)
    return IPv4Address(kind, host, port)


class MemoryReactorClock(MemoryReactor, Clock):
    """A :class:`MemoryReactor` that is also a fake :class:`Clock` (``callLater``, ``advance``)."""

    def __init__(self) -> None:
        MemoryReactor.__init__(self)
        Clock.__init__(self)


class RaisingMemoryReactor(MemoryReactor):
    """A :class:`MemoryReactor` whose listen and connect calls raise the given exceptions.

    :param listenException: raised by ``listen*`` and ``adopt*``.
    :param connectException: raised by ``connect*``.
    """

    def __init__(
        self,
        listenException: BaseException | None = None,
        connectException: BaseException | None = None,
    ) -> None:
        MemoryReactor.__init__(self)
        self._listenException = listenException
        self._connectException = connectException

    def _raiseListen(self) -> None:
        if self._listenException is not None:
            raise self._listenException

    def _raiseConnect(self) -> None:
        if self._connectException is not None:
            raise self._connectException

    def adoptStreamPort(self, fileDescriptor: int, addressFamily: Any, factory: Any) -> Any:
        self._raiseListen()
        return MemoryReactor.adoptStreamPort(self, fileDescriptor, addressFamily, factory)

    def adoptStreamConnection(self, fileDescriptor: int, addressFamily: Any, factory: Any) -> None:
        self._raiseListen()
        MemoryReactor.adoptStreamConnection(self, fileDescriptor, addressFamily, factory)

    def adoptDatagramPort(
        self, fileDescriptor: int, addressFamily: Any, protocol: Any, maxPacketSize: int = 8192
    ) -> Any:
        self._raiseListen()
        return MemoryReactor.adoptDatagramPort(
            self, fileDescriptor, addressFamily, protocol, maxPacketSize
        )

    def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
        self._raiseListen()
        return MemoryReactor.listenTCP(self, port, factory, backlog, interface)

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> Any:
        self._raiseConnect()
        return MemoryReactor.connectTCP(self, host, port, factory, timeout, bindAddress)

    def listenSSL(
        self,
        port: int,
        factory: Any,
        contextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> Any:
        self._raiseListen()
        return MemoryReactor.listenSSL(self, port, factory, contextFactory, backlog, interface)

    def connectSSL(
        self,
        host: str,
        port: int,
        factory: Any,
        contextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> Any:
        self._raiseConnect()
        return MemoryReactor.connectSSL(
            self, host, port, factory, contextFactory, timeout, bindAddress
        )

    def listenUNIX(
        self,
        address: str,
        factory: Any,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> Any:
        self._raiseListen()
        return MemoryReactor.listenUNIX(self, address, factory, backlog, mode, wantPID)

    def connectUNIX(
        self, address: str, factory: Any, timeout: float = 30, checkPID: bool = False
    ) -> Any:
        self._raiseConnect()
        return MemoryReactor.connectUNIX(self, address, factory, timeout, checkPID)

    def listenUDP(
        self, port: int, protocol: Any, interface: str = "", maxPacketSize: int = 8192
    ) -> Any:
        self._raiseListen()
        return MemoryReactor.listenUDP(self, port, protocol, interface, maxPacketSize)


class EventLoggingObserver:
    """A log observer that keeps every event it sees, for assertions about logging.

    Use :meth:`createWithCleanup` from a test case so it is removed again after the test.
    """

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self._events[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._events)

    def __call__(self, event: dict[str, Any]) -> None:
        self._events.append(event)

    @classmethod
    def createWithCleanup(
        cls, testInstance: Any, publisher: LogPublisher | Any
    ) -> EventLoggingObserver:
        """Create an observer, add it to ``publisher`` and remove it when the test ends.

        :param testInstance: something with ``addCleanup`` (a test case).
        :param publisher: a log publisher (``glisten.logger.globalLogPublisher``, say).
        """
        observer = cls()
        publisher.addObserver(observer)
        testInstance.addCleanup(publisher.removeObserver, observer)
        return observer


def _markLogObserver() -> None:
    # ILogObserver lives in glisten.logger; declare it when that module is importable so that
    # this testing kit does not depend on import order.
    try:
        from glisten.logger import ILogObserver
    except ImportError:  # pragma: no cover - logger always ships with core
        return
    implementer(ILogObserver)(EventLoggingObserver)


_markLogObserver()


def waitUntilAllDisconnected(reactor: Any, protocols: Sequence[Any]) -> Deferred[None]:
    """Return a Deferred that fires once every protocol in ``protocols`` lost its connection.

    Checks each reactor turn (``callLater(0, ...)``); the protocols must have a ``transport``
    attribute whose ``connected`` becomes false, as real transports do.
    """
    d: Deferred[None] = Deferred()

    def check() -> None:
        if any(getattr(p.transport, "connected", False) for p in protocols):
            reactor.callLater(0, check)
        else:
            d.callback(None)

    check()
    return d


# ---------------------------------------------------------------------------------------------
# Two protocols connected in memory (Twisted's iosim).

_serialCounter = itertools.count(1)


@implementer(interfaces.ITransport, interfaces.ITCPTransport, interfaces.IConsumer)
class FakeTransport(_TCPOptions, _ProducerSlot):
    """One side of an in-memory connection; an :class:`IOPump` moves its bytes to the peer.

    :ivar protocol: the protocol this transport belongs to.
    :ivar isServer: whether this is the server side.
    :ivar disconnecting: ``loseConnection`` was called.
    :ivar disconnected: the pump has delivered the disconnection.
    :ivar disconnectReason: the exception given to the protocol's ``connectionLost``.
    """

    disconnecting = False
    disconnected = False
    _aborting = False

    def __init__(
        self,
        protocol: Any,
        isServer: bool,
        hostAddress: Any = None,
        peerAddress: Any = None,
    ) -> None:
        self.protocol = protocol
        self.isServer = isServer
        self.stream: list[bytes] = []
        self.serial = next(_serialCounter)
        self.hostAddress: Any = hostAddress or IPv4Address("TCP", "127.0.0.1", 100 + self.serial)
        self.peerAddress: Any = peerAddress or IPv4Address("TCP", "127.0.0.1", 200 + self.serial)
        self.disconnectReason: BaseException = error.ConnectionDone("Connection done")
        self.paused = False
        self.noDelay = False
        self.keepAlive = False

    def __repr__(self) -> str:
        side = "S" if self.isServer else "C"
        return f"FakeTransport<{side},{self.serial},{self.protocol.__class__.__name__}>"

    @property
    def connected(self) -> bool:
        return not self.disconnected

    def write(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"Data must be bytes, not {type(data).__name__}")
        if self.disconnecting:
            return
        self.stream.append(bytes(data))

    def writeSequence(self, data: Sequence[bytes]) -> None:
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        self.disconnecting = True

    def abortConnection(self) -> None:
        self._aborting = True
        self.disconnectReason = error.ConnectionLost("Connection aborted")
        self.stream = []
        self.loseConnection()

    def loseWriteConnection(self) -> None:
        self.loseConnection()

    def reportDisconnect(self) -> None:
        """Tell the protocol that the connection is gone."""
        self.disconnected = True
        self.protocol.connectionLost(Failure(self.disconnectReason))

    def logPrefix(self) -> str:
        return "FakeTransport"

    def getPeer(self) -> Any:
        return self.peerAddress

    def getHost(self) -> Any:
        return self.hostAddress

    # The protocol may pause its transport (it is a producer of received data).
    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False

    def stopProducing(self) -> None:
        self.loseConnection()

    def getOutBuffer(self) -> bytes:
        """Return and forget the bytes written since the last call."""
        data = b"".join(self.stream)
        self.stream = []
        return data

    def bufferReceived(self, data: bytes) -> None:
        """Deliver bytes from the peer to the protocol (unless disconnected)."""
        if self.disconnected:
            return
        self.protocol.dataReceived(data)

    def _checkProducer(self) -> None:
        # A pull producer is asked for more data whenever the pump runs.
        if self.producer is not None and not self.streaming and not self.disconnecting:
            self.producer.resumeProducing()


def makeFakeClient(clientProtocol: Any) -> FakeTransport:
    """Return a client-side :class:`FakeTransport` for ``clientProtocol``."""
    return FakeTransport(clientProtocol, isServer=False)


def makeFakeServer(serverProtocol: Any) -> FakeTransport:
    """Return a server-side :class:`FakeTransport` for ``serverProtocol``."""
    return FakeTransport(serverProtocol, isServer=True)


class IOPump:
    """Moves bytes between two :class:`FakeTransport`\\ s, one step at a time.

    :param clock: if given, advanced by 0 seconds after each step so that ``callLater(0, ...)``
        work runs as it would in a reactor turn.
    """

    def __init__(
        self,
        client: Any,
        server: Any,
        clientIO: FakeTransport,
        serverIO: FakeTransport,
        debug: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.server = server
        self.clientIO = clientIO
        self.serverIO = serverIO
        self.debug = debug
        self.clock = clock if clock is not None else Clock()

    def flush(self, debug: bool = False) -> bool:
        """Pump until nothing moves any more.

        :return: whether anything moved.
        :raises RuntimeError: the two sides keep talking after 1000 steps (a livelock).
        """
        result = False
        for _ in range(1000):
            if self.pump(debug):
                result = True
            else:
                return result
        raise RuntimeError("IOPump.flush: too many iterations (the peers never go quiet)")

    def pump(self, debug: bool = False) -> bool:
        """Move the bytes written so far on each side to the other; deliver disconnections.

        :return: whether anything moved (bytes or a disconnection).
        """
        self.clock.advance(0)
        self.clientIO._checkProducer()
        self.serverIO._checkProducer()
        sData = self.serverIO.getOutBuffer()
        cData = self.clientIO.getOutBuffer()
        if debug or self.debug:
            if cData:
                print(f"C: {cData!r}")
            if sData:
                print(f"S: {sData!r}")
        if cData:
            self.serverIO.bufferReceived(cData)
        if sData:
            self.clientIO.bufferReceived(sData)
        if cData or sData:
            return True
        for mine, peer in ((self.serverIO, self.clientIO), (self.clientIO, self.serverIO)):
            if mine.disconnecting and not mine.disconnected:
                mine.reportDisconnect()
                if not peer.disconnected:
                    peer.disconnecting = True
                    peer.disconnectReason = mine.disconnectReason
                    peer.reportDisconnect()
                return True
        return False


def connect(
    serverProtocol: Any,
    serverTransport: FakeTransport,
    clientProtocol: Any,
    clientTransport: FakeTransport,
    debug: bool = False,
    greet: bool = True,
    clock: Clock | None = None,
) -> IOPump:
    """Connect two protocols through their fake transports.

    :param greet: flush once at once, so that greetings sent in ``connectionMade`` arrive.
    :return: the pump that moves bytes between them.
    """
    serverProtocol.makeConnection(serverTransport)
    clientProtocol.makeConnection(clientTransport)
    pump = IOPump(clientProtocol, serverProtocol, clientTransport, serverTransport, debug, clock)
    if greet:
        pump.flush()
    return pump


def connectedServerAndClient(
    ServerClass: Callable[[], Any],
    ClientClass: Callable[[], Any],
    clientTransportFactory: Callable[[Any], FakeTransport] = makeFakeClient,
    serverTransportFactory: Callable[[Any], FakeTransport] = makeFakeServer,
    debug: bool = False,
    greet: bool = True,
    clock: Clock | None = None,
) -> tuple[Any, Any, IOPump]:
    """Make a server and a client protocol and connect them in memory.

    :return: ``(client, server, pump)``, Twisted's order.
    """
    c = ClientClass()
    s = ServerClass()
    cio = clientTransportFactory(c)
    sio = serverTransportFactory(s)
    return c, s, connect(s, sio, c, cio, debug, greet, clock)
