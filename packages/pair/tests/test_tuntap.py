"""TuntapPort against MemoryIOSystem: opening, reading, writing, back-pressure, closing, errors."""

from __future__ import annotations

import errno
from collections import deque
from typing import Any

import pytest
from zope.interface import implementer

from glisten.internet import error
from glisten.internet.interfaces import IPushProducer
from glisten.internet.testing import MemoryReactorClock
from glisten.pair import raw
from glisten.pair.ethernet import EthernetProtocol
from glisten.pair.testing import MemoryIOSystem, Tunnel, _ethernet, _ip, _udp
from glisten.pair.tuntap import (
    _IFNAMSIZ,
    TunnelAddress,
    TunnelFlags,
    TuntapPort,
    _RealSystem,
)


@implementer(raw.IRawPacketProtocol)
class IPRecorder:
    """A TUN protocol that records what it gets."""

    transport: Any = None

    def __init__(self) -> None:
        self.received: list[tuple[bytes, int]] = []
        self.started = self.stopped = 0
        self.fail = False

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport
        self.started += 1

    def doStop(self) -> None:
        self.stopped += 1

    def addProto(self, num: int, proto: Any) -> None:
        pass

    def datagramReceived(self, data: bytes, partial: int = 0, **kw: Any) -> None:
        if self.fail:
            raise RuntimeError("boom")
        self.received.append((data, partial))


class EthernetRecorder(EthernetProtocol):
    def __init__(self) -> None:
        EthernetProtocol.__init__(self)
        self.received: list[tuple[bytes, int]] = []

    def datagramReceived(self, data: bytes, partial: int = 0) -> None:
        self.received.append((data, partial))


@pytest.fixture(params=["tun", "tap"])
def setup(
    request: pytest.FixtureRequest,
) -> tuple[MemoryIOSystem, Any, MemoryReactorClock, TuntapPort]:
    system = MemoryIOSystem()
    system.registerSpecialDevice(Tunnel._DEVICE_NAME, Tunnel)
    proto: Any = IPRecorder() if request.param == "tun" else EthernetRecorder()
    reactor = MemoryReactorClock()
    port = TuntapPort(b"tun0", proto, reactor=reactor, system=system)
    return system, proto, reactor, port


def kind(port: TuntapPort) -> TunnelFlags:
    return TunnelFlags.IFF_TAP if port.ethernet else TunnelFlags.IFF_TUN


