"""Twisted's ``TCPServer``/``TCPClient``-style services, built on reactor calls.

``TCPServer(port, factory)`` listens with ``reactor.listenTCP(port, factory)`` while running;
``TCPClient(host, port, factory)`` connects with ``reactor.connectTCP``. They exist so older
``.tac`` files run unchanged; new code should use endpoints and
:class:`~glisten.application.internet.StreamServerEndpointService`.
"""

from __future__ import annotations

from typing import Any

from glisten.internet.main import getReactor

from .service import Service


class _AbstractServer(Service):
    """Calls ``reactor.listen<KIND>(*args, **kwargs)`` on start and stops listening on stop."""

    method = ""
    reactor: Any = None
    _port: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        if "reactor" in kwargs:
            self.reactor = kwargs.pop("reactor")
        self.kwargs = kwargs

    def privilegedStartService(self) -> None:
        Service.privilegedStartService(self)
        self._port = self._getPort()

    def startService(self) -> None:
        Service.startService(self)
        if self._port is None:
            self._port = self._getPort()

    def stopService(self) -> Any:
        Service.stopService(self)
        if self._port is not None:
            d = self._port.stopListening()
            self._port = None
            return d
        return None

    def _getPort(self) -> Any:
        reactor = getReactor(self.reactor)
        return getattr(reactor, f"listen{self.method}")(*self.args, **self.kwargs)


class _AbstractClient(Service):
    """Calls ``reactor.connect<KIND>(*args, **kwargs)`` on start, disconnects on stop."""

    method = ""
    reactor: Any = None
    _connection: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        if "reactor" in kwargs:
            self.reactor = kwargs.pop("reactor")
        self.kwargs = kwargs

    def startService(self) -> None:
        Service.startService(self)
        reactor = getReactor(self.reactor)
        self._connection = getattr(reactor, f"connect{self.method}")(*self.args, **self.kwargs)

    def stopService(self) -> Any:
        Service.stopService(self)
        if self._connection is not None:
            self._connection.disconnect()
            self._connection = None
        return None


class TCPServer(_AbstractServer):
    """``TCPServer(port, factory, backlog=50, interface='')``: ``reactor.listenTCP``."""

    method = "TCP"


class UNIXServer(_AbstractServer):
    """``UNIXServer(address, factory, ...)``: ``reactor.listenUNIX``."""

    method = "UNIX"


class SSLServer(_AbstractServer):
    """``SSLServer(port, factory, contextFactory, ...)``: ``reactor.listenSSL``."""

    method = "SSL"


class UDPServer(_AbstractServer):
    """``UDPServer(port, protocol, interface='', maxPacketSize=8192)``: ``reactor.listenUDP``."""

    method = "UDP"


class UNIXDatagramServer(_AbstractServer):
    """``UNIXDatagramServer(address, protocol, ...)``: ``reactor.listenUNIXDatagram``."""

    method = "UNIXDatagram"


class TCPClient(_AbstractClient):
    """``TCPClient(host, port, factory, timeout=30)``: ``reactor.connectTCP``."""

    method = "TCP"


class UNIXClient(_AbstractClient):
    """``UNIXClient(address, factory, ...)``: ``reactor.connectUNIX``."""

    method = "UNIX"


class SSLClient(_AbstractClient):
    """``SSLClient(host, port, factory, contextFactory, ...)``: ``reactor.connectSSL``."""

    method = "SSL"
