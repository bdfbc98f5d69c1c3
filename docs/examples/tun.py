"""A host made of Python on a TUN device, then one on a TAP device: the kernel pings them and
talks UDP to the first.

``TuntapPort`` opens a TUN device (``glisten0``): the packets the kernel routes to it arrive
as IP packets, and what the program writes to it the kernel receives as if from a network.
``IPResponder`` answers ping for 10.77.0.2; an echo service on UDP port 7 is a plain
``DatagramProtocol`` under ``RawUDPProtocol``. The same program then acts as the other side: it
runs ``ping`` and sends a datagram through an ordinary UDP socket.

The TAP device (``glisten1``) carries Ethernet frames instead: ``EthernetResponder`` answers
ARP and IPv6 neighbour discovery with its own hardware address, so the kernel learns that
address and pings 10.78.0.2 and fd78::2 through it.

Creating a TUN device and giving it an address needs root, and must not touch the machine's
own network: run it inside a network namespace of its own, which it checks::

    ip netns add demo
    ip netns exec demo python docs/examples/tun.py
    ip netns del demo
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

from glisten.internet import defer, protocol, task, utils
from glisten.pair.ip import IPv4Packet, encodeIPv4
from glisten.pair.rawudp import RawUDPProtocol, UDPDatagram, encodeUDP
from glisten.pair.responder import EthernetResponder, IPResponder
from glisten.pair.tuntap import TuntapPort

OURS, KERNEL = "10.77.0.2", "10.77.0.1"
TAP_V4, TAP_V6 = "10.78.0.2", "fd78::2"


class Echo(protocol.DatagramProtocol):
    """UDP port 7 of the TUN side: answers by writing a whole IP packet to the device."""

    def __init__(self) -> None:
        self.device: TuntapPort | None = None

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        host, port = addr
        udp = encodeUDP(UDPDatagram(7, port, b"echo: " + data), OURS, host)
        assert self.device is not None
        self.device.write(encodeIPv4(IPv4Packet(OURS, host, 17, udp)))


class Client(protocol.DatagramProtocol):
    """An ordinary UDP socket, on the kernel's side of the device."""

    def __init__(self) -> None:
        self.answer: defer.Deferred[bytes] = defer.Deferred()

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.answer.callback(data)


async def run(reactor: Any, command: str, *args: str) -> str:
    out, err, code = await utils.getProcessOutputAndValue(command, args, env=os.environ)
    if code != 0:
        raise SystemExit(f"{command} {' '.join(args)} failed: {(out + err).decode()}")
    return out.decode()


async def ping(reactor: Any, address: str) -> str:
    summary = await run(reactor, "ping", "-c", "2", "-i", "0.2", "-W", "5", address)
    received = re.search(r"(\d+) received", summary)
    return received.group(1) if received else "none"


async def main(reactor: Any) -> None:
    await tun(reactor)
    await tap(reactor)


async def tun(reactor: Any) -> None:
    host = IPResponder(ipv4=OURS)
    echo, udp = Echo(), RawUDPProtocol()
    udp.addProto(7, echo)
    host.addProto(17, udp)
    device = TuntapPort(b"glisten0", host, reactor=reactor)
    device.startListening()
    echo.device = device
    print("ready", device.getHost().name.decode())
    await run(reactor, "ip", "addr", "add", f"{KERNEL}/24", "dev", "glisten0")
    await run(reactor, "ip", "link", "set", "glisten0", "up")

    print("ping: answers received:", await ping(reactor, OURS))

    client = Client()
    clientPort = reactor.listenUDP(0, client, interface=KERNEL)
    clientPort.connect(OURS, 7)
    client.transport.write(b"hello")
    client.answer.addTimeout(10, reactor)
    print("udp:", (await client.answer).decode())
    await clientPort.stopListening()
    await device.stopListening()
    print("echo requests answered:", host.responder.answered)


async def tap(reactor: Any) -> None:
    host = EthernetResponder(ipv4=TAP_V4, ipv6=TAP_V6)
    device = TuntapPort(b"glisten1", host, reactor=reactor)
    device.startListening()
    print("ready", device.getHost().name.decode())
    await run(reactor, "ip", "addr", "add", "10.78.0.1/24", "dev", "glisten1")
    await run(reactor, "ip", "addr", "add", "fd78::1/64", "dev", "glisten1", "nodad")
    await run(reactor, "ip", "link", "set", "glisten1", "up")
    print("ping over ARP: answers received:", await ping(reactor, TAP_V4))
    print("ping over NDP: answers received:", await ping(reactor, TAP_V6))
    neighbours = await run(reactor, "ip", "neigh", "show", "dev", "glisten1")
    learned = host.mac.hex(":") in neighbours
    print("the kernel learned our hardware address:", learned)
    await device.stopListening()


def inOwnNamespace() -> bool:
    """Not the machine's network: ``ip netns identify`` names the namespace we run in."""
    try:
        found = subprocess.run(["ip", "netns", "identify"], capture_output=True, text=True)
    except OSError:
        return False
    return found.returncode == 0 and found.stdout.strip() != ""


if __name__ == "__main__":
    if not inOwnNamespace():
        sys.exit("run me as root inside a network namespace: see the docstring")
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
