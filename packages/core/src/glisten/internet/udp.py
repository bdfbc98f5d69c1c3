"""
UDP ports (IPv4 and IPv6), connected UDP and multicast.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Any

from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.internet.abstract import isIPAddress, isIPv6Address
from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure

_log = Logger()

_READ_IGNORE = frozenset({errno.EAGAIN, errno.EINTR, errno.EWOULDBLOCK})
_READ_REFUSE = frozenset({errno.ECONNREFUSED})


def _isLiteralOf(family: int, host: object) -> bool:
    """Whether ``host`` is an address literal of ``family`` that ``sendto`` takes as it is."""
    try:
        socket.inet_pton(family, host)  # type: ignore[arg-type]
    except (OSError, TypeError, ValueError):
        return False
    return True


@implementer(
    interfaces.IListeningPort,
    interfaces.IUDPTransport,
    interfaces.ISystemHandle,
    interfaces.IReadDescriptor,
)
class Port:
    """
    A UDP socket bound to a port and serving one DatagramProtocol.

    :ivar maxThroughput: bytes read per readiness notification before yielding to others.
    """

    addressFamily: int = socket.AF_INET
    socketType: int = socket.SOCK_DGRAM
    maxThroughput = 256 * 1024
    _realPortNumber: int | None = None
    _preexistingSocket: socket.socket | None = None
    connected = False
    disconnected = False
    disconnecting = False

    def __init__(
        self,
        port: int,
        proto: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        reactor: Any = None,
    ) -> None:
        reactor = getReactor(reactor)
        self.reactor = reactor
        self.port = port
        self.protocol = proto
        self.maxPacketSize = maxPacketSize
        self.interface = interface
        self._connectedAddr: tuple[str, int] | None = None
        self.socket: socket.socket | None = None
        self._fd = -1
        self.deferred: Any = None
        if isIPv6Address(interface):
            self.addressFamily = socket.AF_INET6
        elif interface and not isIPAddress(interface):
            raise error.InvalidAddressError(interface, "not an IPv4 or IPv6 address literal")

    @classmethod
    def _fromListeningDescriptor(
        cls, reactor: Any, fd: int, addressFamily: int, protocol: Any, maxPacketSize: int
    ) -> Port:
        skt = socket.socket(addressFamily, socket.SOCK_DGRAM, fileno=os.dup(fd))
        name = skt.getsockname()
        self = cls(name[1], protocol, name[0], maxPacketSize, reactor)
        self.addressFamily = addressFamily
        self._preexistingSocket = skt
        return self

    def __repr__(self) -> str:
        if self._realPortNumber is not None:
            return f"<{self.protocol.__class__} on {self._realPortNumber}>"
        return f"<{self.protocol.__class__} not connected>"

    def fileno(self) -> int:
        return self._fd

    def getHandle(self) -> socket.socket | None:
        """
        :return: the socket.
        """
        return self.socket

    def logPrefix(self) -> str:
        lp = getattr(self.protocol, "logPrefix", None)
        return str(lp()) if lp is not None else self.protocol.__class__.__name__

    def startListening(self) -> None:
        """
        Bind the socket and start the protocol.

        :raises glisten.internet.error.CannotListenError: if binding fails.
        """
        self._bindSocket()
        self._connectToProtocol()

    def createInternetSocket(self) -> socket.socket:
        s = socket.socket(self.addressFamily, self.socketType)
        s.setblocking(False)
        return s

    def _bindSocket(self) -> None:
        if self._preexistingSocket is not None:
            skt = self._preexistingSocket
            self._preexistingSocket = None
        else:
            try:
                skt = self.createInternetSocket()
                try:
                    self._prepareSocket(skt)
                    skt.bind((self.interface, self.port))
                except BaseException:
                    skt.close()
                    raise
            except OSError as le:
                raise error.CannotListenError(self.interface, self.port, le)
        skt.setblocking(False)
        self._realPortNumber = skt.getsockname()[1]
        _log.info(
            "{protocol} starting on {port}",
            protocol=self.logPrefix(),
            port=self._realPortNumber,
        )
        self.connected = True
        self.socket = skt
        self._fd = skt.fileno()

    def _prepareSocket(self, skt: socket.socket) -> None:
        pass

    def _connectToProtocol(self) -> None:
        self.protocol.makeConnection(self)
        self.reactor.addReader(self)

    def doRead(self) -> None:
        """
        Read datagrams (up to :attr:`maxThroughput` bytes) and hand them to the protocol;
        an exception in ``datagramReceived`` is logged and the port keeps serving.
        """
        assert self.socket is not None
        recvfrom = self.socket.recvfrom
        size = self.maxPacketSize
        read = 0
        v6 = self.addressFamily == socket.AF_INET6
        while read < self.maxThroughput:
            if self.socket is None:
                return
            try:
                data, addr = recvfrom(size)
            except OSError as se:
                if se.errno in _READ_IGNORE or isinstance(se, BlockingIOError):
                    return
                if se.errno in _READ_REFUSE:
                    if self._connectedAddr:
                        self.protocol.connectionRefused()
                    return
                _log.failure("Error reading UDP datagram")
                return
            read += len(data)
            if v6:
                addr = addr[:2]
            try:
                self.protocol.datagramReceived(data, addr)
            except Exception:
                _log.failure("Unhandled error in datagramReceived of {p!r}", p=self.protocol)

    def write(self, datagram: bytes, addr: Any = None) -> None:
        """
        Send one datagram to ``addr`` (an ``(ip, port)`` pair), or to the connected address.

        :raises glisten.internet.error.MessageLengthError: if it is too long to send.
        :raises glisten.internet.error.InvalidAddressError: if ``addr`` has a hostname.
        :raises ValueError: for ``addr`` on a connected port, or none on an unconnected one.
        """
        if not isinstance(datagram, bytes | bytearray | memoryview):
            raise TypeError(f"datagram must be bytes, not {type(datagram).__name__}")
        if self.socket is None:
            return
        if self._connectedAddr:
            if addr not in (None, self._connectedAddr):
                raise ValueError("a connected port writes to its connected address only")
            target: Any = None
        else:
            if addr is None:
                raise ValueError("write() needs an address on an unconnected port")
            host = addr[0]
            if _isLiteralOf(self.addressFamily, host):
                pass  # the common case, one cheap check: a literal of this port's family
            elif not (isIPAddress(host) or isIPv6Address(host)) and host != "<broadcast>":
                raise error.InvalidAddressError(
                    host, "write() only accepts IP addresses, not hostnames"
                )
            elif isIPAddress(host) and self.addressFamily == socket.AF_INET6:
                raise error.InvalidAddressError(host, "IPv4 address on an IPv6 port")
            elif isIPv6Address(host) and self.addressFamily == socket.AF_INET:
                raise error.InvalidAddressError(host, "IPv6 address on an IPv4 port")
            target = addr
        while True:
            try:
                if target is None:
                    self.socket.send(datagram)
                else:
                    self.socket.sendto(datagram, target)
                return
            except InterruptedError:
                continue
            except OSError as se:
                no = se.errno
                if no == errno.EMSGSIZE:
                    raise error.MessageLengthError("message too long")
                if no == errno.ECONNREFUSED:
                    if self._connectedAddr:
                        self.protocol.connectionRefused()
                    return
                if no in (errno.EAGAIN, errno.ENOBUFS):
                    # Datagrams may be dropped; this one is.
                    return
                raise

    def writeSequence(self, seq: Any, addr: Any = None) -> None:
        """
        Send the concatenation of ``seq`` as one datagram.
        """
        self.write(b"".join(seq), addr)

    def connect(self, host: str, port: int) -> None:
        """
        Only exchange datagrams with ``(host, port)``.

        :raises RuntimeError: if already connected.
        :raises glisten.internet.error.InvalidAddressError: if ``host`` is not an IP literal.
        """
        if self._connectedAddr:
            raise RuntimeError("already connected, reconnecting is not currently supported")
        if not (isIPAddress(host) or isIPv6Address(host)):
            raise error.InvalidAddressError(host, "not an IPv4 or IPv6 address")
        self._connectedAddr = (host, port)
        assert self.socket is not None
        self.socket.connect((host, port))

    def _loseConnection(self) -> Any:
        from glisten.internet.defer import Deferred

        self.reactor.removeReader(self)
        d: Deferred[None] = Deferred()
        if self.connected and not self.disconnecting:
            self.disconnecting = True
            self.deferred = d
            self.reactor.callLater(0, self._finishStopping)
        else:
            d.callback(None)
        return d

    def _finishStopping(self) -> None:
        try:
            self.connectionLost(Failure(error.ConnectionDone()))
        except BaseException:
            # The protocol's stopProtocol raised: report it through the Deferred.
            d, self.deferred = self.deferred, None
            if d is None:
                raise
            d.errback(Failure())
            return
        d, self.deferred = self.deferred, None
        if d is not None:
            d.callback(None)

    def stopListening(self) -> Any:
        """
        Close the socket; the Deferred fires once the protocol is stopped.
        """
        return self._loseConnection()

    loseConnection = stopListening

    def connectionLost(self, reason: Failure | None = None) -> None:
        """
        Stop the protocol and close the socket.
        """
        if self.disconnected:
            return
        _log.info("(UDP Port {port} Closed)", port=self._realPortNumber)
        self.disconnected = True
        self.reactor.removeReader(self)
        self._realPortNumber = None
        try:
            self.protocol.doStop()
        finally:
            if self.socket is not None:
                self.socket.close()
            self.socket = None
            self._fd = -1
            self.connected = False
            self.disconnecting = False

    def setLogStr(self) -> None:
        pass

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        :return: the bound address.
        """
        assert self.socket is not None
        name = self.socket.getsockname()
        if self.addressFamily == socket.AF_INET6:
            return IPv6Address("UDP", name[0], name[1], name[2], name[3])
        return IPv4Address("UDP", name[0], name[1])

    def setBroadcastAllowed(self, enabled: bool) -> None:
        assert self.socket is not None
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, int(bool(enabled)))

    def getBroadcastAllowed(self) -> bool:
        assert self.socket is not None
        return bool(self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST))


