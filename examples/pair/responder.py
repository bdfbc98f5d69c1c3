"""A tiny user-space host on a TAP device: it answers ARP and ping for one address.

Run as root (creating a TAP device needs CAP_NET_ADMIN), best inside a network namespace of
its own so nothing leaves it::

    ip netns add demo
    ip netns exec demo python examples/pair/responder.py tap0 10.77.0.2 fd77::2 &
    ip netns exec demo ip addr add 10.77.0.1/24 dev tap0
    ip netns exec demo ip addr add fd77::1/64 dev tap0 nodad
    ip netns exec demo ip link set tap0 up
    ip netns exec demo ping -c 3 10.77.0.2      # ARP resolved, echo answered, by glisten
    ip netns exec demo ping -c 3 fd77::2        # neighbour discovery and ICMPv6 echo
    kill %1; ip netns del demo

The program prints ``ready <device> <hardware address>`` once the device exists, answers until
it gets SIGINT (Ctrl-C) or SIGTERM, then prints how many answers it sent.
"""

from __future__ import annotations

import sys

from glisten.pair.responder import EthernetResponder
from glisten.pair.tuntap import TuntapPort


def main(device: str, ipv4: str, ipv6: str | None = None) -> None:
    from glisten.internet import reactor

    responder = EthernetResponder(ipv4=ipv4, ipv6=ipv6)
    port = TuntapPort(device.encode(), responder, reactor=reactor)
    port.startListening()
    print("ready", port.getHost().name.decode(), responder.mac.hex(":"), flush=True)
    reactor.addSystemEventTrigger("before", "shutdown", port.stopListening)
    reactor.run()  # until SIGINT or SIGTERM
    print("answered", responder.responder.answered, flush=True)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