def test_startListeningOpensDevice(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    tunnel = system.getTunnel(port)
    assert tunnel.openFlags == system.O_RDWR | system.O_CLOEXEC | system.O_NONBLOCK
    assert tunnel.requestedName == b"tun0" + b"\x00" * (_IFNAMSIZ - 4)
    assert tunnel.tunnelMode == kind(port) | TunnelFlags.IFF_NO_PI
    assert tunnel.name == port.interface
    assert not tunnel.blocking
    assert tunnel.closeOnExec


def test_startListeningConnectsAndReads(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    assert port.connected
    assert proto.transport is port
    assert port in reactor.getReaders()


def test_startListeningWithoutPermission(setup: Any) -> None:
    system, proto, reactor, port = setup
    system.permissions.discard("ioctl")
    with pytest.raises(error.CannotListenError) as info:
        port.startListening()
    assert "CAP_NET_ADMIN" in str(info.value)
    assert info.value.socketError.errno == errno.EPERM  # type: ignore[union-attr]
    assert not port.connected
    assert system._openFiles == {}  # the descriptor was closed


def test_startListeningWithoutOpenPermission(setup: Any) -> None:
    system, proto, reactor, port = setup
    system.permissions.discard("open")
    with pytest.raises(error.CannotListenError, match="CAP_NET_ADMIN"):
        port.startListening()


def test_startListeningWithoutDevice() -> None:
    system = MemoryIOSystem()  # no /dev/net/tun registered
    port = TuntapPort(b"tun0", IPRecorder(), reactor=MemoryReactorClock(), system=system)
    with pytest.raises(error.CannotListenError, match="/dev/net/tun is missing") as info:
        port.startListening()
    assert info.value.socketError.errno == errno.ENOENT  # type: ignore[union-attr]


def test_wrongProtocolRefused() -> None:
    with pytest.raises(TypeError):
        TuntapPort(b"tun0", object(), reactor=MemoryReactorClock(), system=MemoryIOSystem())


def test_longNameRefused() -> None:
    with pytest.raises(ValueError):
        TuntapPort(b"x" * 16, IPRecorder(), reactor=MemoryReactorClock(), system=MemoryIOSystem())


def test_stopListening(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    fileno = port.fileno()
    d = port.stopListening()
    assert port not in reactor.getReaders()
    assert port.stopListening() is d  # a second call waits for the same close
    reactor.advance(0)
    fired: list[object] = []
    d.addCallback(fired.append)
    assert fired == [None]
    assert not port.connected
    assert port.fileno() == -1
    assert fileno not in system._openFiles
    stopped = proto.stopped if isinstance(proto, IPRecorder) else 1
    assert stopped == 1
    later: list[object] = []
    port.stopListening().addCallback(later.append)
    assert later == [None]


def test_stopListeningWhenNeverStarted(setup: Any) -> None:
    system, proto, reactor, port = setup
    fired: list[object] = []
    port.stopListening().addCallback(fired.append)
    assert fired == [None]


@pytest.mark.parametrize("code", [errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR])
def test_readAgainStops(setup: Any, code: int) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    system.getTunnel(port).nonBlockingExceptionStyle = OSError(code, "again")
    port.doRead()
    assert proto.received == []


def test_unhandledReadError(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    system.getTunnel(port).nonBlockingExceptionStyle = OSError(errno.EBADF, "bad")
    with pytest.raises(OSError):
        port.doRead()


def test_doReadSeveralDatagrams(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    tunnel = system.getTunnel(port)
    packets = [_ip("10.0.0.1", "10.0.0.2", _udp(1, 2, bytes([n]) * 10)) for n in range(5)]
    for p in packets:
        tunnel.addToReadBuffer(p)
    port.doRead()
    got = [data for data, partial in proto.received]
    if port.ethernet:
        got = [g[14:] for g in got]
    assert got == packets


def test_doReadLargeDatagramCut(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.maxPacketSize = 40
    port.startListening()
    system.getTunnel(port).addToReadBuffer(b"x" * 100)
    port.doRead()
    assert len(proto.received[0][0]) == 40


def test_doReadStopsAtMaxThroughput(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.maxThroughput = 250
    port.startListening()
    tunnel = system.getTunnel(port)
    for _ in range(10):
        tunnel.addToReadBuffer(b"y" * 100)
    port.doRead()
    assert len(proto.received) == 3
    port.doRead()
    assert len(proto.received) == 6


def test_datagramReceivedExceptionLogged() -> None:
    system = MemoryIOSystem()
    system.registerSpecialDevice(Tunnel._DEVICE_NAME, Tunnel)
    proto = IPRecorder()
    port = TuntapPort(b"tun0", proto, reactor=MemoryReactorClock(), system=system)
    port.startListening()
    proto.fail = True
    tunnel = system.getTunnel(port)
    tunnel.addToReadBuffer(b"one")
    tunnel.addToReadBuffer(b"two")
    port.doRead()  # logged, not raised; both were read
    assert not tunnel.readBuffer


def test_write(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    port.write(b"a b c d e f g")
    port.writeSequence([b"a", b"b", b"c"])
    assert system.getTunnel(port).writeBuffer == deque([b"a b c d e f g", b"abc"])


def test_interruptedWriteRetried(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    tunnel = system.getTunnel(port)
    tunnel.pendingSignals.append(2)
    port.write(b"hello, world")
    assert tunnel.writeBuffer == deque([b"hello, world"])


def test_unhandledWriteError(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    tunnel = system.getTunnel(port)
    with pytest.raises(OSError):
        port.write(b"x" * tunnel.SEND_BUFFER_SIZE + b"y")


@implementer(IPushProducer)
class Producer:
    def __init__(self) -> None:
        self.events: list[str] = []

    def pauseProducing(self) -> None:
        self.events.append("pause")

    def resumeProducing(self) -> None:
        self.events.append("resume")

    def stopProducing(self) -> None:
        self.events.append("stop")


def test_backPressure(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.bufferSize = 250
    port.startListening()
    producer = Producer()
    port.registerProducer(producer, True)
    tunnel = system.getTunnel(port)
    tunnel.writeBlocked = True
    port.write(b"1" * 100)
    port.write(b"2" * 100)
    assert producer.events == []
    assert port in reactor.getWriters()
    port.write(b"3" * 100)
    assert producer.events == ["pause"]
    assert tunnel.writeBuffer == deque()
    port.doWrite()  # still blocked: nothing moves
    assert tunnel.writeBuffer == deque()
    tunnel.writeBlocked = False
    port.write(b"4" * 10)  # queued behind the others, order kept
    port.doWrite()
    assert list(tunnel.writeBuffer) == [b"1" * 100, b"2" * 100, b"3" * 100, b"4" * 10]
    assert producer.events == ["pause", "resume"]
    assert port not in reactor.getWriters()


def test_queueOverflowDrops(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.maxQueuedBytes = 150
    port.startListening()
    tunnel = system.getTunnel(port)
    tunnel.writeBlocked = True
    port.write(b"1" * 100)
    port.write(b"2" * 100)
    assert port.droppedWrites == 1
    tunnel.writeBlocked = False
    port.doWrite()
    assert list(tunnel.writeBuffer) == [b"1" * 100]


def test_queuedPacketRefusedIsDropped(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    tunnel = system.getTunnel(port)
    tunnel.writeBlocked = True
    port.write(b"x" * 2000)  # too big for the device, found out only later
    port.write(b"ok")
    tunnel.writeBlocked = False
    port.doWrite()
    assert list(tunnel.writeBuffer) == [b"ok"]


def test_pauseAndResumeReading(setup: Any) -> None:
    system, proto, reactor, port = setup
    port.startListening()
    port.pauseProducing()
    assert port not in reactor.getReaders()
    port.resumeProducing()
    assert port in reactor.getReaders()


def test_packetInfo(setup: Any) -> None:
    system, proto, reactor, _ = setup
    port = TuntapPort(b"tun0", proto, reactor=reactor, system=system, packetInfo=True)
    port.startListening()
    tunnel = system.getTunnel(port)
    assert not tunnel.tunnelMode & TunnelFlags.IFF_NO_PI
    packet = _ip("10.0.0.1", "10.0.0.2", _udp(1, 2, b"pi"))
    tunnel.addToReadBuffer(packet)
    port.doRead()
    data, partial = proto.received[0]
    assert (data[14:] if port.ethernet else data) == packet
    assert partial == 0
    port.write(packet)
    expectedProto = b"\x00\x00" if port.ethernet else b"\x08\x00"
    assert tunnel.writeBuffer[0] == b"\x00\x00" + expectedProto + packet


def test_packetInfoStripFlagMeansPartial() -> None:
    system = MemoryIOSystem()
    system.registerSpecialDevice(Tunnel._DEVICE_NAME, Tunnel)
    proto = IPRecorder()
    port = TuntapPort(b"tun0", proto, reactor=MemoryReactorClock(), system=system, packetInfo=True)
    port.startListening()
    tunnel = system.getTunnel(port)
    tunnel.tunnelMode |= TunnelFlags.IFF_NO_PI  # hand back the raw header below unchanged
    tunnel.readBuffer.append(b"\x00\x01\x08\x00" + b"cut")
    tunnel.readBuffer.append(b"\x00\x00\x86\xdd" + b"whole")
    tunnel.readBuffer.append(b"\x00")  # shorter than the header: skipped
    port.doRead()
    assert proto.received == [(b"cut", 1), (b"whole", 0)]


def test_getHostAndStrings(setup: Any) -> None:
    system, proto, reactor, port = setup
    cls = proto.__class__
    assert f"{cls.__module__}.{cls.__qualname__}" in repr(port)
    assert f" not listening on {kind(port).name}/b'tun0'>" in repr(port)
    assert port.logPrefix() == f"{cls.__name__} ({kind(port).name})"
    port.startListening()
    name = system.getTunnel(port).name
    assert port.getHost() == TunnelAddress(kind(port), name)
    assert f" listening on {kind(port).name}/{name!r}>" in repr(port)


def test_tunnelAddress() -> None:
    a = TunnelAddress(TunnelFlags.IFF_TUN, b"tun0")
    assert a == TunnelAddress(TunnelFlags.IFF_TUN, b"tun0")
    assert not a != TunnelAddress(TunnelFlags.IFF_TUN, b"tun0")
    assert a != TunnelAddress(TunnelFlags.IFF_TAP, b"tun0")
    assert a != TunnelAddress(TunnelFlags.IFF_TUN, b"tun1")
    assert a != ("TUNTAP", b"tun0")
    assert hash(a) == hash(TunnelAddress(TunnelFlags.IFF_TUN, b"tun0"))
    assert "IFF_TUN" in repr(a) and "tun0" in repr(a)
    with pytest.warns(DeprecationWarning):
        assert a[0] == "TUNTAP"
    with pytest.warns(DeprecationWarning):
        assert a[1] == b"tun0"


def test_realSystem() -> None:
    import fcntl
    import os

    system = _RealSystem()
    assert system.open is os.open and system.ioctl is fcntl.ioctl
    assert system.O_CLOEXEC == os.O_CLOEXEC


def test_memorySystemErrors() -> None:
    system = MemoryIOSystem()
    system.registerSpecialDevice(Tunnel._DEVICE_NAME, Tunnel)
    with pytest.raises(OSError):
        system.open(b"/dev/there-is-no-such-device-ever", system.O_RDWR)
    for call in (
        lambda: system.read(1, 10),
        lambda: system.write(1, b"x"),
        lambda: system.close(1),
        lambda: system.ioctl(1, 0, b""),
    ):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.EBADF
    fd = system.open(Tunnel._DEVICE_NAME, system.O_RDWR)
    with pytest.raises(OSError) as info:
        system.ioctl(fd, 0x1234, b"")
    assert info.value.errno == errno.EINVAL
    with pytest.raises(NotImplementedError):
        system.read(fd, 10)  # a blocking read of an empty tunnel


@pytest.mark.parametrize("packetInfo", [False, True])
def test_sendAndReceiveUDP(setup: Any, packetInfo: bool) -> None:
    from glisten.internet.protocol import DatagramProtocol
    from glisten.pair.ip import IPProtocol
    from glisten.pair.rawudp import RawUDPProtocol

    system, _, reactor, port = setup
    received: list[tuple[bytes, Any]] = []

    class Echo(DatagramProtocol):
        def datagramReceived(self, datagram: bytes, addr: Any) -> None:
            received.append((datagram, addr))

    udp = RawUDPProtocol()
    udp.addProto(12345, Echo())
    ipProto = IPProtocol()
    ipProto.addProto(17, udp)
    top: Any = ipProto
    if port.ethernet:
        top = EthernetProtocol()
        top.addProto(0x0800, ipProto)
    port = TuntapPort(b"tun0", top, reactor=reactor, system=system, packetInfo=packetInfo)
    port.startListening()
    source = system.sendUDP(b"hello", ("10.0.0.2", 12345))
    port.doRead()
    assert received == [(b"hello", source)]
    # And back: what the port writes, receiveUDP reads.
    reply = _ip("10.0.0.2", source[0], _udp(12345, 12345, b"world"))
    if port.ethernet:
        reply = _ethernet(b"\x02" * 6, b"\x04" * 6, 0x0800, reply)
    port.write(reply)
    assert system.receiveUDP(port.fileno(), "10.0.0.2", 12345).recv(100) == b"world"


def test_stopListeningFromTheProtocolStopsTheReadLoop() -> None:
    system = MemoryIOSystem()
    system.registerSpecialDevice(Tunnel._DEVICE_NAME, Tunnel)
    reactor = MemoryReactorClock()

    class StopAfterOne(IPRecorder):
        def datagramReceived(self, data: bytes, partial: int = 0, **kw: Any) -> None:
            IPRecorder.datagramReceived(self, data, partial)
            port.stopListening()

    proto = StopAfterOne()
    port = TuntapPort(b"tun0", proto, reactor=reactor, system=system)
    port.startListening()
    tunnel = system.getTunnel(port)
    tunnel.readBuffer.extend([b"one", b"two"])
    port.doRead()
    assert proto.received == [(b"one", 0)]
    reactor.advance(0)
    assert port.fileno() == -1
