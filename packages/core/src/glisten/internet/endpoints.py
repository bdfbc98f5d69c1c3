"""Endpoints: where to listen and where to connect, as objects and as strings.

An endpoint turns "listen on TCP port 8080" or "connect to example.com:443 over verified
TLS" into one object with ``listen(factory)`` or ``connect(factory)`` returning a Deferred;
:func:`serverFromString` and :func:`clientFromString` build them from strings such as
``tcp:8080:interface=127.0.0.1``, ``unix:/run/app.sock:mode=660``,
``ssl:8443:privateKey=key.pem:certKey=cert.pem``, ``systemd:domain=INET:index=0``,
``haproxy:tcp:8080`` or ``tls:example.com:443``. In strings, ``:`` separates fields and
``\\`` escapes the next character. Other packages add endpoint types through the entry-point
group ``glisten.endpoints`` (entry name = the prefix; object with ``parseStreamServer`` and/or
``parseStreamClient``). A malformed string raises :class:`ValueError` naming the bad field.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from zope.interface import alsoProvides, implementer

from ..logger import Logger
from . import defer
from .error import ConnectingCancelledError, DNSLookupError, NoProtocol
from .interfaces import (
    IFileDescriptorReceiver,
    IHalfCloseableProtocol,
    IHandshakeListener,
    IStreamClientEndpoint,
    IStreamServerEndpoint,
)

_log = Logger()

ENDPOINT_PLUGIN_GROUP = "glisten.endpoints"


# ------------------------------------------------------------------ wrapping client factories


class _WrappingProtocol:
    """Fires the connect Deferred when the connection is made, then forwards everything."""

    def __init__(self, connectedDeferred: defer.Deferred[Any], wrappedProtocol: Any) -> None:
        self._connectedDeferred = connectedDeferred
        self._wrappedProtocol = wrappedProtocol
        self._discarded = False
        self.transport: Any = None
        for iface in (IHalfCloseableProtocol, IFileDescriptorReceiver, IHandshakeListener):
            if iface.providedBy(wrappedProtocol):
                alsoProvides(self, iface)

    def logPrefix(self) -> str:
        prefix = getattr(self._wrappedProtocol, "logPrefix", None)
        return str(prefix()) if prefix is not None else type(self._wrappedProtocol).__name__

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        if self._connectedDeferred.called:
            # The attempt was cancelled (another attempt won, or the caller gave up) but the
            # connection got through anyway: nobody wants it.
            self._discarded = True
            self.transport.loseConnection()
            return
        self._wrappedProtocol.makeConnection(self.transport)
        self._connectedDeferred.callback(self._wrappedProtocol)

    def dataReceived(self, data: bytes) -> None:
        if not self._discarded:
            self._wrappedProtocol.dataReceived(data)

    def fileDescriptorReceived(self, descriptor: int) -> None:
        if not self._discarded:
            self._wrappedProtocol.fileDescriptorReceived(descriptor)

    def connectionLost(self, reason: Any) -> None:
        if not self._discarded:
            self._wrappedProtocol.connectionLost(reason)

    def readConnectionLost(self) -> None:
        if not self._discarded:
            self._wrappedProtocol.readConnectionLost()

    def writeConnectionLost(self) -> None:
        if not self._discarded:
            self._wrappedProtocol.writeConnectionLost()

    def handshakeCompleted(self) -> None:
        if not self._discarded:
            self._wrappedProtocol.handshakeCompleted()


class _WrappingFactory:
    """A client factory whose ``_onConnection`` Deferred fires with the connected protocol."""

    protocol = _WrappingProtocol
    noisy = False

    def __init__(self, wrappedFactory: Any) -> None:
        self._wrappedFactory = wrappedFactory
        self._connector: Any = None
        self._onConnection: defer.Deferred[Any] = defer.Deferred(self._canceller)

    def _canceller(self, d: defer.Deferred[Any]) -> None:
        connector = self._connector
        destination: Any = connector.getDestination() if connector is not None else None
        d.errback(ConnectingCancelledError(destination))
        if connector is not None:
            try:
                connector.stopConnecting()
            except Exception:
                pass

    def logPrefix(self) -> str:
        prefix = getattr(self._wrappedFactory, "logPrefix", None)
        return str(prefix()) if prefix is not None else type(self._wrappedFactory).__name__

    def doStart(self) -> None:
        self._wrappedFactory.doStart()

    def doStop(self) -> None:
        self._wrappedFactory.doStop()

    def startedConnecting(self, connector: Any) -> None:
        self._connector = connector

    def buildProtocol(self, addr: Any) -> Any:
        try:
            proto = self._wrappedFactory.buildProtocol(addr)
            if proto is None:
                raise NoProtocol()
        except BaseException:
            if not self._onConnection.called:
                self._onConnection.errback()
            return None
        return self.protocol(self._onConnection, proto)

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        if not self._onConnection.called:
            self._onConnection.errback(reason)

    def clientConnectionLost(self, connector: Any, reason: Any) -> None:
        pass


def _listenWith(call: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
    return defer.maybeDeferred(call, *args, **kwargs)


def _connectWith(
    call: Callable[..., Any], factory: Any, *args: Any, **kwargs: Any
) -> defer.Deferred[Any]:
    wrapping = _WrappingFactory(factory)
    try:
        call(*args, wrapping, **kwargs)
    except BaseException:
        return defer.fail()
    return wrapping._onConnection


# ------------------------------------------------------------------ TCP


@implementer(IStreamServerEndpoint)
class TCP4ServerEndpoint:
    """Listens on an IPv4 TCP port (``interface`` ``""`` means every IPv4 address)."""

    _interface = ""

    def __init__(self, reactor: Any, port: int, backlog: int = 50, interface: str = "") -> None:
        self._reactor = reactor
        self._port = port
        self._backlog = backlog
        self._interface = interface or self._interface

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._interface or '*'}:{self._port}>"

    def listen(self, protocolFactory: Any) -> defer.Deferred[Any]:
        return _listenWith(
            self._reactor.listenTCP,
            self._port,
            protocolFactory,
            backlog=self._backlog,
            interface=self._interface,
        )


class TCP6ServerEndpoint(TCP4ServerEndpoint):
    """Listens on an IPv6 TCP port (``interface`` ``"::"`` by default)."""

    _interface = "::"

    def __init__(self, reactor: Any, port: int, backlog: int = 50, interface: str = "::") -> None:
        super().__init__(reactor, port, backlog, interface)


@implementer(IStreamClientEndpoint)
class TCP4ClientEndpoint:
    """Connects over TCP to ``host`` (an address, or a name the reactor resolves)."""

    def __init__(
        self,
        reactor: Any,
        host: str,
        port: int,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> None:
        self._reactor = reactor
        self._host = host
        self._port = port
        self._timeout = timeout
        self._bindAddress = bindAddress

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._host}:{self._port}>"

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        return _connectWith(
            self._reactor.connectTCP,
            protocolFactory,
            self._host,
            self._port,
            timeout=self._timeout,
            bindAddress=self._bindAddress,
        )


class TCP6ClientEndpoint(TCP4ClientEndpoint):
    """Connects over TCP to an IPv6 address (names are resolved to IPv6 addresses only)."""

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        if _isIPv6(self._host):
            return super().connect(protocolFactory)
        resolved = _resolve(self._reactor, self._host, self._port, family=socket.AF_INET6)

        def connectTo(addresses: list[Any]) -> defer.Deferred[Any]:
            if not addresses:
                raise DNSLookupError(f"no IPv6 address for {self._host}")
            endpoint = TCP6ClientEndpoint(
                self._reactor, addresses[0].host, self._port, self._timeout, self._bindAddress
            )
            return endpoint.connect(protocolFactory)

        return resolved.addCallback(connectTo)


# ------------------------------------------------------------------ Unix


@implementer(IStreamServerEndpoint)
class UNIXServerEndpoint:
    """Listens on a Unix socket.

    :param mode: permissions of the socket file.
    :param wantPID: keep a ``.lock`` file holding the pid next to the socket, so a second
        server does not steal a live socket and a stale socket is replaced.
    """

    def __init__(
        self,
        reactor: Any,
        address: str,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: int = 0,
    ) -> None:
        self._reactor = reactor
        self._address = address
        self._backlog = backlog
        self._mode = mode
        self._wantPID = wantPID

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._address}>"

    def listen(self, protocolFactory: Any) -> defer.Deferred[Any]:
        return _listenWith(
            self._reactor.listenUNIX,
            self._address,
            protocolFactory,
            backlog=self._backlog,
            mode=self._mode,
            wantPID=self._wantPID,
        )


@implementer(IStreamClientEndpoint)
class UNIXClientEndpoint:
    """Connects to a Unix socket (``checkPID``: refuse if its lock file names a dead pid)."""

    def __init__(self, reactor: Any, path: str, timeout: float = 30, checkPID: int = 0) -> None:
        self._reactor = reactor
        self._path = path
        self._timeout = timeout
        self._checkPID = checkPID

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._path}>"

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        return _connectWith(
            self._reactor.connectUNIX,
            protocolFactory,
            self._path,
            timeout=self._timeout,
            checkPID=self._checkPID,
        )


# ------------------------------------------------------------------ adopted sockets, stdio


@implementer(IStreamServerEndpoint)
class AdoptedStreamServerEndpoint:
    """Listens on a socket this process already has (from systemd, say).

    The reactor duplicates the descriptor; this endpoint then closes the original, so the
    socket is owned by the listening port alone. It can therefore listen only once.
    """

    _close = staticmethod(os.close)
    _setNonBlocking = staticmethod(os.set_blocking)

    def __init__(self, reactor: Any, fileno: int, addressFamily: int) -> None:
        self._reactor = reactor
        self.fileno = fileno
        self.addressFamily = addressFamily
        self._used = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fileno}>"

    def listen(self, factory: Any) -> defer.Deferred[Any]:
        from .error import AlreadyListened

        if self._used:
            return defer.fail(AlreadyListened())
        self._used = True
        try:
            self._setNonBlocking(self.fileno, False)
            port = self._reactor.adoptStreamPort(self.fileno, self.addressFamily, factory)
            self._close(self.fileno)
        except BaseException:
            return defer.fail()
        return defer.succeed(port)


class _StdioAddress:
    """The address of standard input/output (there is nothing more to say about it)."""

    def __repr__(self) -> str:
        return "<StandardIO>"


@implementer(IStreamServerEndpoint)
class StandardIOEndpoint:
    """ "Listens" on standard input and output: one connection, the process's own stdio."""

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor

    def listen(self, stdioProtocolFactory: Any) -> defer.Deferred[Any]:
        from .stdio import StandardIO

        def start() -> Any:
            protocol = stdioProtocolFactory.buildProtocol(_StdioAddress())
            return StandardIO(protocol, reactor=self._reactor)

        return defer.maybeDeferred(start)


