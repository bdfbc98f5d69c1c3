"""Connect two protocols to each other: in memory (:func:`loopbackAsync`) or over a real
socket on this host (:func:`loopbackTCP`, :func:`loopbackUNIX`).

In memory, bytes written by one side are handed to the other side's ``dataReceived``
asynchronously (one reactor turn later), as a real connection would, until either side
disconnects; both then see ``connectionLost``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.defer import Deferred, succeed
from glisten.internet.main import getReactor
from glisten.internet.protocol import ClientFactory, Factory, connectionDone
from glisten.protocols.policies import ProtocolWrapper, WrappingFactory
from glisten.python.failure import Failure

__all__ = [
    "LoopbackClientFactory",
    "collapsingPumpPolicy",
    "identityPumpPolicy",
    "loopbackAsync",
    "loopbackTCP",
    "loopbackUNIX",
]


class _LoopbackQueue:
    """Bytes one side wrote, in order; ``None`` marks the disconnection."""

    def __init__(self) -> None:
        self._queue: list[bytes | None] = []
        self._notify: Deferred[None] | None = None

    def put(self, item: bytes | None) -> None:
        self._queue.append(item)
        if self._notify is not None:
            d, self._notify = self._notify, None
            d.callback(None)

    def __bool__(self) -> bool:
        """Whether data (not the disconnection marker) is waiting."""
        return bool(self._queue) and self._queue[0] is not None

    def get(self) -> bytes:
        """Take the next chunk of data (never the disconnection marker)."""
        item = self._queue[0]
        assert item is not None
        del self._queue[0]
        return item

    def disconnected(self) -> bool:
        return bool(self._queue) and self._queue[0] is None


@implementer(interfaces.IAddress)
class _LoopbackAddress:
    """The address of either end of an in-memory connection."""

    def __repr__(self) -> str:
        return "<loopback>"


@implementer(interfaces.ITransport, interfaces.IConsumer)
class _LoopbackTransport:
    disconnecting = False
    producer: Any = None
    streamingProducer = False

    def __init__(self, queue: _LoopbackQueue) -> None:
        self.queue = queue

    def write(self, data: bytes) -> None:
        if not isinstance(data, bytes):
            raise TypeError(f"Data must be bytes, not {type(data).__name__}")
        if not self.disconnecting:
            self.queue.put(data)

    def writeSequence(self, data: Sequence[bytes]) -> None:
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        if not self.disconnecting:
            self.disconnecting = True
            self.queue.put(None)

    def abortConnection(self) -> None:
        self.loseConnection()

    def getPeer(self) -> Any:
        return _LoopbackAddress()

    def getHost(self) -> Any:
        return _LoopbackAddress()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self.producer is not None:
            raise RuntimeError("Cannot register two producers")
        self.producer = producer
        self.streamingProducer = bool(streaming)
        self._pollProducer()

    def unregisterProducer(self) -> None:
        self.producer = None

    def _pollProducer(self) -> None:
        if self.producer is not None and not self.streamingProducer:
            self.producer.resumeProducing()


PumpPolicy = Callable[[_LoopbackQueue, Any], None]


def identityPumpPolicy(queue: _LoopbackQueue, target: Any) -> None:
    """Deliver each written chunk with its own ``dataReceived`` call."""
    while queue:
        target.dataReceived(queue.get())


def collapsingPumpPolicy(queue: _LoopbackQueue, target: Any) -> None:
    """Deliver all waiting chunks with one ``dataReceived`` call."""
    chunks = []
    while queue:
        chunks.append(queue.get())
    if chunks:
        target.dataReceived(b"".join(chunks))


def loopbackAsync(
    server: Any,
    client: Any,
    pumpPolicy: PumpPolicy = identityPumpPolicy,
    clock: Any = None,
) -> Deferred[None]:
    """Connect ``server`` and ``client`` in memory and pass bytes until one disconnects.

    :param pumpPolicy: how queued bytes are delivered (:func:`identityPumpPolicy`,
        :func:`collapsingPumpPolicy`).
    :param clock: schedules the deliveries (an IReactorTime; the global reactor by default).
    :return: a Deferred that fires once both protocols saw ``connectionLost``.
    """
    serverToClient = _LoopbackQueue()
    clientToServer = _LoopbackQueue()
    server.makeConnection(_LoopbackTransport(serverToClient))
    client.makeConnection(_LoopbackTransport(clientToServer))
    return _pumpLoop(server, serverToClient, client, clientToServer, pumpPolicy, getReactor(clock))


def _pumpLoop(
    server: Any,
    serverToClient: _LoopbackQueue,
    client: Any,
    clientToServer: _LoopbackQueue,
    pumpPolicy: PumpPolicy,
    clock: Any,
) -> Deferred[None]:
    def pump(source: Any, queue: _LoopbackQueue, target: Any) -> bool:
        if not queue:
            return False
        pumpPolicy(queue, target)
        if not queue:
            # That side's buffer drained: a pull producer may write more.
            source.transport._pollProducer()
        return True

    while True:
        serverSent = pump(server, serverToClient, client)
        clientSent = pump(client, clientToServer, server)
        if serverToClient.disconnected() or clientToServer.disconnected():
            server.connectionLost(Failure(error.ConnectionDone("Connection done")))
            client.connectionLost(Failure(error.ConnectionDone("Connection done")))
            return succeed(None)
        if not serverSent and not clientSent:
            return _waitForWrites(server, serverToClient, client, clientToServer, pumpPolicy, clock)


def _waitForWrites(
    server: Any,
    serverToClient: _LoopbackQueue,
    client: Any,
    clientToServer: _LoopbackQueue,
    pumpPolicy: PumpPolicy,
    clock: Any,
) -> Deferred[None]:
    """Nothing to move: wait for a write, then pump again on a later reactor turn (a real
    transport never re-enters dataReceived from inside write)."""
    written: Deferred[None] = Deferred()
    clientToServer._notify = written
    serverToClient._notify = written
    done: Deferred[None] = Deferred()

    def again() -> None:
        _pumpLoop(server, serverToClient, client, clientToServer, pumpPolicy, clock).chainDeferred(
            done
        )

    def resume(_: None) -> None:
        clientToServer._notify = None
        serverToClient._notify = None
        clock.callLater(0, again)

    written.addCallback(resume)
    return done


class LoopbackClientFactory(ClientFactory):
    """Connects one given protocol and fires :attr:`deferred` when its connection ends
    (or errbacks it if the connection cannot be made)."""

    noisy = False

    def __init__(self, protocol: Any) -> None:
        self.disconnected = 0
        self.deferred: Deferred[None] = Deferred()
        self.protocol = protocol

    def buildProtocol(self, addr: Any) -> Any:
        return self.protocol

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.disconnected = 1
        self.deferred.callback(None)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.deferred.errback(reason)


class _FireOnClose(ProtocolWrapper):
    """Passes everything to the server protocol and fires :attr:`deferred` when it is lost."""

    def __init__(self, factory: Any, protocol: Any) -> None:
        super().__init__(factory, protocol)
        self.deferred: Deferred[None] = Deferred()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        self.deferred.callback(None)


def _loopbackOverSocket(
    server: Any, client: Any, listen: Any, connect: Any, noisy: bool
) -> Deferred[None]:
    f = WrappingFactory(Factory())
    serverWrapper = _FireOnClose(f, server)
    f.noisy = noisy
    f.buildProtocol = lambda addr: serverWrapper  # type: ignore[method-assign]
    serverPort = listen(f)
    clientF = LoopbackClientFactory(client)
    clientF.noisy = noisy
    connect(serverPort, clientF)
    d = clientF.deferred
    d.addCallback(lambda _: serverWrapper.deferred)
    d.addCallback(lambda _: serverPort.stopListening())
    return d


def loopbackTCP(
    server: Any, client: Any, port: int = 0, noisy: bool = True, reactor: Any = None
) -> Deferred[None]:
    """Connect ``server`` and ``client`` over a real TCP connection on 127.0.0.1.

    :param port: the port to listen on (0: any free one).
    :param reactor: the reactor to use (the global one by default).
    :return: a Deferred that fires once both sides are disconnected and the port closed.
    """
    reactor = getReactor(reactor)
    return _loopbackOverSocket(
        server,
        client,
        lambda f: reactor.listenTCP(port, f, interface="127.0.0.1"),
        lambda p, f: reactor.connectTCP("127.0.0.1", p.getHost().port, f),
        noisy,
    )


def loopbackUNIX(
    server: Any, client: Any, noisy: bool = True, reactor: Any = None
) -> Deferred[None]:
    """Connect ``server`` and ``client`` over a Unix socket in a fresh temporary directory.

    :param reactor: the reactor to use (the global one by default).
    :return: a Deferred that fires once both sides are disconnected and the socket closed.
    """
    import os
    import shutil
    import tempfile

    reactor = getReactor(reactor)
    directory = tempfile.mkdtemp(prefix="glisten-loopback-")
    path = os.path.join(directory, "sock")
    d = _loopbackOverSocket(
        server,
        client,
        lambda f: reactor.listenUNIX(path, f),
        lambda p, f: reactor.connectUNIX(path, f),
        noisy,
    )

    def cleanup(result: Any) -> Any:
        shutil.rmtree(directory, ignore_errors=True)
        return result

    return d.addBoth(cleanup)
