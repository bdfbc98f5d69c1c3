"""
TCP: connections, listening ports and outgoing connectors, for IPv4 and IPv6.

The hot path is short on purpose: a readable socket is read with one ``recv`` straight into
``dataReceived``; ``write`` sends at once when nothing is buffered and only registers for
writability when the kernel did not take everything.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Any

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.abstract import FileDescriptor, _checkData, isIPAddress, isIPv6Address
from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.protocol import Protocol
from glisten.logger import Logger
from glisten.python.failure import Failure

_log = Logger()

_READ_SIZE = 65536
# A read that fills the buffer doubles the next one's size up to this (bulk transfers need
# fewer system calls); a short read goes back to _READ_SIZE so small messages stay cheap.
_MAX_READ_SIZE = 1 << 20
_LOST_ERRNOS = frozenset(
    {errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN, errno.ETIMEDOUT, errno.ECONNABORTED}
)
_RETRY_WRITE_ERRNOS = frozenset({errno.EAGAIN, errno.EINTR, errno.ENOBUFS})
#: What ``sendfile`` answers for a file or socket it cannot send from (use ``write`` then).
_NO_SENDFILE_ERRNOS = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ESPIPE})
_ACCEPT_RETRY_ERRNOS = frozenset(
    {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.EINTR, errno.ENETDOWN, errno.EHOSTDOWN}
)
_ACCEPT_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def _addressFor(family: int, sockaddr: Any, kind: str = "TCP") -> IPv4Address | IPv6Address:
    if family == socket.AF_INET6:
        host, port = sockaddr[0], sockaddr[1]
        flow = sockaddr[2] if len(sockaddr) > 2 else 0
        scope = sockaddr[3] if len(sockaddr) > 3 else 0
        return IPv6Address(kind, host, port, flow, scope)  # type: ignore[arg-type]
    return IPv4Address(kind, sockaddr[0], sockaddr[1])  # type: ignore[arg-type]


def _connectionLostFor(e: OSError) -> error.ConnectionLost:
    return error.ConnectionLost(f"[Errno {e.errno}] {e.strerror}" if e.errno else str(e))


@implementer(
    interfaces.ITCPTransport,
    interfaces.ITLSTransport,
    interfaces.ISystemHandle,
    interfaces.ISendfileTransport,
)
class Connection(FileDescriptor):
    """
    A connected TCP socket and its protocol.

    :ivar socket: the socket.
    :ivar protocol: the protocol fed by this transport.
    """

    _tcpNoDelay = False
    _readSize = _READ_SIZE
    #: Which TLS role ``startTLS(ctx, normal=True)`` takes: the side that connected is the client.
    _tlsClientDefault = True

    def __init__(self, skt: socket.socket, protocol: Any, reactor: Any = None) -> None:
        FileDescriptor.__init__(self, reactor)
        skt.setblocking(False)
        self.socket = skt
        self._fd = skt.fileno()
        self.protocol = protocol

    def startTLS(self, ctx: Any, normal: bool = True) -> None:
        """
        Switch this connection to TLS, for STARTTLS protocols; what was written before the call
        goes out in plain text first.

        :param ctx: the TLS settings (``glisten.internet.ssl`` options).
        :param normal: take the usual role (client for outgoing, server for accepted
            connections); ``False`` swaps them.
        """
        from glisten.protocols.tls import startTLS

        startTLS(self, ctx, client=self._tlsClientDefault == normal)

    def getHandle(self) -> socket.socket:
        """
        :return: the socket.
        """
        return self.socket

    # ------------------------------------------------------------- the hot path

    def doRead(self) -> object:
        """
        Read once (at most the current read size) and hand the bytes to the protocol.

        :return: None, or the reason to disconnect with.
        """
        size = self._readSize
        try:
            data = self.socket.recv(size)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as e:
            return _connectionLostFor(e)
        if data:
            if len(data) == size:
                if size < _MAX_READ_SIZE:
                    self._readSize = size * 2
            elif size != _READ_SIZE and len(data) < _READ_SIZE:
                del self._readSize
            self.protocol.dataReceived(data)
            return None
        return self._readEOF()

    def write(self, data: bytes) -> None:
        """
        Send ``data``; see :meth:`FileDescriptor.write`.
        """
        if type(data) is not bytes:
            data = _checkData(data)
        if not self.connected or self._writeDisconnected or not data:
            return
        buf = self._wbuf
        if not buf and self._writeError is None:
            try:
                n = self.socket.send(data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError as e:
                if e.errno in _RETRY_WRITE_ERRNOS:
                    n = 0
                else:
                    # Reported from doWrite, not from inside the caller's write().
                    self._writeError = _connectionLostFor(e)
                    self.startWriting()
                    return
            if n == len(data):
                if self.producer is not None and not self.streamingProducer:
                    # A pull producer is asked for more from doWrite.
                    self.startWriting()
                return
            if buf is None:
                buf = self._wbuf = bytearray(memoryview(data)[n:])
            else:
                buf += memoryview(data)[n:]
        elif buf is None:
            buf = self._wbuf = bytearray(data)
        else:
            buf += data
        self.startWriting()
        producer = self.producer
        if (
            producer is not None
            and self.streamingProducer
            and not self.producerPaused
            and len(buf) > self.bufferSize
        ):
            self.producerPaused = True
            producer.pauseProducing()

    def writeSomeData(self, data: bytes | bytearray) -> int | BaseException:
        """
        Send what the kernel takes of ``data``.

        :return: the byte count, or ConnectionLost.
        """
        try:
            return self.socket.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as e:
            if e.errno in _RETRY_WRITE_ERRNOS:
                return 0
            return _connectionLostFor(e)

    def sendfile(self, fileno: int, offset: int, count: int) -> int | None:
        """
        Send part of a file with ``os.sendfile`` once nothing else is buffered (see
        :class:`~glisten.internet.interfaces.ISendfileTransport`).
        """
        if getattr(self, "TLS", False):
            return None
        if not self.connected or self.disconnecting or self._writeDisconnected or count <= 0:
            return 0
        # Called again (through a pull producer's resumeProducing) when the socket can take
        # more, or once what is buffered has gone out.
        self.startWriting()
        if self._wbuf or self._writeError is not None:
            return 0
        try:
            sent = os.sendfile(self._fd, fileno, offset, count)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as e:
            if e.errno in _RETRY_WRITE_ERRNOS:
                return 0
            if e.errno in _NO_SENDFILE_ERRNOS:
                return None
            self._writeError = _connectionLostFor(e)
            return 0
        if not sent:
            raise EOFError(f"the file ends before offset {offset}")
        return sent

    # ------------------------------------------------------------- closing

    def _readEOF(self) -> object:
        p = interfaces.IHalfCloseableProtocol(self.protocol, None)
        if p is None:
            return error.ConnectionDone()
        self.stopReading()
        try:
            p.readConnectionLost()
        except Exception:
            _log.failure("Error in readConnectionLost of {protocol!r}", protocol=self.protocol)
            return error.ConnectionLost("readConnectionLost raised")
        return None

    def readConnectionLost(self, reason: Failure) -> None:
        p = interfaces.IHalfCloseableProtocol(self.protocol, None)
        if p is None:
            self.connectionLost(reason)
            return
        try:
            p.readConnectionLost()
        except Exception:
            _log.failure("Error in readConnectionLost")
            self.connectionLost(Failure())

    def _closeWriteConnection(self) -> object:
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        p = interfaces.IHalfCloseableProtocol(self.protocol, None)
        if p is not None:
            try:
                p.writeConnectionLost()
            except Exception:
                _log.failure("Error in writeConnectionLost")
                return error.ConnectionLost("writeConnectionLost raised")
        return None

    def abortConnection(self) -> None:
        """
        Close now, discarding buffered data; ``connectionLost`` gets ConnectionAborted.
        """
        if self.disconnected or getattr(self, "_aborting", False):
            return
        self._aborting = True
        self.stopReading()
        self.stopWriting()
        self.doRead = lambda *args, **kwargs: None  # type: ignore[method-assign]
        self.doWrite = lambda *args, **kwargs: None  # type: ignore[method-assign]
        self.reactor.callLater(0, self.connectionLost, Failure(error.ConnectionAborted()))

    def _closeSocket(self, orderly: bool) -> None:
        skt = self.socket
        try:
            if orderly:
                # Send the FIN now even if a child process inherited a copy of the descriptor.
                skt.shutdown(socket.SHUT_RDWR)
            else:
                # Reset instead of FIN: the peer must not take a truncated stream as complete.
                skt.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            skt.close()
        except OSError:
            pass

    def connectionLost(self, reason: Failure) -> None:
        if self.disconnected:
            return
        FileDescriptor.connectionLost(self, reason)
        self._closeSocket(not reason.check(error.ConnectionAborted))
        self._fd = -1
        self._wbuf = None
        protocol = self.protocol
        protocol.connectionLost(reason)

    # ------------------------------------------------------------- options

    def getTcpNoDelay(self) -> bool:
        """
        :return: whether Nagle's algorithm is off (TCP_NODELAY).
        """
        return bool(self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def setTcpNoDelay(self, enabled: bool) -> None:
        """
        Turn Nagle's algorithm off (True) or on.
        """
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(bool(enabled)))

    def getTcpKeepAlive(self) -> bool:
        """
        :return: whether TCP keepalives are on.
        """
        return bool(self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """
        Turn TCP keepalives on or off.
        """
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(bool(enabled)))

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        :return: the local address.
        """
        return _addressFor(self.socket.family, self.socket.getsockname())

    def getPeer(self) -> Any:
        """
        :return: the remote address.
        """
        return _addressFor(self.socket.family, self.socket.getpeername())

    def logPrefix(self) -> str:
        return getattr(self, "logstr", "Uninitialized")