# ------------------------------------------------------------------ TLS


@implementer(IStreamServerEndpoint)
class SSL4ServerEndpoint:
    """Listens on a TCP port with TLS (``sslContextFactory``: server TLS options)."""

    def __init__(
        self,
        reactor: Any,
        port: int,
        sslContextFactory: Any,
        backlog: int = 50,
        interface: str = "",
    ) -> None:
        self._reactor = reactor
        self._port = port
        self._sslContextFactory = sslContextFactory
        self._backlog = backlog
        self._interface = interface

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._interface or '*'}:{self._port}>"

    def _proxied(self, proxyFactory: Callable[..., Any]) -> _WrapperServerEndpoint:
        """This endpoint with a clear-text layer (a PROXY header) in front of TLS."""
        from ..protocols.tls import TLSMemoryBIOFactory

        def wrap(factory: Any) -> Any:
            tlsFactory = TLSMemoryBIOFactory(self._sslContextFactory, False, factory)
            return proxyFactory(tlsFactory, clock=self._reactor)

        tcp = TCP4ServerEndpoint(self._reactor, self._port, self._backlog, self._interface)
        return _WrapperServerEndpoint(tcp, wrap)

    def listen(self, protocolFactory: Any) -> defer.Deferred[Any]:
        listenSSL = getattr(self._reactor, "listenSSL", None)
        if listenSSL is not None:
            return _listenWith(
                listenSSL,
                self._port,
                protocolFactory,
                self._sslContextFactory,
                backlog=self._backlog,
                interface=self._interface,
            )
        from ..protocols.tls import TLSMemoryBIOFactory

        tlsFactory = TLSMemoryBIOFactory(self._sslContextFactory, False, protocolFactory)
        return _listenWith(
            self._reactor.listenTCP,
            self._port,
            tlsFactory,
            backlog=self._backlog,
            interface=self._interface,
        )


