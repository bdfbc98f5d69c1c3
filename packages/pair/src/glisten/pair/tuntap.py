"""
Linux TUN and TAP devices on the reactor.

:class:`TuntapPort` opens ``/dev/net/tun``, creates (or attaches to) a device and reads packets
(TUN: IP packets, for an :class:`~glisten.pair.raw.IRawPacketProtocol` such as
:class:`~glisten.pair.ip.IPProtocol`) or frames (TAP: Ethernet frames, for an
:class:`~glisten.pair.ethernet.IEthernetProtocol`) on the reactor.

Beyond Twisted:

- ``packetInfo=True`` keeps the kernel's 4-byte packet information header: it is taken off
  reads (a truncated packet is then handed up with ``partial=1``) and put on writes.
- Writes the kernel cannot take now (``EAGAIN``) are queued and sent when the device is
  writable; a registered producer is paused while more than :attr:`TuntapPort.bufferSize`
  bytes wait and resumed when they have gone; past :attr:`TuntapPort.maxQueuedBytes` packets
  are dropped (with a log line) as a network would drop them.
- ``pauseProducing`` / ``resumeProducing`` stop and restart reading.
- A missing ``/dev/net/tun`` or a missing ``CAP_NET_ADMIN`` fail ``startListening`` with a
  :class:`~glisten.internet.error.CannotListenError` that says what to do.
"""

from __future__ import annotations

import enum
import errno
import fcntl
import os
import platform
import struct
import warnings
from collections import deque
from typing import Any, NamedTuple

from zope.interface import Attribute, Interface, implementer

from glisten.internet import abstract, defer, error, interfaces, task
from glisten.logger import Logger
from glisten.pair import ethernet, raw
from glisten.python.failure import Failure

__all__ = ["TunnelAddress", "TunnelFlags", "TuntapPort"]

_log = Logger()

_IFNAMSIZ = 16
if platform.machine() == "parisc" or platform.machine().startswith(("ppc", "sparc", "mips")):
    _TUNSETIFF = 0x800454CA
    _TUNGETIFF = 0x400454D2
else:
    _TUNSETIFF = 0x400454CA
    _TUNGETIFF = 0x800454D2

_TUN_KO_PATH = b"/dev/net/tun"

#: The size of the packet information header: 2 bytes of flags, 2 of EtherType.
_PI_SIZE = 4
#: The packet information flag the kernel sets when the packet did not fit the read.
_TUN_PKT_STRIP = 0x0001

_READ_AGAIN = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.EINTR})
_WRITE_LATER = frozenset({errno.EWOULDBLOCK, errno.EAGAIN})


class TunnelFlags(enum.IntFlag):
    """
    Flags of the ``TUNSETIFF`` request (``linux/if_tun.h``).

    ``IFF_TUN`` (IP packets) and ``IFF_TAP`` (Ethernet frames) exclude each other;
    ``IFF_NO_PI`` leaves out the packet information header.
    """

    IFF_TUN = 0x0001
    IFF_TAP = 0x0002
    TUN_FASYNC = 0x0010
    TUN_NOCHECKSUM = 0x0020
    TUN_NO_PI = 0x0040
    TUN_ONE_QUEUE = 0x0080
    TUN_PERSIST = 0x0100
    TUN_VNET_HDR = 0x0200
    IFF_NO_PI = 0x1000
    IFF_ONE_QUEUE = 0x2000
    IFF_VNET_HDR = 0x4000
    IFF_TUN_EXCL = 0x8000


@implementer(interfaces.IAddress)
class TunnelAddress:
    """
    The tunnel a :class:`TuntapPort` is bound to.

    :ivar type: :attr:`TunnelFlags.IFF_TUN` or :attr:`TunnelFlags.IFF_TAP`.
    :ivar name: the device's name, as bytes.
    """

    def __init__(self, type: TunnelFlags, name: bytes) -> None:
        self.type = type
        self.name = name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TunnelAddress):
            return NotImplemented
        return (int(self.type), self.name) == (int(other.type), other.name)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash((int(self.type), self.name))

    def __repr__(self) -> str:
        return f"<TunnelAddress type={self.type.name} name={self.name!r}>"

    def __getitem__(self, index: int) -> Any:
        """
        Deprecated: ``("TUNTAP", name)[index]``; use the attributes.
        """
        warnings.warn(
            "TunnelAddress.__getitem__ is deprecated; use the attributes",
            category=DeprecationWarning,
            stacklevel=2,
        )
        return ("TUNTAP", self.name)[index]


