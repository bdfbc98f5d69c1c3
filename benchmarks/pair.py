"""glisten-pair benchmark: ICMP echo requests through a TUN device, answered in user space.

Each run makes a network namespace of its own with a TUN device whose glisten (or Twisted Pair)
side answers ICMP echo requests for 10.79.0.2; a load generator inside the namespace (the same
Python program for both, on a raw ICMP socket) keeps a window of requests in flight for a few
seconds and counts the replies. Nothing leaves the namespace. Needs root.

The Twisted side is what a Twisted Pair program has to be: Twisted's ``TuntapPort`` and
``IPProtocol`` (given defaults for the Ethernet-layer arguments a TUN device does not have)
with an ICMP ``IRawDatagramProtocol`` that checks the request's checksum and builds the reply
and its IPv4 header with ``struct``. The glisten side is ``glisten.pair.responder.IPResponder``
on ``glisten.pair.tuntap.TuntapPort``, which also verifies the IPv4 header checksum (Twisted's
IP layer does not). Both run on their epoll reactor.

Reported twice: replies per second as the load generator saw them (it shares the two cores
with the server), and replies per second of the server process's own CPU time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from _harness import Case, main

DURATION = 3.0  # seconds of load per implementation and case
WINDOW = 32  # echo requests in flight

SERVER = r"""
import sys
impl, device, address = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
if impl == "glisten":
    from glisten.internet.epollreactor import EPollReactor
    from glisten.pair.responder import IPResponder
    from glisten.pair.tuntap import TuntapPort

    reactor = EPollReactor()
    port = TuntapPort(device, IPResponder(address), reactor=reactor)
else:
    from twisted.internet import epollreactor

    epollreactor.install()
    import socket
    import struct

    from twisted.internet import reactor
    from twisted.internet.protocol import AbstractDatagramProtocol
    from twisted.pair import ip, raw
    from twisted.pair.tuntap import TuntapPort
    from zope.interface import implementer

    def checksum(data):
        if len(data) % 2:
            data += b"\x00"
        total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
        total = (total >> 16) + (total & 0xFFFF)
        total += total >> 16
        return ~total & 0xFFFF

    class TunIP(ip.IPProtocol):
        def datagramReceived(self, data, partial=0, dest=None, source=None, protocol=None):
            ip.IPProtocol.datagramReceived(self, data, partial, dest, source, protocol)

    @implementer(raw.IRawDatagramProtocol)
    class Echo(AbstractDatagramProtocol):
        def addProto(self, num, proto):
            pass

        def datagramReceived(self, data, partial, source, dest, protocol, version, ihl, tos,
                             tot_len, fragment_id, fragment_offset, dont_fragment,
                             more_fragments, ttl):
            if dest != address or len(data) < 8 or data[0] != 8 or checksum(data) != 0:
                return
            reply = b"\x00\x00\x00\x00" + data[4:]
            reply = reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]
            header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(reply), fragment_id, 0,
                                 64, 1, 0, socket.inet_aton(dest), socket.inet_aton(source))
            header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
            port.write(header + reply)

    top = TunIP()
    top.addProto(1, Echo())
    port = TuntapPort(device, top, reactor=reactor)
port.startListening()
print("ready", flush=True)
reactor.run()
"""

LOADGEN = r"""
import os, socket, struct, sys, time
dest, window, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ident = os.getpid() & 0xFFFF
payload = bytes(range(56))

def checksum(data):
    value = int.from_bytes(data, "big") % 0xFFFF
    return ~value & 0xFFFF

def request(seq):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF) + payload
    return body[:2] + checksum(body).to_bytes(2, "big") + body[4:]

s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.connect((dest, 0))
s.settimeout(0.2)
seq = 0

def fill(n):
    global seq
    for _ in range(n):
        s.send(request(seq))
        seq += 1

def run(seconds, report):
    got = 0
    start = time.monotonic()
    deadline = start + seconds
    fill(window)
    while True:
        try:
            data = s.recv(2048)
        except socket.timeout:
            fill(window)  # replies were lost: refill the window
            if time.monotonic() >= deadline:
                break
            continue
        ihl = (data[0] & 0x0F) * 4
        if data[ihl] != 0 or int.from_bytes(data[ihl + 4 : ihl + 6], "big") != ident:
            continue
        got += 1
        if got & 63 == 0 and time.monotonic() >= deadline:
            break
        fill(1)
    return got, time.monotonic() - start

run(0.5, False)  # warm up
print("go", flush=True)
sys.stdin.readline()
got, elapsed = run(duration, True)
print("done", got, elapsed, flush=True)
"""


def _cpuSeconds(pid: int) -> float:
    """User + system CPU time used so far by process ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True)


def _run(impl: str) -> tuple[float, float]:
    """
    :return: (replies per second seen by the load generator, replies per second of the
        server's CPU time).
    """
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise RuntimeError("this benchmark needs root and iproute2 (network namespaces)")
    ns = f"glisten-bench-{os.getpid()}"
    python = shutil.which("python3") or sys.executable
    _ip("netns", "add", ns)
    server = None
    try:
        _ip("-n", ns, "link", "set", "lo", "up")
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                "-c",
                SERVER,
                impl,
                "glbench0",
                "10.79.0.2",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{impl} server did not start")
        _ip("-n", ns, "addr", "add", "10.79.0.1/24", "dev", "glbench0")
        _ip("-n", ns, "link", "set", "glbench0", "up")
        load = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                python,
                "-c",
                LOADGEN,
                "10.79.0.2",
                str(WINDOW),
                str(DURATION),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert load.stdout is not None and load.stdin is not None
        if load.stdout.readline().strip() != "go":
            raise RuntimeError("the load generator did not start")
        cpuBefore = _cpuSeconds(server.pid)
        load.stdin.write("\n")
        load.stdin.flush()
        line = load.stdout.readline()
        cpu = _cpuSeconds(server.pid) - cpuBefore
        load.wait(timeout=30)
        match = re.match(r"done (\d+) ([\d.]+)", line)
        if match is None:
            raise RuntimeError(f"no result from the load generator: {line!r}")
        got, elapsed = int(match.group(1)), float(match.group(2))
        return got / elapsed, got / max(cpu, 1e-3)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def echoWall(impl: str, n: int) -> float:
    return _run(impl)[0]


def echoCPU(impl: str, n: int) -> float:
    return _run(impl)[1]


if __name__ == "__main__":
    main(
        [
            Case("ICMP echo through TUN (load generator)", echoWall, selfTimed=True, unit=" pkt/s"),
            Case(
                "ICMP echo through TUN, per server CPU second",
                echoCPU,
                selfTimed=True,
                unit=" pkt/cpu-s",
            ),
        ]
    )