@implementer(IStreamClientEndpoint)
class SSL4ClientEndpoint:
    """Connects over TCP with TLS (``sslContextFactory``: client TLS options)."""

    def __init__(
        self,
        reactor: Any,
        host: str,
        port: int,
        sslContextFactory: Any,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> None:
        self._reactor = reactor
        self._host = host
        self._port = port
        self._sslContextFactory = sslContextFactory
        self._timeout = timeout
        self._bindAddress = bindAddress

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        connectSSL = getattr(self._reactor, "connectSSL", None)
        if connectSSL is not None:
            return _connectWith(
                connectSSL,
                protocolFactory,
                self._host,
                self._port,
                contextFactory=self._sslContextFactory,
                timeout=self._timeout,
                bindAddress=self._bindAddress,
            )
        return wrapClientTLS(
            self._sslContextFactory,
            TCP4ClientEndpoint(
                self._reactor, self._host, self._port, self._timeout, self._bindAddress
            ),
        ).connect(protocolFactory)


@implementer(IStreamClientEndpoint)
class _WrapperEndpoint:
    """A client endpoint that wraps each factory (in TLS, say) before connecting."""

    def __init__(self, wrappedEndpoint: Any, wrapperFactory: Callable[[Any], Any]) -> None:
        self._wrappedEndpoint = wrappedEndpoint
        self._wrapperFactory = wrapperFactory

    def connect(self, fac: Any) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = self._wrappedEndpoint.connect(self._wrapperFactory(fac))
        return d.addCallback(lambda protocol: protocol.wrappedProtocol)


@implementer(IStreamServerEndpoint)
class _WrapperServerEndpoint:
    """A server endpoint that wraps each factory (for PROXY headers, say) before listening."""

    def __init__(self, wrappedEndpoint: Any, wrapperFactory: Callable[[Any], Any]) -> None:
        self._wrappedEndpoint = wrappedEndpoint
        self._wrapperFactory = wrapperFactory

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._wrappedEndpoint!r}>"

    def listen(self, factory: Any) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = self._wrappedEndpoint.listen(self._wrapperFactory(factory))
        return d


def wrapClientTLS(connectionCreator: Any, wrappedEndpoint: Any) -> _WrapperEndpoint:
    """An endpoint that connects with ``wrappedEndpoint`` and then speaks TLS over it.

    :param connectionCreator: client TLS options, normally from
        :func:`glisten.internet.ssl.optionsForClientTLS` (which verifies the server).
    :return: an endpoint whose ``connect`` fires with the application protocol.
    """
    from ..protocols.tls import TLSMemoryBIOFactory

    return _WrapperEndpoint(
        wrappedEndpoint, lambda factory: TLSMemoryBIOFactory(connectionCreator, True, factory)
    )


# ------------------------------------------------------------------ names and happy eyeballs


def _isIPv4(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


def _isIPv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).version == 6
    except ValueError:
        return False


def _idnaHost(host: str | bytes) -> str:
    if isinstance(host, bytes):
        return host.decode("ascii")
    if host.isascii():
        return host
    import idna

    return idna.encode(host, uts46=True).decode("ascii")


class _ResolutionCollector:
    """An ``IResolutionReceiver`` collecting every address into a Deferred."""

    def __init__(self) -> None:
        self.addresses: list[Any] = []
        self.deferred: defer.Deferred[list[Any]] = defer.Deferred()
        self.resolution: Any = None

    def resolutionBegan(self, resolutionInProgress: Any) -> None:
        self.resolution = resolutionInProgress

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        if not self.deferred.called:
            self.deferred.callback(self.addresses)


def _resolve(
    reactor: Any, host: str, port: int, family: int | None = None
) -> defer.Deferred[list[Any]]:
    """Resolve ``host`` with the reactor's name resolver; fires with IPv4/IPv6 addresses."""
    from .address import IPv4Address, IPv6Address

    addressTypes: list[type] | None = None
    if family == socket.AF_INET6:
        addressTypes = [IPv6Address]
    elif family == socket.AF_INET:
        addressTypes = [IPv4Address]
    resolver = getattr(reactor, "nameResolver", None)
    if resolver is None:
        # A reactor without the pluggable resolver: its single-address ``resolve``.
        d: defer.Deferred[Any] = reactor.resolve(host)
        return d.addCallback(lambda ip: [IPv4Address("TCP", ip, port)])
    collector = _ResolutionCollector()
    try:
        resolver.resolveHostName(collector, host, port, addressTypes, "TCP")
    except BaseException:
        return defer.fail()
    return collector.deferred