class Server(Connection):
    """
    An accepted connection.

    :ivar server: the Port that accepted it.
    :ivar client: the peer's socket address.
    :ivar sessionno: its number on that port.
    """

    _tlsClientDefault = False

    def __init__(
        self,
        sock: socket.socket,
        protocol: Any,
        client: Any,
        server: Any,
        sessionno: int,
        reactor: Any,
    ) -> None:
        Connection.__init__(self, sock, protocol, reactor)
        self.server = server
        self.client = client
        self.sessionno = sessionno
        self.connected = 1
        self.startReading()

    # Computed on demand rather than stored: an idle connection costs less memory.

    @property
    def hostname(self) -> str:
        """
        The peer's host.
        """
        return str(self.client[0]) if self.client else ""

    @property
    def logstr(self) -> str:
        """
        The log prefix: protocol class, session number, peer host.
        """
        return f"{self.protocol.__class__.__name__},{self.sessionno},{self.hostname}"

    @property
    def repstr(self) -> str:
        return (
            f"<{self.protocol.__class__.__name__} #{self.sessionno} "
            f"on {self.server._realPortNumber}>"
        )

    def __repr__(self) -> str:
        return self.repstr

    def getPeer(self) -> IPv4Address | IPv6Address:
        """
        :return: the client's address.
        """
        return _addressFor(self.socket.family, self.client)


