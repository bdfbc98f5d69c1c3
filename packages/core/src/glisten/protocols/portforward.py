"""A TCP port forwarder: :class:`ProxyFactory` listens and relays each connection to a fixed
host and port.

Flow control runs both ways: each side's transport is registered as the streaming producer of
the other, so a fast sender is paused while the slow receiver's buffer is full, and the
proxy's memory stays bounded.
"""

from __future__ import annotations

from typing import Any

from glisten.internet.main import getReactor
from glisten.internet.protocol import ClientFactory, Factory, Protocol, connectionDone
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = ["Proxy", "ProxyClient", "ProxyClientFactory", "ProxyFactory", "ProxyServer"]

_log = Logger()


class Proxy(Protocol):
    """One side of the relay; ``peer`` is the other side."""

    noisy = True
    peer: Proxy | None = None

    def setPeer(self, peer: Proxy) -> None:
        self.peer = peer

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.peer is not None:
            peer, self.peer = self.peer, None
            if peer.transport is not None:
                peer.transport.loseConnection()
        elif self.noisy:
            _log.info("Unable to connect to peer: {reason}", reason=reason)

    def dataReceived(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)


class ProxyClient(Proxy):
    """The connection to the target."""

    def connectionMade(self) -> None:
        assert self.peer is not None
        self.peer.setPeer(self)
        # Each transport throttles the other (backpressure in both directions).
        self.transport.registerProducer(self.peer.transport, True)
        self.peer.transport.registerProducer(self.transport, True)
        # Connected: let the client's data flow now.
        self.peer.transport.resumeProducing()


class ProxyClientFactory(ClientFactory):
    """Builds the :class:`ProxyClient` for one server-side connection."""

    protocol = ProxyClient
    server: ProxyServer

    def setServer(self, server: ProxyServer) -> None:
        self.server = server

    def buildProtocol(self, addr: Any) -> Any:
        prot = ClientFactory.buildProtocol(self, addr)
        prot.setPeer(self.server)
        return prot

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.server.transport.loseConnection()


class ProxyServer(Proxy):
    """An accepted connection: connects to the target and relays.

    :ivar reactor: used for ``connectTCP`` (default: the global reactor).
    """

    clientProtocolFactory: Any = ProxyClientFactory
    reactor: Any = None

    def connectionMade(self) -> None:
        # Read nothing from the client until there is somewhere to send it.
        self.transport.pauseProducing()
        client = self.clientProtocolFactory()
        client.setServer(self)
        reactor = self.reactor
        if reactor is None:
            reactor = getattr(self.factory, "reactor", None)
        getReactor(reactor).connectTCP(self.factory.host, self.factory.port, client)


class ProxyFactory(Factory):
    """Listens and forwards every connection to ``host``:``port``.

    :param reactor: the reactor for outgoing connections (default: the global one).
    """

    protocol = ProxyServer

    def __init__(self, host: str, port: int, reactor: Any = None) -> None:
        self.host = host
        self.port = port
        self.reactor = reactor