def _interleave(addresses: Sequence[Any]) -> list[Any]:
    """Order addresses as RFC 8305 section 4 says: alternate families, first family first."""
    from .address import IPv6Address

    seen: set[tuple[str, int]] = set()
    unique = []
    for address in addresses:
        key = (address.host, address.port)
        if key not in seen:
            seen.add(key)
            unique.append(address)
    if not unique:
        return []
    firstIsV6 = isinstance(unique[0], IPv6Address)
    primary = [a for a in unique if isinstance(a, IPv6Address) == firstIsV6]
    secondary = [a for a in unique if isinstance(a, IPv6Address) != firstIsV6]
    ordered: list[Any] = []
    for i in range(max(len(primary), len(secondary))):
        if i < len(primary):
            ordered.append(primary[i])
        if i < len(secondary):
            ordered.append(secondary[i])
    return ordered


@implementer(IStreamClientEndpoint)
class HostnameEndpoint:
    """Connects to a host name over TCP, racing its addresses as RFC 8305 describes.

    All addresses are resolved first, ordered alternating IPv6 and IPv4 (starting with the
    family the resolver put first); a new attempt starts every ``attemptDelay`` seconds, or at
    once when the previous attempt fails, and the first connection to succeed wins while the
    others are cancelled.

    :param host: a name (text is IDNA-encoded) or an address literal.
    :param timeout: the timeout of each connection attempt.
    :param bindAddress: the local ``(host, port)`` to connect from.
    :param attemptDelay: RFC 8305's "Connection Attempt Delay" (250 ms by default).
    """

    _DEFAULT_ATTEMPT_DELAY = 0.25

    def __init__(
        self,
        reactor: Any,
        host: str | bytes,
        port: int,
        timeout: float = 30,
        bindAddress: tuple[str, int] | bytes | str | None = None,
        attemptDelay: float | None = None,
    ) -> None:
        self._reactor = reactor
        self._hostText = host.decode("ascii") if isinstance(host, bytes) else host
        self._hostStr = _idnaHost(host)
        self._port = port
        self._timeout = timeout
        if isinstance(bindAddress, bytes):
            bindAddress = bindAddress.decode("ascii")
        if isinstance(bindAddress, str):
            bindAddress = (bindAddress, 0)
        self._bindAddress = bindAddress
        self._attemptDelay = self._DEFAULT_ATTEMPT_DELAY if attemptDelay is None else attemptDelay

    def __repr__(self) -> str:
        host = f"[{self._hostText}]" if _isIPv6(self._hostText) else self._hostText
        return f"<HostnameEndpoint {host}:{self._port}>"

    def _endpointFor(self, address: Any) -> Any:
        from .address import IPv6Address

        cls = TCP6ClientEndpoint if isinstance(address, IPv6Address) else TCP4ClientEndpoint
        return cls(self._reactor, address.host, address.port, self._timeout, self._bindAddress)

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        from .address import HostnameAddress, IPv4Address, IPv6Address

        host = self._hostStr
        if _isIPv4(host):
            resolved: defer.Deferred[list[Any]] = defer.succeed(
                [IPv4Address("TCP", host, self._port)]
            )
        elif _isIPv6(host):
            resolved = defer.succeed([IPv6Address("TCP", host, self._port)])
        else:
            resolved = _resolve(self._reactor, host, self._port)
        race = _Race(self, protocolFactory, HostnameAddress(host.encode("ascii"), self._port))
        return race.start(resolved)


class _Race:
    """One happy-eyeballs connection race."""

    def __init__(self, endpoint: HostnameEndpoint, factory: Any, address: Any) -> None:
        self._endpoint = endpoint
        self._factory = factory
        self._address = address
        self._queue: list[Any] = []
        self._pending: list[defer.Deferred[Any]] = []
        self._resolving: defer.Deferred[list[Any]] | None = None
        self._timer: Any = None
        self._done = False
        self._result: defer.Deferred[Any] = defer.Deferred(self._cancel)

    def start(self, resolving: defer.Deferred[list[Any]]) -> defer.Deferred[Any]:
        self._resolving = resolving
        resolving.addCallbacks(self._resolved, self._resolutionFailed)
        return self._result

    def _resolved(self, addresses: list[Any]) -> None:
        self._resolving = None
        if self._done:
            return
        self._queue = _interleave(addresses)
        if not self._queue:
            self._done = True
            hostname = self._address.hostname.decode("ascii")
            self._result.errback(DNSLookupError(f"no results for hostname lookup: {hostname}"))
            return
        self._startNext()

    def _resolutionFailed(self, failure: Any) -> None:
        self._resolving = None
        if not self._done:
            self._done = True
            self._result.errback(failure)

    def _cancel(self, d: defer.Deferred[Any]) -> None:
        self._done = True
        self._stopTimer()
        pending, self._pending = self._pending, []
        for attempt in pending:
            attempt.cancel()
        resolving, self._resolving = self._resolving, None
        if resolving is not None and not resolving.called:
            resolving.cancel()
        d.errback(ConnectingCancelledError(self._address))

    def _stopTimer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _startNext(self) -> None:
        self._timer = None
        if self._done or not self._queue:
            return
        address = self._queue.pop(0)
        attempt = self._endpoint._endpointFor(address).connect(self._factory)
        self._pending.append(attempt)
        attempt.addCallbacks(self._won, self._lost, errbackArgs=(attempt,))
        if self._queue and not self._done:
            self._timer = self._endpoint._reactor.callLater(
                self._endpoint._attemptDelay, self._startNext
            )

    def _won(self, protocol: Any) -> None:
        if self._done:
            protocol.transport.loseConnection()
            return
        self._done = True
        self._stopTimer()
        pending, self._pending = self._pending, []
        for other in pending:
            if not other.called:
                other.cancel()
        self._result.callback(protocol)

    def _lost(self, failure: Any, attempt: defer.Deferred[Any]) -> None:
        if attempt in self._pending:
            self._pending.remove(attempt)
        if self._done:
            return
        if self._queue:
            self._stopTimer()
            self._startNext()
        elif not self._pending:
            self._done = True
            self._result.errback(failure)


