"""Ethernet, IP and UDP frames and TUN/TAP for glisten."""

from glisten.pair._version import __version__

__all__ = ["__version__"]