class _TunnelDescription(NamedTuple):
    """
    An opened tunnel: its descriptor and the name the kernel gave it.
    """

    fileno: int
    name: bytes


class _IInputOutputSystem(Interface):
    """
    The operating system calls :class:`TuntapPort` makes, so tests can replace them
    (:class:`glisten.pair.testing.MemoryIOSystem`).
    """

    O_RDWR = Attribute("see os.O_RDWR")
    O_NONBLOCK = Attribute("see os.O_NONBLOCK")
    O_CLOEXEC = Attribute("see os.O_CLOEXEC")

    def open(filename: bytes, flag: int, mode: int = 0o777) -> int:
        """
        See :func:`os.open`.
        """

    def ioctl(fd: int, opt: int, arg: bytes) -> bytes:
        """
        See :func:`fcntl.ioctl`.
        """

    def read(fd: int, limit: int) -> bytes:
        """
        See :func:`os.read`.
        """

    def write(fd: int, data: bytes) -> int:
        """
        See :func:`os.write`.
        """

    def close(fd: int) -> None:
        """
        See :func:`os.close`.
        """


class _RealSystem:
    """
    The real operating system calls.
    """

    open = staticmethod(os.open)
    read = staticmethod(os.read)
    write = staticmethod(os.write)
    close = staticmethod(os.close)
    ioctl = staticmethod(fcntl.ioctl)
    O_RDWR = os.O_RDWR
    O_NONBLOCK = os.O_NONBLOCK
    O_CLOEXEC = os.O_CLOEXEC


def _explain(e: OSError, during: str) -> OSError:
    """
    :return: ``e`` with a message that says how to fix the usual causes.
    """
    if e.errno in (errno.ENOENT, errno.ENXIO, errno.ENODEV) and during == "open":
        text = (
            "/dev/net/tun is missing: load the tun module (modprobe tun) or, in a container, "
            "pass the device in (--device /dev/net/tun)"
        )
    elif e.errno in (errno.EPERM, errno.EACCES):
        text = (
            f"{during} of /dev/net/tun was refused: creating or attaching a TUN/TAP device "
            "needs CAP_NET_ADMIN (run as root or grant the capability), or a persistent "
            "device owned by this user"
        )
    elif e.errno == errno.EBUSY:
        text = "the device is in use by another process or has other flags"
    else:
        return e
    return OSError(e.errno, text)