# ------------------------------------------------------------------ processes


class StandardErrorBehavior:
    """What :class:`ProcessEndpoint` does with the child's standard error."""

    LOG = "log"
    DROP = "drop"


class _ProcessAddress:
    """The address of a child process's end of its pipes."""

    def __repr__(self) -> str:
        return "<ProcessAddress>"


class _WrapIProtocol:
    """Adapts a stream protocol to a process: stdout is its data, stdin its writes."""

    def __init__(self, proto: Any, executable: str, errFlag: str) -> None:
        self.protocol = proto
        self.executable = executable
        self.errFlag = errFlag
        self.transport: Any = None

    def makeConnection(self, process: Any) -> None:
        self.transport = process
        self.protocol.makeConnection(process)

    def connectionMade(self) -> None:
        pass

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == 1:
            self.protocol.dataReceived(data)
        elif childFD == 2 and self.errFlag == StandardErrorBehavior.LOG:
            _log.error(
                "Process {executable} wrote to stderr: {data!r}",
                executable=self.executable,
                data=data,
            )

    def childConnectionLost(self, childFD: int) -> None:
        pass

    def processExited(self, reason: Any) -> None:
        pass

    def processEnded(self, reason: Any) -> None:
        from ..python.failure import Failure
        from .error import ConnectionDone, ProcessDone

        if reason.check(ProcessDone) and getattr(reason.value, "status", 0) == 0:
            self.protocol.connectionLost(Failure(ConnectionDone()))
        else:
            self.protocol.connectionLost(reason)


@implementer(IStreamClientEndpoint)
class ProcessEndpoint:
    """ "Connects" by running a program: its stdin/stdout become the connection."""

    def __init__(
        self,
        reactor: Any,
        executable: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        path: str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool = False,
        childFDs: Mapping[int, Any] | None = None,
        errFlag: str = StandardErrorBehavior.LOG,
    ) -> None:
        self._reactor = reactor
        self._executable = executable
        self._args = list(args)
        self._env = dict(env) if env is not None else {}
        self._path = path
        self._uid = uid
        self._gid = gid
        self._usePTY = usePTY
        self._childFDs = childFDs
        self._errFlag = errFlag

    def connect(self, protocolFactory: Any) -> defer.Deferred[Any]:
        def spawn() -> Any:
            proto = protocolFactory.buildProtocol(_ProcessAddress())
            if proto is None:
                raise NoProtocol()
            self._reactor.spawnProcess(
                _WrapIProtocol(proto, self._executable, self._errFlag),
                self._executable,
                self._args,
                self._env,
                self._path,
                self._uid,
                self._gid,
                self._usePTY,
                self._childFDs,
            )
            return proto

        return defer.maybeDeferred(spawn)


# ------------------------------------------------------------------ helpers


def connectProtocol(endpoint: Any, protocol: Any) -> defer.Deferred[Any]:
    """Connect ``endpoint`` with an already built ``protocol``.

    :return: a Deferred firing with ``protocol`` once connected.
    """

    class OneShotFactory:
        noisy = False

        def doStart(self) -> None:
            pass

        def doStop(self) -> None:
            pass

        def buildProtocol(self, addr: Any) -> Any:
            return protocol

    d: defer.Deferred[Any] = endpoint.connect(OneShotFactory())
    return d


# ------------------------------------------------------------------ description strings


def quoteStringArgument(argument: str) -> str:
    """Escape ``argument`` so it can be one field of an endpoint description.

    Escapes ``=`` too (Twisted does not, so a path containing ``=`` became a key there).
    """
    return argument.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def _tokenize(description: str) -> list[tuple[str, str | None]]:
    """Split a description into fields: ``(text, None)`` or ``(key, value)`` for ``key=value``.

    ``\\`` escapes the next character (so ``\\:`` and ``\\=`` are literal).
    """
    fields: list[tuple[str, str | None]] = []
    current: list[str] = []
    key: str | None = None
    escaped = False
    for char in description:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields.append((key, "".join(current)) if key is not None else ("".join(current), None))
            current, key = [], None
        elif char == "=" and key is None:
            key, current = "".join(current), []
        else:
            current.append(char)
    if escaped:
        raise ValueError("endpoint description ends with a lone backslash")
    fields.append((key, "".join(current)) if key is not None else ("".join(current), None))
    return fields


def _splitPrefix(description: str) -> tuple[str, str]:
    """The text before the first unescaped ``:`` and the raw text after it."""
    escaped = False
    for index, char in enumerate(description):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            return description[:index], description[index + 1 :]
    return description, ""