@implementer(interfaces.IListeningPort)
class Port(FileDescriptor):
    """
    A listening TCP socket that builds a protocol and a Server per accepted connection.
    """

    addressFamily: int = socket.AF_INET
    socketType: int = socket.SOCK_STREAM
    transport: Any = Server
    sessionno = 0
    interface = ""
    backlog = 50
    _type = "TCP"
    _realPortNumber: int | None = None
    # Accept up to this many connections per readiness notification.
    numberAccepts = 100
    #: A fixed number of connections to accept per readiness notification instead (``None``:
    #: adapt ``numberAccepts``). Processes that accept from one shared socket (``glisten
    #: --workers``) take 1, so that the one that wakes first cannot take a whole burst and
    #: the least busy one gets the most.
    acceptsPerRead: int | None = None
    _resourceBackoff = 0.0
    _preexistingSocket: Any = None
    _resourceErrorLogged = False

    def __init__(
        self,
        port: int,
        factory: Any,
        backlog: int = 50,
        interface: str = "",
        reactor: Any = None,
    ) -> None:
        FileDescriptor.__init__(self, reactor)
        self.port = port
        self.factory = factory
        self.backlog = backlog
        if isIPv6Address(interface):
            self.addressFamily = socket.AF_INET6
        self.interface = interface
        self.socket: Any = None
        self.deferred: Any = None

    @classmethod
    def _fromListeningDescriptor(
        cls, reactor: Any, fd: int, addressFamily: int, factory: Any
    ) -> Port:
        port = socket.socket(addressFamily, socket.SOCK_STREAM, fileno=os.dup(fd))
        self = cls(port.getsockname()[1], factory, reactor=reactor)
        self.addressFamily = addressFamily
        self.interface = port.getsockname()[0]
        self._preexistingSocket = port
        return self

    def __repr__(self) -> str:
        if self._realPortNumber is not None:
            return f"<{self.factory.__class__} on {self._realPortNumber}>"
        return f"<{self.factory.__class__} (not listening)>"

    def createInternetSocket(self) -> socket.socket:
        s = socket.socket(self.addressFamily, self.socketType)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return s

    def _bindAddress(self) -> Any:
        if self.addressFamily == socket.AF_INET6:
            iface = self.interface
            if "%" in iface:
                info = socket.getaddrinfo(
                    iface, self.port, socket.AF_INET6, 0, 0, socket.AI_NUMERICHOST
                )
                return info[0][4]
            return (iface, self.port)
        return (self.interface, self.port)

    def startListening(self) -> None:
        """
        Bind, listen and start accepting.

        :raises glisten.internet.error.CannotListenError: if binding or listening fails.
        """
        pre = getattr(self, "_preexistingSocket", None)
        if pre is not None:
            skt = pre
            self._preexistingSocket = None
        else:
            try:
                skt = self.createInternetSocket()
                try:
                    skt.bind(self._bindAddress())
                    skt.listen(self.backlog)
                except BaseException:
                    skt.close()
                    raise
            except OSError as le:
                raise error.CannotListenError(self.interface, self.port, le)
        skt.setblocking(False)
        self._realPortNumber = skt.getsockname()[1]
        _log.info(
            "{name} starting on {port}",
            name=self._getLogPrefix(self.factory),
            port=self._realPortNumber,
        )
        self.factory.doStart()
        self.connected = True
        self.socket = skt
        self._fd = skt.fileno()
        self._accept = skt._accept
        self.numberAccepts = 100
        self.startReading()

    @staticmethod
    def _getLogPrefix(factory: Any) -> str:
        lp = getattr(factory, "logPrefix", None)
        if lp is not None:
            try:
                return str(lp())
            except Exception:
                pass
        return factory.__class__.__name__

    def _buildAddr(self, address: Any) -> IPv4Address | IPv6Address:
        return _addressFor(self.addressFamily, address)

    def doRead(self) -> object:
        """
        Accept pending connections (up to :attr:`numberAccepts` per call).
        """
        accept = self._accept
        family = self.addressFamily
        factory = self.factory
        transport = self.transport
        reactor = self.reactor
        fixed = self.acceptsPerRead
        for i in range(self.numberAccepts if fixed is None else fixed):
            if self.disconnecting:
                return None
            try:
                fd, addr = accept()
            except (BlockingIOError, InterruptedError):
                self.numberAccepts = max(i + 1, 100)
                return None
            except OSError as e:
                if e.errno in _ACCEPT_RESOURCE_ERRNOS:
                    self._outOfResources(e)
                    return None
                if e.errno in _ACCEPT_RETRY_ERRNOS:
                    continue
                _log.failure("Could not accept new connection ({errno})", errno=e.errno)
                return None
            skt = socket.socket(family, socket.SOCK_STREAM, 0, fileno=fd)
            if self._resourceErrorLogged:
                self._resourceErrorLogged = False
                self._resourceBackoff = 0.0
                _log.info("{port!r} is accepting connections again", port=self)
            try:
                protocol = factory.buildProtocol(_addressFor(family, addr))
            except Exception:
                _log.failure("Error building a protocol for {addr}", addr=addr)
                skt.close()
                continue
            if protocol is None:
                skt.close()
                continue
            s = self.sessionno
            self.sessionno = s + 1
            t = transport(skt, protocol, addr, self, s, reactor)
            try:
                protocol.makeConnection(t)
            except Exception:
                _log.failure("Error in connectionMade of {protocol!r}", protocol=protocol)
                t.connectionLost(Failure())
        else:
            # Everything was accepted: there may be more next time.
            self.numberAccepts = min(self.numberAccepts + 20, 5000)
        return None

    def _outOfResources(self, e: OSError) -> None:
        # Level-triggered readiness would spin while the backlog cannot be accepted; back off
        # for a moment instead. One log line per episode, not one per attempt.
        if not self._resourceErrorLogged:
            self._resourceErrorLogged = True
            _log.error(
                "{port!r} cannot accept connections: {err}; backing off",
                port=self,
                err=e.strerror,
            )
        self._resourceBackoff = min(1.0, max(0.01, self._resourceBackoff * 2))
        self.stopReading()
        self.reactor.callLater(self._resourceBackoff, self._resumeAccepting)

    def _resumeAccepting(self) -> None:
        if self.connected and not self.disconnecting:
            self.startReading()

    def loseConnection(self, connDone: Failure | None = None) -> Any:
        """
        Stop listening: the socket is closed now; the returned Deferred fires after the
        factory's ``doStop`` on the next reactor turn.
        """
        from glisten.internet.defer import Deferred

        if self.disconnecting and self.deferred is not None:
            return self.deferred
        self.disconnecting = True
        if not self.connected:
            self.deferred = Deferred()
            self.deferred.callback(None)
            return self.deferred
        self.stopReading()
        self._closeListeningSocket()
        self.deferred = Deferred()
        reason = connDone or Failure(error.ConnectionDone("Connection done"))
        self.reactor.callLater(0, self._finishStopping, reason)
        return self.deferred

    stopListening = loseConnection

    def _closeListeningSocket(self) -> None:
        if self.socket is not None:
            try:
                self.socket.close()
            except OSError:
                pass
        self._fd = -1

    def _finishStopping(self, reason: Failure) -> None:
        try:
            self.connectionLost(reason)
        except BaseException:
            # The factory's stopFactory raised: the port is closed all the same, and the
            # stopListening Deferred reports the error (as in Twisted) instead of never firing.
            d, self.deferred = self.deferred, None
            if d is None:
                raise
            d.errback(Failure())
            return
        d, self.deferred = self.deferred, None
        if d is not None:
            d.callback(None)

    def connectionLost(self, reason: Failure) -> None:
        """
        Closed (by stopListening or at reactor shutdown): stop the factory.
        """
        if self.disconnected:
            return
        _log.info("({type} Port {port} Closed)", type=self._type, port=self._realPortNumber)
        self.disconnected = True
        self.stopReading()
        self.connected = False
        self._closeListeningSocket()
        self._realPortNumber = None
        try:
            self.factory.doStop()
        finally:
            self.disconnecting = False

    def logPrefix(self) -> str:
        return self._getLogPrefix(self.factory)

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        :return: the bound address (with the real port number when 0 was asked for).
        """
        assert self.socket is not None
        return _addressFor(self.addressFamily, self.socket.getsockname())


class Client(Connection):
    """
    An outgoing TCP connection (before and after it is established).
    """

    _connectStarted = False

    def __init__(
        self,
        host: str,
        port: int,
        bindAddress: tuple[str, int] | None,
        connector: Connector,
        reactor: Any,
    ) -> None:
        self.connector = connector
        self.addr = (host, port)
        self.realAddress: Any = None
        self.addressFamily = socket.AF_INET6 if isIPv6Address(host) else socket.AF_INET
        err: Exception | None = None
        skt: socket.socket | None = None
        try:
            skt = socket.socket(self.addressFamily, socket.SOCK_STREAM)
            skt.setblocking(False)
        except OSError as se:
            err = error.ConnectBindError(se.errno, se.strerror or "")
        if skt is not None and bindAddress is not None:
            try:
                skt.bind(bindAddress)
            except OSError as se:
                skt.close()
                err = error.ConnectBindError(se.errno, se.strerror or "")
        if err is None and skt is not None:
            Connection.__init__(self, skt, None, reactor)
            reactor.callLater(0, self.resolveAddress)
        else:
            FileDescriptor.__init__(self, reactor)
            reactor.callLater(0, self.failIfNotConnected, err)

    def resolveAddress(self) -> None:
        """
        Resolve the host (unless it is an address literal), then connect.
        """
        host, port = self.addr
        if self.addressFamily == socket.AF_INET6:
            try:
                info = socket.getaddrinfo(
                    host, port, socket.AF_INET6, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
                )
            except socket.gaierror as e:
                self.failIfNotConnected(error.UnknownHostError(string=str(e)))
                return
            self._setRealAddress(info[0][4])
        elif isIPAddress(host):
            self._setRealAddress((host, port))
        else:
            d = self.reactor.resolve(host)
            d.addCallbacks(lambda a: self._setRealAddress((a, port)), self.failIfNotConnected)

    def _setRealAddress(self, address: Any) -> None:
        self.realAddress = address
        self.doConnect()

    def doConnect(self) -> None:
        """
        Start the non-blocking connect, or check its result when the socket is ready.
        """
        if not hasattr(self, "connector") or self.disconnected:
            return
        self.doWrite = self.doConnect  # type: ignore[method-assign]
        self.doRead = self.doConnect  # type: ignore[method-assign]
        if self._connectStarted:
            err = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.failIfNotConnected(error.getConnectError((err, os.strerror(err))))
                return
        else:
            self._connectStarted = True
            result = self.socket.connect_ex(self.realAddress)
            if result and result != errno.EISCONN:
                if result in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
                    self.startReading()
                    self.startWriting()
                    return
                self.failIfNotConnected(error.getConnectError((result, os.strerror(result))))
                return
        del self.doWrite
        del self.doRead
        self.stopReading()
        self.stopWriting()
        self._connectDone()

    def _connectDone(self) -> None:
        self.protocol = self.connector.buildProtocol(self.getPeer())
        self.connected = 1
        self.logstr = self.protocol.__class__.__name__ + ",client"
        if self.protocol is None:
            self.protocol = Protocol()
            self.loseConnection()
            return
        self.startReading()
        self.protocol.makeConnection(self)

    def failIfNotConnected(self, err: Any) -> None:
        """
        Fail the attempt with ``err`` (an exception or Failure) unless already connected.
        """
        if self.connected or self.disconnected or not hasattr(self, "connector"):
            return
        self.disconnected = 1
        if isinstance(err, Failure):
            reason = err
            if err.check(error.DNSLookupError) is None and err.check(error.ConnectError) is None:
                reason = Failure(error.DNSLookupError(str(err.value)))
        else:
            reason = Failure(err)
        if hasattr(self, "socket"):
            self.reactor.removeReader(self)
            self.reactor.removeWriter(self)
            try:
                self.socket.close()
            except OSError:
                pass
            self._fd = -1
        connector = self.connector
        del self.connector
        connector.connectionFailed(reason)

    def getPeer(self) -> IPv4Address | IPv6Address:
        """
        :return: the address connected to.
        """
        if self.realAddress is None:
            return _addressFor(self.addressFamily, self.addr)
        return _addressFor(self.addressFamily, self.realAddress)

    def connectionLost(self, reason: Failure) -> None:
        if not self.connected:
            self.failIfNotConnected(error.ConnectError(string=str(reason.value)))
            return
        Connection.connectionLost(self, reason)
        self.connector.connectionLost(reason)

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} to {self.addr} at {id(self):x}>"


@implementer(interfaces.IConnector)
class BaseConnector:
    """
    Connects a ClientFactory, and can reconnect it (``connect()`` again after a loss).

    :ivar state: ``"disconnected"``, ``"connecting"`` or ``"connected"``.
    """

    timeoutID: Any = None
    factoryStarted = 0

    def __init__(self, factory: Any, timeout: float | None, reactor: Any) -> None:
        self.state = "disconnected"
        self.reactor = reactor
        self.factory = factory
        self.timeout = timeout
        self.transport: Any = None

    def disconnect(self) -> None:
        """
        Disconnect if connected, stop connecting if connecting.
        """
        if self.state == "connecting":
            self.stopConnecting()
        elif self.state == "connected":
            self.transport.loseConnection()

    def connect(self) -> None:
        """
        Start connecting.

        :raises RuntimeError: unless disconnected.
        """
        if self.state != "disconnected":
            raise RuntimeError("can't connect in this state")
        self.state = "connecting"
        if not self.factoryStarted:
            self.factory.doStart()
            self.factoryStarted = 1
        self.transport = transport = self._makeTransport()
        if self.timeout is not None:
            self.timeoutID = self.reactor.callLater(
                self.timeout, transport.failIfNotConnected, error.TimeoutError()
            )
        self.factory.startedConnecting(self)

    def _makeTransport(self) -> Any:
        raise NotImplementedError()

    def stopConnecting(self) -> None:
        """
        Abandon the attempt (the factory hears ``clientConnectionFailed`` with UserError).

        :raises glisten.internet.error.NotConnectingError: if not connecting.
        """
        if self.state != "connecting":
            raise error.NotConnectingError("we're not trying to connect")
        self.state = "disconnected"
        self.transport.failIfNotConnected(error.UserError())
        self.transport = None

    def cancelTimeout(self) -> None:
        """
        Cancel the pending connection timeout, if any.
        """
        if self.timeoutID is not None:
            try:
                self.timeoutID.cancel()
            except ValueError:
                pass
            self.timeoutID = None

    def buildProtocol(self, addr: Any) -> Any:
        self.state = "connected"
        self.cancelTimeout()
        return self.factory.buildProtocol(addr)

    def connectionFailed(self, reason: Failure) -> None:
        self.cancelTimeout()
        self.transport = None
        self.state = "disconnected"
        self.factory.clientConnectionFailed(self, reason)
        if self.state == "disconnected":
            self.factory.doStop()
            self.factoryStarted = 0

    def connectionLost(self, reason: Failure) -> None:
        self.state = "disconnected"
        self.factory.clientConnectionLost(self, reason)
        if self.state == "disconnected":
            self.factory.doStop()
            self.factoryStarted = 0

    def getDestination(self) -> Any:
        raise NotImplementedError()


class Connector(BaseConnector):
    """
    A TCP connector (returned by ``connectTCP``).
    """

    def __init__(
        self,
        host: str,
        port: int | str,
        factory: Any,
        timeout: float | None,
        bindAddress: tuple[str, int] | None,
        reactor: Any = None,
    ) -> None:
        if isinstance(port, str):
            try:
                port = socket.getservbyname(port, "tcp")
            except OSError as e:
                raise error.ServiceNameUnknownError(string=f"{e} ({port!r})")
        if isinstance(host, bytes):
            host = host.decode("idna")
        self.host = host
        self.port = port
        self.bindAddress = bindAddress
        BaseConnector.__init__(self, factory, timeout, reactor)

    def _makeTransport(self) -> Client:
        return Client(self.host, self.port, self.bindAddress, self, self.reactor)

    def getDestination(self) -> IPv4Address | IPv6Address:
        if isIPv6Address(self.host):
            return IPv6Address("TCP", self.host, self.port)
        return IPv4Address("TCP", self.host, self.port)


__all__ = ["BaseConnector", "Client", "Connection", "Connector", "Port", "Server"]