@implementer(interfaces.IMulticastTransport)
class MulticastPort(Port):
    """
    A UDP port that can join multicast groups.
    """

    def __init__(
        self,
        port: int,
        proto: Any,
        interface: str = "",
        maxPacketSize: int = 8192,
        reactor: Any = None,
        listenMultiple: bool = False,
    ) -> None:
        Port.__init__(self, port, proto, interface, maxPacketSize, reactor)
        self.listenMultiple = listenMultiple

    def _prepareSocket(self, skt: socket.socket) -> None:
        if self.listenMultiple:
            skt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                try:
                    skt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                except OSError:
                    pass

    def _v6(self) -> bool:
        return self.addressFamily == socket.AF_INET6

    def _sock(self) -> socket.socket:
        assert self.socket is not None
        return self.socket

    def getOutgoingInterface(self) -> str:
        if self._v6():
            return str(self._sock().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF))
        i = self._sock().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF)
        return socket.inet_ntoa(struct.pack("@i", i))

    def setOutgoingInterface(self, addr: str) -> Any:
        """
        Send multicast through the interface with address ``addr`` (IPv4), or the interface
        index/name ``addr`` (IPv6).

        :return: a Deferred firing with 1.
        """
        from glisten.internet.defer import fail, succeed

        try:
            if self._v6():
                index = int(addr) if str(addr).isdigit() else socket.if_nametoindex(addr)
                self._sock().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
            else:
                self._sock().setsockopt(
                    socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr)
                )
        except OSError as e:
            return fail(e)
        return succeed(1)

    def getLoopbackMode(self) -> bool:
        if self._v6():
            return bool(self._sock().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP))
        return bool(self._sock().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP))

    def setLoopbackMode(self, mode: bool) -> None:
        if self._v6():
            self._sock().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, int(mode))
        else:
            self._sock().setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, struct.pack("B", int(bool(mode)))
            )

    def getTTL(self) -> int:
        if self._v6():
            return int(self._sock().getsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS))
        return int(self._sock().getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL))

    def setTTL(self, ttl: int) -> None:
        """
        :raises ValueError: if ``ttl`` is outside 0-255.
        """
        if not 0 <= ttl <= 255:
            raise ValueError(f"TTL {ttl!r} out of range 0-255")
        if self._v6():
            self._sock().setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        else:
            self._sock().setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, struct.pack("B", ttl)
            )

    def joinGroup(self, addr: str, interface: str = "") -> Any:
        """
        Join the multicast group ``addr`` (on the interface with address ``interface``).

        :return: a Deferred firing with 1, or failing with MulticastJoinError.
        """
        return self._joinLeave(addr, interface, True)

    def leaveGroup(self, addr: str, interface: str = "") -> Any:
        """
        Leave the multicast group ``addr``.

        :return: a Deferred firing with 1, or failing with MulticastJoinError.
        """
        return self._joinLeave(addr, interface, False)

    def _joinLeave(self, addr: str, interface: str, join: bool) -> Any:
        from glisten.internet.defer import Deferred, fail, succeed

        def apply(resolved: str) -> Any:
            try:
                if self._v6():
                    index = 0
                    if interface:
                        index = (
                            int(interface)
                            if str(interface).isdigit()
                            else socket.if_nametoindex(interface)
                        )
                    mreq6 = socket.inet_pton(socket.AF_INET6, resolved) + struct.pack("@I", index)
                    opt = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
                    self._sock().setsockopt(socket.IPPROTO_IPV6, opt, mreq6)
                else:
                    mreq = socket.inet_aton(resolved) + socket.inet_aton(interface or "0.0.0.0")
                    opt = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
                    self._sock().setsockopt(socket.IPPROTO_IP, opt, mreq)
            except OSError as e:
                return fail(error.MulticastJoinError(addr, interface, *e.args))
            return succeed(1)

        if isIPAddress(addr) or isIPv6Address(addr):
            return apply(addr)
        d: Deferred[Any] = self.reactor.resolve(addr)
        d.addCallback(apply)
        return d


__all__ = ["MulticastPort", "Port"]
