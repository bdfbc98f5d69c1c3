"""Ethernet, ARP, IP (v4 and v6), UDP and ICMP packets, and TUN/TAP devices, for glisten.

Twisted's ``twisted.pair`` under ``glisten.pair``: :mod:`~glisten.pair.ethernet`,
:mod:`~glisten.pair.ip`, :mod:`~glisten.pair.rawudp`, :mod:`~glisten.pair.raw`,
:mod:`~glisten.pair.tuntap` and :mod:`~glisten.pair.testing`; beyond it
:mod:`~glisten.pair.arp`, :mod:`~glisten.pair.icmp` and :mod:`~glisten.pair.responder`.
"""

from glisten.pair._version import __version__

__all__ = ["__version__"]
