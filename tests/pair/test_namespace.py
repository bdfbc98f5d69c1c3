"""The kernel as the peer: ping, ARP, neighbour discovery and socat UDP against glisten-pair.

Each test runs in a network namespace of its own (see ``conftest.py``); the kernel sends its
own IPv6 router solicitations and MLD reports when a device comes up, which the assertions
filter out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from .conftest import ROOT, Glisten, inside, requireBinary

pytestmark = pytest.mark.interop

RESPONDER = str(ROOT / "examples" / "pair" / "responder.py")

TUN_SERVER = r"""
import sys
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.protocol import DatagramProtocol
from glisten.pair.ip import IPHeader, IPv4Packet, IPv6Packet, encodeIPv4, encodeIPv6
from glisten.pair.raw import MalformedPacket
from glisten.pair.rawudp import RawUDPProtocol, UDPDatagram, encodeUDP
from glisten.pair.responder import IPResponder
from glisten.pair.tuntap import TuntapPort

V4, V6 = sys.argv[2], sys.argv[3]
if sys.argv[4] == "asyncio":
    from glisten.internet.asyncioreactor import AsyncioSelectorReactor

    reactor = AsyncioSelectorReactor()
else:
    reactor = EPollReactor()


class Recording(IPResponder):
    def datagramReceived(self, data, partial=0, dest=None, source=None, protocol=None):
        try:
            h = IPHeader(data)
            kind = h.payload[0] if h.payload else -1
            print("seen", h.version, h.protocol, kind, h.saddr, h.daddr, flush=True)
        except MalformedPacket:
            print("seen malformed", flush=True)
        IPResponder.datagramReceived(self, data, partial, dest, source, protocol)


class Echo(DatagramProtocol):
    def datagramReceived(self, data, addr):
        host, port = addr
        print("udp", host, port, data.decode(errors="replace").strip(), flush=True)
        ours = V6 if ":" in host else V4
        body = encodeUDP(UDPDatagram(7, port, b"echo:" + data), ours, host)
        if ":" in host:
            packet = encodeIPv6(IPv6Packet(ours, host, 17, body))
        else:
            packet = encodeIPv4(IPv4Packet(ours, host, 17, body))
        tun.write(packet)


top = Recording(V4, V6)
udp = RawUDPProtocol()
udp.addProto(7, Echo())
top.addProto(17, udp)
tun = TuntapPort(sys.argv[1].encode(), top, reactor=reactor)
tun.startListening()
print("ready", tun.getHost().name.decode(), flush=True)
reactor.callInThread(lambda: (sys.stdin.read(), reactor.callFromThread(reactor.stop)))
reactor.run(installSignalHandlers=False)
print("answered", top.responder.answered, flush=True)
"""

TAP_SERVER = r"""
import sys
from zope.interface import implementer
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.protocol import DatagramProtocol
from glisten.pair.ethernet import EthernetFrame, encodeEthernet
from glisten.pair.ip import IPProtocol, IPv4Packet, IPv6Packet, encodeIPv4, encodeIPv6
from glisten.pair.raw import IRawPacketProtocol
from glisten.pair.rawudp import RawUDPProtocol, UDPDatagram, encodeUDP
from glisten.pair.responder import EthernetResponder
from glisten.pair.tuntap import TuntapPort

V4, V6 = sys.argv[2], sys.argv[3]
reactor = EPollReactor()
peers = {}


@implementer(IRawPacketProtocol)
class RememberPeer:
    # Between Ethernet and IP: remember the hardware address each packet came from.
    def __init__(self, ip):
        self.ip = ip

    def addProto(self, num, proto):
        self.ip.addProto(num, proto)

    def datagramReceived(self, data, partial, dest, source, protocol):
        self.last = source
        self.ip.datagramReceived(data, partial, dest, source, protocol)


class Echo(DatagramProtocol):
    def datagramReceived(self, data, addr):
        host, port = addr
        print("udp", host, port, data.decode(errors="replace").strip(), flush=True)
        v6 = ":" in host
        ours = V6 if v6 else V4
        body = encodeUDP(UDPDatagram(7, port, b"echo:" + data), ours, host)
        if v6:
            packet, kind = encodeIPv6(IPv6Packet(ours, host, 17, body)), 0x86DD
        else:
            packet, kind = encodeIPv4(IPv4Packet(ours, host, 17, body)), 0x0800
        frame = EthernetFrame(link.last, top.mac, kind, packet)
        tap.write(encodeEthernet(frame))