class _Fields:
    """The fields of one description, checked against the names its type accepts."""

    def __init__(
        self, kind: str, fields: list[tuple[str, str | None]], names: Sequence[str]
    ) -> None:
        self.kind = kind
        self.values: dict[str, str] = {}
        positional = [text for text, value in fields if value is None]
        while positional and positional[-1] == "":
            positional.pop()
        if len(positional) > len(names):
            expected = ", ".join(names) or "none"
            raise ValueError(
                f"{kind} endpoint: too many positional fields ({len(positional)}); "
                f"the fields are: {expected}"
            )
        for name, text in zip(names, positional, strict=False):
            self.values[name] = text
        for key, value in fields:
            if value is None:
                continue
            if key not in names:
                known = ", ".join(names) or "none"
                raise ValueError(f"{kind} endpoint: unknown field {key!r} (known fields: {known})")
            if key in self.values:
                raise ValueError(f"{kind} endpoint: field {key!r} given twice")
            self.values[key] = value

    def error(self, name: str, why: str) -> ValueError:
        return ValueError(f"{self.kind} endpoint: field {name!r}: {why}")

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def require(self, name: str) -> str:
        value = self.values.get(name)
        if value is None or value == "":
            raise ValueError(f"{self.kind} endpoint: missing field {name!r}")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        raw = self.values.get(name)
        if raw is None:
            return default
        if not raw.isascii() or not raw.isdigit():
            raise self.error(name, f"expected a whole number, not {raw!r}")
        value = int(raw)
        if not minimum <= value <= maximum:
            raise self.error(name, f"{value} is not between {minimum} and {maximum}")
        return value

    def port(self, name: str, allowZero: bool) -> int:
        raw = self.require(name)
        if not raw.isascii() or not raw.isdigit():
            raise self.error(name, f"expected a port number, not {raw!r}")
        value = int(raw)
        if not (0 if allowZero else 1) <= value <= 65535:
            raise self.error(name, f"port {value} is out of range")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.values.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise self.error(name, f"expected a number, not {raw!r}") from None
        if not value > 0 or value == float("inf"):
            raise self.error(name, f"expected a positive number, not {raw!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.values.get(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise self.error(name, f"expected 0 or 1, not {raw!r}")

    def octal(self, name: str, default: int) -> int:
        raw = self.values.get(name)
        if raw is None:
            return default
        try:
            value = int(raw, 8)
        except ValueError:
            raise self.error(name, f"expected an octal mode such as 660, not {raw!r}") from None
        if not 0 <= value <= 0o7777:
            raise self.error(name, f"mode {raw} is out of range")
        return value

    def bindAddress(self, name: str) -> tuple[str, int] | None:
        raw = self.values.get(name)
        if raw is None:
            return None
        host, port = raw, 0
        if raw.startswith("["):
            host, _, rest = raw[1:].partition("]")
            if rest.startswith(","):
                port = self._bindPort(name, rest[1:])
        elif raw.count(",") == 1:
            host, rawPort = raw.split(",")
            port = self._bindPort(name, rawPort)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise self.error(name, f"expected an IP address, not {host!r}") from None
        return (host, port)

    def _bindPort(self, name: str, raw: str) -> int:
        if not raw.isdigit() or int(raw) > 65535:
            raise self.error(name, f"bad port {raw!r}")
        return int(raw)

    def readFile(self, name: str, path: str) -> bytes:
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise self.error(name, f"cannot read {path!r}: {e.strerror or e}") from None


#: The listen backlog of endpoints made from strings when ``backlog=`` is not given: the
#: system's maximum (the kernel caps it at ``net.core.somaxconn``). Twisted's 50 makes a burst
#: of new connections wait for SYN retransmits (seconds each) once 50 are queued; a server
#: built from strings (``glisten web``, ``glisten dns``) should take such a burst. The endpoint
#: classes and ``reactor.listenTCP`` keep Twisted's default of 50.
STRING_BACKLOG = socket.SOMAXCONN


def _serverTCP(reactor: Any, f: _Fields) -> Any:
    return TCP4ServerEndpoint(
        reactor,
        f.port("port", allowZero=True),
        backlog=f.integer("backlog", STRING_BACKLOG, 1, 65535),
        interface=f.get("interface", "") or "",
    )


def _serverTCP6(reactor: Any, f: _Fields) -> Any:
    return TCP6ServerEndpoint(
        reactor,
        f.port("port", allowZero=True),
        backlog=f.integer("backlog", STRING_BACKLOG, 1, 65535),
        interface=f.get("interface", "::") or "::",
    )


def _serverUNIX(reactor: Any, f: _Fields) -> Any:
    return UNIXServerEndpoint(
        reactor,
        f.require("address"),
        backlog=f.integer("backlog", STRING_BACKLOG, 1, 65535),
        mode=f.octal("mode", 0o666),
        wantPID=int(f.flag("lockfile", False)),
    )


def _loadCertificates(f: _Fields, name: str, data: bytes) -> list[Any]:
    import re

    from .ssl import Certificate

    blocks = re.findall(
        rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", data, flags=re.DOTALL
    )
    certificates = []
    for block in blocks:
        try:
            certificates.append(Certificate.loadPEM(block))
        except ValueError as e:
            raise f.error(name, f"bad certificate: {e}") from None
    return certificates


def _serverSSL(reactor: Any, f: _Fields) -> Any:
    import ssl as stdlibSSL

    from .ssl import CertificateOptions, KeyPair

    port = f.port("port", allowZero=True)
    keyPath = f.get("privateKey") or "server.pem"
    certPath = f.get("certKey") or keyPath
    try:
        key = KeyPair.load(f.readFile("privateKey", keyPath))
    except ValueError as e:
        if str(e).startswith("ssl endpoint"):
            raise
        raise f.error("privateKey", f"no private key in {keyPath!r}") from None
    certificates = _loadCertificates(f, "certKey", f.readFile("certKey", certPath))
    if not certificates:
        raise f.error("certKey", f"no certificate in {certPath!r}")
    extra = certificates[1:]
    chainPath = f.get("extraCertChain")
    if chainPath is not None:
        extra += _loadCertificates(f, "extraCertChain", f.readFile("extraCertChain", chainPath))
        if not extra:
            raise f.error("extraCertChain", f"no certificate in {chainPath!r}")
    options = CertificateOptions(
        privateKey=key, certificate=certificates[0], extraCertChain=extra or None
    )
    try:
        context = options.getContext()
    except (stdlibSSL.SSLError, ValueError) as e:
        raise f.error("privateKey", f"key and certificate cannot be used together: {e}") from None
    dhPath = f.get("dhParameters")
    if dhPath is not None:
        f.readFile("dhParameters", dhPath)
        try:
            context.load_dh_params(dhPath)
        except (stdlibSSL.SSLError, OSError, ValueError) as e:
            raise f.error("dhParameters", f"bad Diffie-Hellman parameters: {e}") from None
    return SSL4ServerEndpoint(
        reactor,
        port,
        options,
        backlog=f.integer("backlog", STRING_BACKLOG, 1, 65535),
        interface=f.get("interface", "") or "",
    )


def _serverSystemd(reactor: Any, f: _Fields) -> Any:
    from ._systemd import checkedListeningSocket

    index = f.integer("index", 0, 0, 4095) if f.get("index") is not None else None
    fd, family = checkedListeningSocket(f.require("domain"), index, f.get("name"))
    return AdoptedStreamServerEndpoint(reactor, fd, family)


def _serverStdio(reactor: Any, f: _Fields) -> Any:
    return StandardIOEndpoint(reactor)


_SERVER_TYPES: dict[str, tuple[Sequence[str], Callable[[Any, _Fields], Any]]] = {
    "tcp": (("port", "interface", "backlog"), _serverTCP),
    "tcp6": (("port", "interface", "backlog"), _serverTCP6),
    "unix": (("address", "mode", "lockfile", "backlog"), _serverUNIX),
    "ssl": (
        (
            "port",
            "privateKey",
            "certKey",
            "interface",
            "backlog",
            "extraCertChain",
            "dhParameters",
        ),
        _serverSSL,
    ),
    "systemd": (("domain", "index", "name"), _serverSystemd),
    "stdio": ((), _serverStdio),
}


def _clientTCP(reactor: Any, f: _Fields) -> Any:
    host = f.require("host")
    port = f.port("port", allowZero=False)
    timeout = f.number("timeout", 30)
    bindAddress = f.bindAddress("bindAddress")
    if _isIPv4(host):
        return TCP4ClientEndpoint(reactor, host, port, timeout, bindAddress)
    if _isIPv6(host):
        return TCP6ClientEndpoint(reactor, host, port, timeout, bindAddress)
    try:
        _idnaHost(host)
    except Exception:
        raise f.error("host", f"not a valid host name: {host!r}") from None
    return HostnameEndpoint(reactor, host, port, timeout, bindAddress)


def _clientUNIX(reactor: Any, f: _Fields) -> Any:
    return UNIXClientEndpoint(
        reactor,
        f.require("path"),
        timeout=f.number("timeout", 30),
        checkPID=int(f.flag("checkPID", False)),
    )


def _trustRootFromDirectory(f: _Fields, name: str) -> Any:
    from .ssl import trustRootFromCertificates

    directory = f.get(name)
    if directory is None:
        return None
    try:
        entries = sorted(os.listdir(directory))
    except OSError as e:
        raise f.error(name, f"cannot read directory {directory!r}: {e.strerror}") from None
    certificates: list[Any] = []
    for entry in entries:
        path = os.path.join(directory, entry)
        if os.path.isfile(path):
            certificates += _loadCertificates(f, name, f.readFile(name, path))
    if not certificates:
        raise f.error(name, f"no PEM certificates in {directory!r}")
    return trustRootFromCertificates(certificates)


def _clientCertificate(f: _Fields, certName: str, keyName: str) -> Any:
    from .ssl import KeyPair, PrivateCertificate

    certPath = f.get(certName)
    if certPath is None:
        if f.get(keyName) is not None:
            raise f.error(keyName, f"needs {certName!r} too")
        return None
    keyPath = f.get(keyName) or certPath
    certificates = _loadCertificates(f, certName, f.readFile(certName, certPath))
    if not certificates:
        raise f.error(certName, f"no certificate in {certPath!r}")
    try:
        key = KeyPair.load(f.readFile(keyName, keyPath))
    except ValueError:
        raise f.error(keyName, f"no private key in {keyPath!r}") from None
    return PrivateCertificate.fromCertificateAndKeyPair(certificates[0], key)


def _verifiedTLS(reactor: Any, f: _Fields, host: str, trustRoot: Any, client: Any) -> Any:
    from .ssl import optionsForClientTLS

    try:
        return optionsForClientTLS(host, trustRoot, client)
    except ValueError as e:
        raise f.error("host", str(e)) from None


def _clientSSL(reactor: Any, f: _Fields) -> Any:
    host = f.require("host")
    port = f.port("port", allowZero=False)
    timeout = f.number("timeout", 30)
    bindAddress = f.bindAddress("bindAddress")
    options = _verifiedTLS(
        reactor,
        f,
        host,
        _trustRootFromDirectory(f, "caCertsDir"),
        _clientCertificate(f, "certKey", "privateKey"),
    )
    return wrapClientTLS(options, HostnameEndpoint(reactor, host, port, timeout, bindAddress))


def _clientTLS(reactor: Any, f: _Fields) -> Any:
    host = f.require("host")
    port = f.port("port", allowZero=False)
    timeout = f.number("timeout", 30)
    bindAddress = f.bindAddress("bindAddress")
    options = _verifiedTLS(
        reactor,
        f,
        host,
        _trustRootFromDirectory(f, "trustRoots"),
        _clientCertificate(f, "certificate", "privateKey"),
    )
    inner = f.get("endpoint")
    if inner is not None:
        try:
            wrapped = clientFromString(reactor, inner)
        except ValueError as e:
            raise f.error("endpoint", str(e)) from None
    else:
        wrapped = HostnameEndpoint(reactor, host, port, timeout, bindAddress)
    return wrapClientTLS(options, wrapped)


_CLIENT_TYPES: dict[str, tuple[Sequence[str], Callable[[Any, _Fields], Any]]] = {
    "tcp": (("host", "port", "timeout", "bindAddress"), _clientTCP),
    "unix": (("path", "timeout", "checkPID"), _clientUNIX),
    "ssl": (
        ("host", "port", "timeout", "bindAddress", "certKey", "privateKey", "caCertsDir"),
        _clientSSL,
    ),
    "tls": (
        (
            "host",
            "port",
            "timeout",
            "bindAddress",
            "certificate",
            "privateKey",
            "trustRoots",
            "endpoint",
        ),
        _clientTLS,
    ),
}


def _pluginFor(prefix: str, method: str) -> Any:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENDPOINT_PLUGIN_GROUP):
        if ep.name.lower() == prefix:
            plugin = ep.load()
            if hasattr(plugin, method):
                return plugin
    return None