@implementer(interfaces.IListeningPort)
class TuntapPort(abstract.FileDescriptor):
    """
    A TUN or TAP device read and written on the reactor.

    The type follows the protocol: an :class:`~glisten.pair.ethernet.IEthernetProtocol` gets a
    TAP device, anything else (an :class:`~glisten.pair.raw.IRawPacketProtocol`) a TUN device.

    :param interface: the device name (``b"tap0"``; ``b"tap%d"`` lets the kernel number it).
    :param proto: the protocol; its ``datagramReceived(data, partial=...)`` gets every packet.
    :param maxPacketSize: the read size; a longer packet is cut (and ``partial`` with
        ``packetInfo``).
    :param reactor: the reactor, the global one by default.
    :param system: the operating system calls (tests pass a ``MemoryIOSystem``).
    :param packetInfo: keep the packet information header (see the module docstring).
    :ivar maxThroughput: bytes read per readiness notification before yielding.
    :ivar bufferSize: queued bytes above which a registered producer is paused.
    :ivar maxQueuedBytes: queued bytes above which written packets are dropped.
    :ivar droppedWrites: how many written packets were dropped for a full queue.
    """

    maxThroughput = 256 * 1024
    bufferSize = 2**18
    maxQueuedBytes = 2**22
    _fileno = -1

    def __init__(
        self,
        interface: bytes,
        proto: Any,
        maxPacketSize: int = 8192,
        reactor: Any = None,
        system: Any = None,
        packetInfo: bool = False,
    ) -> None:
        if ethernet.IEthernetProtocol.providedBy(proto):
            self.ethernet = 1
            self._mode = TunnelFlags.IFF_TAP
        else:
            self.ethernet = 0
            self._mode = TunnelFlags.IFF_TUN
            if not raw.IRawPacketProtocol.providedBy(proto):
                raise TypeError(
                    "a TuntapPort needs an IEthernetProtocol (TAP) or an IRawPacketProtocol (TUN)"
                )
        if isinstance(interface, str):
            interface = interface.encode("ascii")
        if len(interface) >= _IFNAMSIZ:
            raise ValueError(f"interface names are at most {_IFNAMSIZ - 1} bytes")
        self._system: Any = system if system is not None else _RealSystem()
        abstract.FileDescriptor.__init__(self, reactor)
        self.interface = interface
        self.protocol = proto
        self.maxPacketSize = maxPacketSize
        self.packetInfo = packetInfo
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self.droppedWrites = 0
        self._stoppedDeferred: defer.Deferred[Any] | None = None
        self.logstr = f"{self._getLogPrefix(proto)} ({self._mode.name})"

    @staticmethod
    def _getLogPrefix(proto: Any) -> str:
        logPrefix = getattr(proto, "logPrefix", None)
        if logPrefix is not None:
            return str(logPrefix())
        return str(proto.__class__.__name__)

    def __repr__(self) -> str:
        cls = self.protocol.__class__
        name = f"{cls.__module__}.{cls.__qualname__}"
        state = "" if self.connected else "not "
        return f"<{name} {state}listening on {self._mode.name}/{self.interface!r}>"

    # ------------------------------------------------------------- opening and closing

    def startListening(self) -> None:
        """
        Open the device and start reading.

        :raises glisten.internet.error.CannotListenError: if the device cannot be opened; the
            message says whether ``/dev/net/tun`` or ``CAP_NET_ADMIN`` is missing.
        """
        self._bindSocket()
        self.protocol.makeConnection(self)
        self.startReading()

    def _openTunnel(self, name: bytes, mode: TunnelFlags) -> _TunnelDescription:
        system = self._system
        flags = system.O_RDWR | system.O_CLOEXEC | system.O_NONBLOCK
        config = struct.pack(f"{_IFNAMSIZ}sH", name, int(mode))
        try:
            fileno = system.open(_TUN_KO_PATH, flags)
        except OSError as e:
            raise _explain(e, "open")
        try:
            result: bytes = system.ioctl(fileno, _TUNSETIFF, config)
        except OSError as e:
            system.close(fileno)
            raise _explain(e, "TUNSETIFF")
        return _TunnelDescription(fileno, bytes(result[:_IFNAMSIZ]).strip(b"\x00"))

    def _bindSocket(self) -> None:
        _log.info(
            "{protocol} starting on {interface}",
            protocol=self.protocol.__class__.__name__,
            interface=self.interface.decode("ascii", "replace"),
        )
        mode = self._mode if self.packetInfo else self._mode | TunnelFlags.IFF_NO_PI
        try:
            fileno, interface = self._openTunnel(self.interface, mode)
        except OSError as e:
            name = self.interface.decode("ascii", "replace")
            raise error.CannotListenError(None, name, e)  # type: ignore[arg-type]
        self.interface = interface
        self._fileno = fileno
        self.connected = 1

    def fileno(self) -> int:
        """
        :return: the device's descriptor, -1 when closed.
        """
        return self._fileno

    def stopListening(self) -> defer.Deferred[Any]:
        """
        Stop reading and close the device on the next reactor turn.

        :return: a Deferred that fires once it is closed.
        """
        self.stopReading()
        if self.disconnecting:
            assert self._stoppedDeferred is not None
            return self._stoppedDeferred
        if self.connected:
            self.disconnecting = True
            self._stoppedDeferred = task.deferLater(self.reactor, 0, self.connectionLost)
            return self._stoppedDeferred
        return defer.succeed(None)

    def loseConnection(self) -> None:
        """
        Deprecated in Twisted: use :meth:`stopListening`.
        """
        self.stopListening().addErrback(lambda f: _log.failure("stopping", f))

    def connectionLost(self, reason: Failure | None = None) -> None:
        """
        Close the device and stop the protocol.
        """
        _log.info(
            "(Tuntap {interface} Closed)", interface=self.interface.decode("ascii", "replace")
        )
        abstract.FileDescriptor.connectionLost(self, reason)  # type: ignore[arg-type]
        self.protocol.doStop()
        self.connected = 0
        self._queue.clear()
        self._queued = 0
        if self._fileno != -1:
            self._system.close(self._fileno)
        self._fileno = -1

    def logPrefix(self) -> str:
        """
        :return: the protocol's name and the tunnel type.
        """
        return self.logstr

    def getHost(self) -> TunnelAddress:
        """
        :return: the type and name of the device.
        """
        return TunnelAddress(self._mode, self.interface)

    # ------------------------------------------------------------- reading

    def doRead(self) -> None:
        """
        Read packets until the device is empty or :attr:`maxThroughput` bytes were read, and
        hand each to the protocol; an exception from the protocol is logged, not raised.
        """
        info = self.packetInfo
        read = 0
        sysRead = self._system.read
        fd = self._fileno
        size = self.maxPacketSize + (_PI_SIZE if info else 0)
        received = self.protocol.datagramReceived
        limit = self.maxThroughput
        while read < limit:
            try:
                data = sysRead(fd, size)
            except OSError as e:
                if e.errno in _READ_AGAIN:
                    return
                raise
            read += len(data)
            partial = 0
            if info:
                if len(data) < _PI_SIZE:
                    continue
                partial = 1 if (data[0] << 8 | data[1]) & _TUN_PKT_STRIP else 0
                data = data[_PI_SIZE:]
            try:
                received(data, partial)
            except Exception:
                self._receiveFailed()
            if self.disconnecting or self._fileno != fd:
                return

    def _receiveFailed(self) -> None:
        _log.failure(
            "Unhandled exception from {cls}.datagramReceived",
            cls=self.protocol.__class__.__name__,
        )

    # ------------------------------------------------------------- writing

    def _withInfo(self, datagram: bytes) -> bytes:
        if self._mode & TunnelFlags.IFF_TAP:
            proto = 0
        elif datagram and datagram[0] >> 4 == 6:
            proto = 0x86DD
        else:
            proto = 0x0800
        return b"\x00\x00" + proto.to_bytes(2, "big") + datagram

    def write(self, datagram: bytes) -> None:
        """
        Send one packet (TUN) or frame (TAP). If the kernel cannot take it now it is queued.

        :raises OSError: for errors other than ``EINTR`` (retried) and ``EAGAIN`` (queued),
            such as a packet the device refuses.
        """
        if self.packetInfo:
            datagram = self._withInfo(datagram)
        if self._queue:
            self._enqueue(datagram)
            return
        while True:
            try:
                self._system.write(self._fileno, datagram)
                return
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                if e.errno in _WRITE_LATER:
                    self._enqueue(datagram)
                    return
                raise

    def writeSequence(self, seq: Any) -> None:
        """
        Send the concatenation of ``seq`` as one packet.
        """
        self.write(b"".join(seq))

    def _enqueue(self, datagram: bytes) -> None:
        if self._queued + len(datagram) > self.maxQueuedBytes:
            self.droppedWrites += 1
            _log.debug("Dropped a packet: the write queue of {i} is full", i=self.interface)
            return
        self._queue.append(datagram)
        self._queued += len(datagram)
        self.startWriting()
        producer = self.producer
        if (
            producer is not None
            and self.streamingProducer
            and not self.producerPaused
            and self._queued > self.bufferSize
        ):
            self.producerPaused = True
            producer.pauseProducing()

    def doWrite(self) -> None:
        """
        Send queued packets (the reactor calls this when writable); resume a paused producer
        once the queue is empty. A packet the kernel refuses is dropped with a log line.
        """
        queue = self._queue
        while queue:
            datagram = queue[0]
            try:
                self._system.write(self._fileno, datagram)
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                if e.errno in _WRITE_LATER:
                    return
                _log.error("Dropped a queued packet: {error}", error=str(e))
            queue.popleft()
            self._queued -= len(datagram)
        self.stopWriting()
        producer = self.producer
        if producer is not None and ((not self.streamingProducer) or self.producerPaused):
            self.producerPaused = False
            producer.resumeProducing()

    def _isSendBufferEmpty(self) -> bool:
        return not self._queue

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        Attach a producer of packets; a streaming one is paused while the write queue is over
        :attr:`bufferSize`.
        """
        abstract.FileDescriptor.registerProducer(self, producer, streaming)
        if streaming and self._queued > self.bufferSize and not self.producerPaused:
            self.producerPaused = True
            producer.pauseProducing()
