"""
A tiny user-space host: answers ARP requests, IPv6 neighbour solicitations and ICMP/ICMPv6
echo requests for one address, the way a test harness or a network simulator needs.

:class:`EthernetResponder` goes on a TAP device, :class:`IPResponder` on a TUN device. What they
do not answer is dispatched as usual to the protocols added with ``addProto``, so a program can
stack :class:`~glisten.pair.ip.IPProtocol` and :class:`~glisten.pair.rawudp.RawUDPProtocol`
beside the answering. The decisions live in the sans-IO ``EchoResponder``; these classes only
write its answers to their transport.
"""

from __future__ import annotations

from collections.abc import Callable

from glisten.logger import Logger
from glisten.pair._dropping import dropMalformed
from glisten.pair._wire import DEFAULT_LIMITS, EchoResponder, Limits, MalformedPacket
from glisten.pair.ethernet import EthernetProtocol
from glisten.pair.ip import IPProtocol

__all__ = ["EthernetResponder", "IPResponder"]

_log = Logger()


def _answer(
    layer: EthernetProtocol | IPProtocol,
    answer: Callable[[bytes], bytes | None],
    data: bytes,
    what: str,
) -> bool:
    """
    Write the responder's answer to ``data``, or drop ``data`` if it is malformed.

    :param answer: the responder's method for this layer.
    :param what: the input, with its article, for the log line.
    :return: whether ``data`` was dealt with; if not, the layer dispatches it as usual.
    """
    try:
        reply = answer(data)
    except MalformedPacket as e:
        dropMalformed(layer, _log, what, e)
        return True
    if reply is None:
        return False
    layer.transport.write(reply)
    return True


class EthernetResponder(EthernetProtocol):
    """
    Answer ARP, neighbour solicitation and echo for one address on a TAP device.

    :param ipv4: the IPv4 address to answer for.
    :param ipv6: the IPv6 address to answer for.
    :param mac: the hardware address to answer with (random and locally administered by
        default).
    :ivar responder: the sans-IO decision maker (``responder.answered`` counts answers).
    """

    def __init__(
        self,
        ipv4: str | None = None,
        ipv6: str | None = None,
        mac: bytes | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        EthernetProtocol.__init__(self)
        self.limits = limits
        self.responder = EchoResponder(ipv4, ipv6, mac, limits)

    @property
    def mac(self) -> bytes:
        """:return: the hardware address answers are sent from."""
        return self.responder.mac

    def datagramReceived(self, data: bytes, partial: int = 0) -> None:
        """
        Answer the frame if it asks for this host, else dispatch it to the added protocols.
        """
        if not partial and _answer(self, self.responder.answerFrame, data, "a frame"):
            return
        EthernetProtocol.datagramReceived(self, data, partial)


class IPResponder(IPProtocol):
    """
    Answer ICMP and ICMPv6 echo requests for one address on a TUN device.

    :param ipv4: the IPv4 address to answer for.
    :param ipv6: the IPv6 address to answer for.
    :ivar responder: the sans-IO decision maker.
    """

    def __init__(
        self, ipv4: str | None = None, ipv6: str | None = None, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        IPProtocol.__init__(self)
        self.limits = limits
        self.responder = EchoResponder(ipv4, ipv6, None, limits)

    def datagramReceived(
        self,
        data: bytes,
        partial: int = 0,
        dest: object = None,
        source: object = None,
        protocol: object = None,
    ) -> None:
        """
        Answer the packet if it is an echo request for this host, else dispatch it.
        """
        if not partial and _answer(self, self.responder.answerPacket, data, "a packet"):
            return
        IPProtocol.datagramReceived(self, data, partial, dest, source, protocol)