def _describe(description: object) -> tuple[str, list[tuple[str, str | None]]]:
    if not isinstance(description, str):
        raise TypeError(f"an endpoint description must be a str, not {type(description).__name__}")
    if not description:
        raise ValueError("empty endpoint description")
    fields = _tokenize(description)
    kind, value = fields[0]
    if value is not None:
        raise ValueError(f"endpoint description {description!r} must start with its type")
    return kind.lower(), fields[1:]


def inheritingReactor(reactor: Any) -> Any:
    """The reactor to listen with: ``reactor`` itself, except in a ``glisten --workers``
    worker, where its ``listenTCP``, ``listenSSL``, ``listenUNIX`` and ``listenUDP`` take the
    socket the supervisor bound for the same address instead of binding one.

    :func:`serverFromString` uses it; a service that listens with the reactor's own methods
    calls it (``glisten dns``, whose TCP and UDP ports go together). Not in Twisted.
    """
    from ._inherited import adopting

    return adopting(reactor)


def serverFromString(reactor: Any, description: str) -> Any:
    """Build a server endpoint from a description such as ``tcp:8080:interface=127.0.0.1``.

    Types: ``tcp:PORT[:interface=][:backlog=]``, ``tcp6:PORT[:interface=::]``,
    ``unix:PATH[:mode=666][:lockfile=0][:backlog=]``,
    ``ssl:PORT:privateKey=KEY.pem[:certKey=CERT.pem][:extraCertChain=][:dhParameters=]``,
    ``systemd:domain=INET|INET6|UNIX:index=N`` or ``:name=NAME`` (sockets passed by systemd),
    ``stdio:``, ``haproxy:ANY-SERVER-DESCRIPTION`` (connections start with a PROXY header),
    and any type from a ``glisten.endpoints`` plugin.

    In a ``glisten --workers`` worker, the endpoint listens on the socket the supervisor bound
    for the same description (see :mod:`glisten.internet._inherited`).

    :raises ValueError: if the description is malformed; the message names the bad field.
    """
    reactor = inheritingReactor(reactor)
    kind, fields = _describe(description)
    if kind == "haproxy":
        _, inner = _splitPrefix(description)
        if not inner:
            raise ValueError("haproxy endpoint: missing the endpoint to wrap (haproxy:tcp:PORT)")
        if _splitPrefix(inner)[0].lower() == "haproxy":
            raise ValueError("haproxy endpoint: cannot wrap another haproxy endpoint")
        from ._haproxywrapper import HAProxyWrappingFactory

        wrapped = serverFromString(reactor, inner)
        if isinstance(wrapped, SSL4ServerEndpoint):
            # The PROXY header comes in clear text before the TLS handshake, so it must be
            # read first and TLS layered inside (wrapping the TLS endpoint's factory would
            # expect the header inside TLS; Twisted's haproxy:ssl: makes that mistake).
            return wrapped._proxied(HAProxyWrappingFactory)
        return _WrapperServerEndpoint(
            wrapped, lambda factory: HAProxyWrappingFactory(factory, clock=reactor)
        )
    builtin = _SERVER_TYPES.get(kind)
    if builtin is not None:
        names, build = builtin
        return build(reactor, _Fields(kind, fields, names))
    plugin = _pluginFor(kind, "parseStreamServer")
    if plugin is None:
        hint = f" (did you mean tcp:{kind}?)" if kind.isdigit() else ""
        raise ValueError(f"unknown endpoint type {kind!r}{hint}")
    args = [text for text, value in fields if value is None]
    kwargs = {key: value for key, value in fields if value is not None}
    return plugin.parseStreamServer(reactor, *args, **kwargs)


