"""
In-memory stand-ins for testing programs built on :mod:`glisten.pair`.

:class:`MemoryIOSystem` replaces the operating system calls of
:class:`~glisten.pair.tuntap.TuntapPort` (pass it as ``system=``); :class:`Tunnel` is the
in-memory ``/dev/net/tun`` device it opens. ``_ethernet``, ``_ip`` and ``_udp`` build frames
for tests, as Twisted's helpers of the same names do.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from errno import EAGAIN, EBADF, EINTR, EINVAL, ENOBUFS, ENOENT, EPERM
from typing import Any, TypeVar

from zope.interface import implementer

from glisten.internet.protocol import DatagramProtocol
from glisten.pair._wire import (
    IPv4Packet,
    UDPDatagram,
    encodeIPv4,
    encodeUDP,
)
from glisten.pair.ethernet import EthernetProtocol
from glisten.pair.ip import IPProtocol
from glisten.pair.rawudp import RawUDPProtocol
from glisten.pair.tuntap import (
    _IFNAMSIZ,
    _PI_SIZE,
    _TUN_KO_PATH,
    _TUNSETIFF,
    TunnelFlags,
    _IInputOutputSystem,
)

__all__ = ["MemoryIOSystem", "Tunnel"]

_IPv4 = 0x0800


def _H(n: int) -> bytes:
    """
    :return: ``n`` as two network-order bytes.
    """
    return struct.pack(">H", n)


def _ethernet(src: bytes, dst: bytes, protocol: int, payload: bytes) -> bytes:
    """
    :return: an Ethernet frame from ``src`` to ``dst`` carrying ``payload`` of type
        ``protocol``.
    """
    return dst + src + _H(protocol) + payload


def _ip(src: str | bytes, dst: str | bytes, payload: bytes) -> bytes:
    """
    :return: an IPv4 UDP packet (protocol 17) from ``src`` to ``dst``, checksum computed.
    """
    if isinstance(src, bytes):
        src = src.decode("ascii")
    if isinstance(dst, bytes):
        dst = dst.decode("ascii")
    return encodeIPv4(IPv4Packet(src, dst, 17, payload, fragmentId=1))


def _udp(src: int, dst: int, payload: bytes) -> bytes:
    """
    :return: a UDP datagram from port ``src`` to port ``dst`` (checksum 0: none).
    """
    return encodeUDP(UDPDatagram(src, dst, payload))


class Tunnel:
    """
    An in-memory tunnel device, as :meth:`MemoryIOSystem.open` makes it.

    :ivar readBuffer: packets the port will read (without framing added by the device).
    :ivar writeBuffer: packets the port wrote.
    :ivar pendingSignals: while not empty, each write fails once with ``EINTR``.
    :ivar writeBlocked: while true, writes fail with ``EAGAIN`` (a full device queue).
    :ivar tunnelMode: the flags of ``TUNSETIFF``.
    :ivar requestedName: the name asked for.
    :ivar name: the name given.
    """

    _DEVICE_NAME = _TUN_KO_PATH
    #: Writes larger than this fail with ``ENOBUFS``.
    SEND_BUFFER_SIZE = 1024
    #: What a read of an empty non-blocking tunnel raises.
    nonBlockingExceptionStyle = OSError(EAGAIN, "Resource temporarily unavailable")

    def __init__(self, system: MemoryIOSystem, openFlags: int, fileMode: int | None) -> None:
        self.system = system
        self.openFlags = openFlags
        self.tunnelMode: int = 0
        self.requestedName: bytes | None = None
        self.name: bytes | None = None
        self.readBuffer: deque[bytes] = deque()
        self.writeBuffer: deque[bytes] = deque()
        self.pendingSignals: deque[Any] = deque()
        self.writeBlocked = False

    @property
    def blocking(self) -> bool:
        """:return: whether it was opened without ``O_NONBLOCK``."""
        return not (self.openFlags & self.system.O_NONBLOCK)

    @property
    def closeOnExec(self) -> bool:
        """:return: whether it was opened with ``O_CLOEXEC``."""
        return bool(self.openFlags & self.system.O_CLOEXEC)

    def addToReadBuffer(self, datagram: bytes) -> None:
        """
        Make an IP packet readable; a TAP tunnel wraps it in an Ethernet frame first.
        """
        if self.tunnelMode & TunnelFlags.IFF_TAP:
            datagram = _ethernet(b"\x00" * 6, b"\xff" * 6, _IPv4, datagram)
        self.readBuffer.append(datagram)

    def read(self, limit: int) -> bytes:
        """
        :return: the next packet, cut at ``limit`` bytes, behind a zero packet information
            header unless ``IFF_NO_PI`` was asked for.
        :raises OSError: ``EAGAIN`` when empty.
        """
        if self.readBuffer:
            if self.tunnelMode & TunnelFlags.IFF_NO_PI:
                header = b""
            else:
                header = b"\x00" * _PI_SIZE
                limit -= _PI_SIZE
            return header + self.readBuffer.popleft()[:limit]
        if self.blocking:
            raise NotImplementedError("a blocking read of an empty in-memory tunnel")
        raise self.nonBlockingExceptionStyle

    def write(self, datagram: bytes) -> int:
        """
        Record a written packet.

        :raises OSError: ``EINTR`` for a pending signal, ``EAGAIN`` while :attr:`writeBlocked`,
            ``ENOBUFS`` for more than :attr:`SEND_BUFFER_SIZE` bytes.
        """
        if self.pendingSignals:
            self.pendingSignals.popleft()
            raise OSError(EINTR, "Interrupted system call")
        if self.writeBlocked:
            raise OSError(EAGAIN, "Resource temporarily unavailable")
        if len(datagram) > self.SEND_BUFFER_SIZE:
            raise OSError(ENOBUFS, "No buffer space available")
        self.writeBuffer.append(datagram)
        return len(datagram)


_F = TypeVar("_F", bound=Callable[..., Any])


def _privileged(original: _F) -> _F:
    def permissionChecker(self: MemoryIOSystem, *args: Any, **kwargs: Any) -> Any:
        if original.__name__ not in self.permissions:
            raise OSError(EPERM, "Operation not permitted")
        return original(self, *args, **kwargs)

    permissionChecker.__name__ = original.__name__
    permissionChecker.__doc__ = original.__doc__
    return permissionChecker  # type: ignore[return-value]


@implementer(_IInputOutputSystem)
class MemoryIOSystem:
    """
    In-memory replacements for ``os.open``, ``read``, ``write``, ``close`` and
    ``fcntl.ioctl``.

    :ivar permissions: the privileged calls allowed (``"open"``, ``"ioctl"``); take one out to
        act as a process without ``CAP_NET_ADMIN``.
    """

    _counter = 8192
    O_RDWR = 1 << 0
    O_NONBLOCK = 1 << 1
    O_CLOEXEC = 1 << 2

    def __init__(self) -> None:
        self._devices: dict[bytes, Callable[..., Tunnel]] = {}
        self._openFiles: dict[int, Tunnel] = {}
        self.permissions = {"open", "ioctl"}

    def getTunnel(self, port: Any) -> Tunnel:
        """
        :return: the :class:`Tunnel` behind ``port`` (a started TuntapPort).
        """
        return self._openFiles[port.fileno()]

    def registerSpecialDevice(self, name: bytes, cls: Callable[..., Tunnel]) -> None:
        """
        Make ``open(name)`` build a ``cls(system, flags, mode)``.
        """
        self._devices[name] = cls

    @_privileged
    def open(self, name: bytes, flags: int, mode: int | None = None) -> int:
        """
        :return: a new descriptor for a registered device.
        :raises OSError: ``ENOENT`` for anything else, ``EPERM`` without the permission.
        """
        if name in self._devices:
            fd = self._counter
            self._counter += 1
            self._openFiles[fd] = self._devices[name](self, flags, mode)
            return fd
        raise OSError(ENOENT, "No such file or directory")

    def read(self, fd: int, limit: int) -> bytes:
        """
        :return: the next packet of the tunnel ``fd``.
        """
        try:
            tunnel = self._openFiles[fd]
        except KeyError:
            raise OSError(EBADF, "Bad file descriptor")
        return tunnel.read(limit)

    def write(self, fd: int, data: bytes) -> int:
        """
        Write a packet into the tunnel ``fd``.
        """
        try:
            tunnel = self._openFiles[fd]
        except KeyError:
            raise OSError(EBADF, "Bad file descriptor")
        return tunnel.write(data)

    def close(self, fd: int) -> None:
        """
        Forget the tunnel ``fd``.
        """
        try:
            del self._openFiles[fd]
        except KeyError:
            raise OSError(EBADF, "Bad file descriptor")

    @_privileged
    def ioctl(self, fd: int, request: int, args: bytes) -> bytes:
        """
        Handle ``TUNSETIFF``: record the mode and name asked for, name the device (the name
        asked for with its last three bytes replaced by ``123``).
        """
        try:
            tunnel = self._openFiles[fd]
        except KeyError:
            raise OSError(EBADF, "Bad file descriptor")
        if request != _TUNSETIFF:
            raise OSError(EINVAL, "Request or args is not valid.")
        name, mode = struct.unpack(f"{_IFNAMSIZ}sH", args)
        tunnel.tunnelMode = mode
        tunnel.requestedName = name
        tunnel.name = name[: _IFNAMSIZ - 3] + b"123"
        return struct.pack(f"{_IFNAMSIZ}sH", tunnel.name, mode)

    def sendUDP(self, datagram: bytes, address: tuple[str, int]) -> tuple[str, int]:
        """
        Make a UDP datagram to ``address`` readable on the first open tunnel.

        :return: the (made up) address it came from.
        """
        srcIP = "10.1.2.3"
        srcPort = 21345
        serialized = _ip(srcIP, address[0], _udp(srcPort, address[1], datagram))
        next(iter(self._openFiles.values())).addToReadBuffer(serialized)
        return (srcIP, srcPort)

    def receiveUDP(self, fileno: int, host: str, port: int) -> _FakePort:
        """
        :return: a socket-like object whose ``recv`` gives the payload of the next UDP
            datagram written to the tunnel ``fileno`` for ``port``.
        """
        return _FakePort(self, fileno, port)


class _FakePort:
    """
    Reads UDP payloads out of what a port wrote to an in-memory tunnel.
    """

    def __init__(self, system: MemoryIOSystem, fileno: int, port: int = 12345) -> None:
        self._system = system
        self._fileno = fileno
        self._port = port

    def recv(self, nbytes: int) -> bytes:
        """
        :return: the payload of the next written UDP datagram, cut at ``nbytes``.
        """
        tunnel = self._system._openFiles[self._fileno]
        data = tunnel.writeBuffer.popleft()
        datagrams: list[bytes] = []

        class _Capture(DatagramProtocol):
            def datagramReceived(self, datagram: bytes, addr: Any) -> None:
                datagrams.append(datagram)

        udp = RawUDPProtocol()
        udp.addProto(self._port, _Capture())
        ip = IPProtocol()
        ip.addProto(17, udp)
        if not tunnel.tunnelMode & TunnelFlags.IFF_NO_PI:
            data = data[_PI_SIZE:]
        if tunnel.tunnelMode & TunnelFlags.IFF_TAP:
            ether = EthernetProtocol()
            ether.addProto(_IPv4, ip)
            ether.datagramReceived(data)
        else:
            ip.datagramReceived(data)
        return datagrams[0][:nbytes]
