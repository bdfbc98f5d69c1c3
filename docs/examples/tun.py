"""A host made of Python on a TUN device: the kernel pings it and talks UDP to it.

``TuntapPort`` opens a TUN device (``glisten0``): the packets the kernel routes to it arrive
as IP packets, and what the program writes to it the kernel receives as if from a network.
``IPResponder`` answers ping for 10.77.0.2; an echo service on UDP port 7 is a plain
``DatagramProtocol`` under ``RawUDPProtocol``. The same program then acts as the other side: it
runs ``ping`` and sends a datagram through an ordinary UDP socket.

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
from glisten.pair.responder import IPResponder
from glisten.pair.tuntap import TuntapPort

OURS, KERNEL = "10.77.0.2", "10.77.0.1"


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


async def main(reactor: Any) -> None:
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

    summary = await run(reactor, "ping", "-c", "2", "-i", "0.2", "-W", "5", OURS)
    received = re.search(r"(\d+) received", summary)
    print("ping: answers received:", received.group(1) if received else "none")

    client = Client()
    clientPort = reactor.listenUDP(0, client, interface=KERNEL)
    clientPort.connect(OURS, 7)
    client.transport.write(b"hello")
    client.answer.addTimeout(10, reactor)
    print("udp:", (await client.answer).decode())
    await clientPort.stopListening()
    await device.stopListening()
    print("echo requests answered:", host.responder.answered)


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