def clientFromString(reactor: Any, description: str) -> Any:
    """Build a client endpoint from a description such as ``tcp:example.com:80``.

    Types: ``tcp:HOST:PORT[:timeout=][:bindAddress=]`` (a name gives a
    :class:`HostnameEndpoint`), ``unix:PATH[:timeout=][:checkPID=0]``,
    ``tls:HOST:PORT[:trustRoots=DIR][:certificate=][:privateKey=][:endpoint=DESCRIPTION]``,
    ``ssl:HOST:PORT[:caCertsDir=DIR][:certKey=][:privateKey=]`` and any type from a
    ``glisten.endpoints`` plugin. TLS clients always verify the server's certificate and
    name (Twisted's ``ssl:`` client does not unless given authorities; that is a hole).

    :raises ValueError: if the description is malformed; the message names the bad field.
    """
    kind, fields = _describe(description)
    builtin = _CLIENT_TYPES.get(kind)
    if builtin is not None:
        names, build = builtin
        return build(reactor, _Fields(kind, fields, names))
    plugin = _pluginFor(kind, "parseStreamClient")
    if plugin is None:
        raise ValueError(f"unknown endpoint type {kind!r}")
    args = [text for text, value in fields if value is None]
    kwargs = {key: value for key, value in fields if value is not None}
    return plugin.parseStreamClient(reactor, *args, **kwargs)


__all__ = [
    "inheritingReactor",
    "AdoptedStreamServerEndpoint",
    "HostnameEndpoint",
    "ProcessEndpoint",
    "SSL4ClientEndpoint",
    "SSL4ServerEndpoint",
    "StandardErrorBehavior",
    "StandardIOEndpoint",
    "TCP4ClientEndpoint",
    "TCP4ServerEndpoint",
    "TCP6ClientEndpoint",
    "TCP6ServerEndpoint",
    "UNIXClientEndpoint",
    "UNIXServerEndpoint",
    "clientFromString",
    "connectProtocol",
    "quoteStringArgument",
    "serverFromString",
    "wrapClientTLS",
]