top = EthernetResponder(V4, V6)
ip = IPProtocol()
udp = RawUDPProtocol()
udp.addProto(7, Echo())
ip.addProto(17, udp)
link = RememberPeer(ip)
top.addProto(0x0800, link)
top.addProto(0x86DD, link)
tap = TuntapPort(sys.argv[1].encode(), top, reactor=reactor)
tap.startListening()
print("ready", tap.getHost().name.decode(), top.mac.hex(":"), flush=True)
reactor.callInThread(lambda: (sys.stdin.read(), reactor.callFromThread(reactor.stop)))
reactor.run(installSignalHandlers=False)
"""

#: ICMPv6 types the kernel sends on its own when a device comes up.
KERNEL_NOISE = {133, 135, 143}


def ping(ns: str, address: str, count: int = 3) -> str:
    argv = ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "2"]
    if ":" in address:
        argv.append("-6")
    result = inside(ns, *argv, address, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def received(output: str) -> int:
    match = re.search(r"(\d+) received", output)
    assert match, output
    return int(match.group(1))


def test_tapResponderAnswersArpAndPing(netns: str, glisten: list[Glisten]) -> None:
    requireBinary("ping")
    program = Glisten(netns, [RESPONDER, "gltap0", "10.77.0.2", "fd77::2"])
    glisten.append(program)
    _, device, mac = program.ready
    assert device == "gltap0"
    # The device exists inside the namespace only.
    assert "gltap0" in inside(netns, "ip", "link", "show").stdout
    inside(netns, "ip", "addr", "add", "10.77.0.1/24", "dev", device)
    inside(netns, "ip", "-6", "addr", "add", "fd77::1/64", "dev", device, "nodad")
    inside(netns, "ip", "link", "set", device, "up")

    assert received(ping(netns, "10.77.0.2")) == 3
    # ARP was answered by glisten, with the hardware address it announced.
    neighbours = inside(netns, "ip", "-4", "neigh", "show", "dev", device).stdout
    assert f"10.77.0.2 lladdr {mac}" in neighbours

    assert received(ping(netns, "fd77::2")) == 3
    neighbours6 = inside(netns, "ip", "-6", "neigh", "show", "dev", device).stdout
    assert f"fd77::2 lladdr {mac}" in neighbours6

    lines = program.finish(signal=True)
    (answered,) = [int(line.split()[1]) for line in lines if line.startswith("answered")]
    # 3 + 3 echo replies, at least one ARP reply and one neighbour advertisement.
    assert answered >= 8


@pytest.mark.parametrize("reactorName", ["epoll", "asyncio"])
def test_tunUdpAndPing(netns: str, glisten: list[Glisten], reactorName: str) -> None:
    requireBinary("ping")
    requireBinary("socat")
    program = Glisten(netns, ["-c", TUN_SERVER, "gltun0", "10.78.0.2", "fd78::2", reactorName])
    glisten.append(program)
    device = program.ready[1]
    inside(netns, "ip", "addr", "add", "10.78.0.1/24", "dev", device)
    inside(netns, "ip", "-6", "addr", "add", "fd78::1/64", "dev", device, "nodad")
    inside(netns, "ip", "link", "set", device, "up")

    assert received(ping(netns, "10.78.0.2", 2)) == 2
    assert received(ping(netns, "fd78::2", 2)) == 2

    v4 = inside(
        netns,
        "sh",
        "-c",
        "printf 'hello four' | socat -t 3 -T 5 STDIO UDP4:10.78.0.2:7",
        timeout=20,
    )
    assert v4.stdout == "echo:hello four"
    v6 = inside(
        netns, "sh", "-c", "printf 'hello six' | socat -t 3 -T 5 STDIO UDP6:[fd78::2]:7", timeout=20
    )
    assert v6.stdout == "echo:hello six"

    lines = program.finish()
    udp = [line.split(maxsplit=3) for line in lines if line.startswith("udp ")]
    assert [(u[1], u[3]) for u in udp if u[3]] == [
        ("10.78.0.1", "hello four"),
        ("fd78::1", "hello six"),
    ]
    seen = [line.split() for line in lines if line.startswith("seen")]
    assert ["seen", "malformed"] not in seen
    meaningful = [
        s for s in seen if not (s[1] == "6" and s[2] == "58" and int(s[3]) in KERNEL_NOISE)
    ]
    # Only what the test sent reached glisten: echo requests and UDP, from inside the namespace.
    assert {(s[1], s[2], s[3]) for s in meaningful if s[2] != "17"} == {
        ("4", "1", "8"),
        ("6", "58", "128"),
    }
    assert all(s[4] in ("10.78.0.1", "fd78::1") for s in meaningful)
    (answered,) = [int(line.split()[1]) for line in lines if line.startswith("answered")]
    assert answered == 4


def test_glistenPairCommand(netns: str) -> None:
    """``glisten pair --tun`` answers ping until it is told to stop."""
    requireBinary("ping")
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            netns,
            sys.executable,
            "-c",
            "from glisten.application.cli import main; main()",
            "pair",
            "--tun",
            "--device",
            "glcli0",
            "--ipv4",
            "10.80.0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "Service started" in line:
                break
        else:
            raise AssertionError("glisten pair did not start:\n" + "".join(seen))
        assert any("starting on glcli0" in line for line in seen)
        inside(netns, "ip", "addr", "add", "10.80.0.1/24", "dev", "glcli0")
        inside(netns, "ip", "link", "set", "glcli0", "up")
        assert received(ping(netns, "10.80.0.2", 2)) == 2
        proc.terminate()
        rest = proc.communicate(timeout=20)[0]
        assert proc.returncode == 0, rest
        assert "Service stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


def test_clearErrorWithoutCapNetAdmin(netns: str) -> None:
    """Without CAP_NET_ADMIN, startListening says what is missing."""
    capsh = requireBinary("capsh")
    program = (
        "from glisten.internet.testing import MemoryReactorClock\n"
        "from glisten.pair.ip import IPProtocol\n"
        "from glisten.pair.tuntap import TuntapPort\n"
        "try:\n"
        "    TuntapPort(b'glnocap0', IPProtocol(), reactor=MemoryReactorClock()).startListening()\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    script = f'{sys.executable} -c "{program}"'
    result = inside(netns, capsh, "--drop=cap_net_admin", "--", "-c", script)
    assert result.stdout.startswith("CannotListenError Couldn't listen on any:glnocap0:")
    assert "needs CAP_NET_ADMIN" in result.stdout
    assert "glnocap0" not in inside(netns, "ip", "link", "show").stdout


def test_tapUdpThroughTheEthernetStack(netns: str, glisten: list[Glisten]) -> None:
    """socat's UDP goes Ethernet -> IP -> RawUDPProtocol on a TAP device and is answered."""
    requireBinary("socat")
    program = Glisten(netns, ["-c", TAP_SERVER, "gltap1", "10.82.0.2", "fd82::2"])
    glisten.append(program)
    device = program.ready[1]
    inside(netns, "ip", "addr", "add", "10.82.0.1/24", "dev", device)
    inside(netns, "ip", "-6", "addr", "add", "fd82::1/64", "dev", device, "nodad")
    inside(netns, "ip", "link", "set", device, "up")
    v4 = inside(
        netns,
        "sh",
        "-c",
        "printf 'over ethernet' | socat -t 3 -T 5 STDIO UDP4:10.82.0.2:7",
        timeout=20,
    )
    assert v4.stdout == "echo:over ethernet"
    v6 = inside(
        netns, "sh", "-c", "printf 'over v6' | socat -t 3 -T 5 STDIO UDP6:[fd82::2]:7", timeout=20
    )
    assert v6.stdout == "echo:over v6"
    lines = program.finish()
    assert [line.split(maxsplit=3)[1::2] for line in lines if line.startswith("udp ")] == [
        ["10.82.0.1", "over ethernet"],
        ["fd82::1", "over v6"],
    ]


def test_clearErrorWithoutDevNetTun(netns: str) -> None:
    """Without /dev/net/tun (hidden in a mount namespace of the test's own), the error says so."""
    unshare = requireBinary("unshare")
    program = (
        "from glisten.internet.testing import MemoryReactorClock\n"
        "from glisten.pair.ethernet import EthernetProtocol\n"
        "from glisten.pair.tuntap import TuntapPort\n"
        "try:\n"
        "    TuntapPort(b'glnodev0', EthernetProtocol(), reactor=MemoryReactorClock()).startListening()\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    script = f'mount -t tmpfs none /dev/net && {sys.executable} -c "{program}"'
    result = inside(netns, unshare, "--mount", "--propagation", "private", "sh", "-c", script)
    assert result.stdout.startswith("CannotListenError Couldn't listen on any:glnodev0:")
    assert "/dev/net/tun is missing" in result.stdout
    assert os.path.exists("/dev/net/tun")  # only hidden from that one process
