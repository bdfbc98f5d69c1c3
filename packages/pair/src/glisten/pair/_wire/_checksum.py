"""The Internet checksum (RFC 1071) and its incremental update (RFC 1624).

The one's complement sum of 16-bit words equals the big-endian integer value of the data modulo
0xFFFF (2**16 is 1 modulo 0xFFFF), except that a non-zero sum is never 0: so the whole buffer
is summed by one C-level big-integer operation instead of a Python loop over words.
"""

from __future__ import annotations

import socket


def onesSum(data: bytes, initial: int = 0) -> int:
    """
    :param data: bytes to sum; an odd length is padded with a zero byte (RFC 1071).
    :param initial: a partial sum to add (e.g. a pseudo-header's), 0..0xFFFF.
    :return: the folded one's complement sum of ``data`` and ``initial``, 0..0xFFFF.
    """
    if len(data) & 1:
        data = data + b"\x00"
    value = int.from_bytes(data, "big") + initial
    total = value % 0xFFFF
    if total == 0 and value:
        return 0xFFFF
    return total


def internetChecksum(data: bytes, initial: int = 0) -> int:
    """
    :param data: the covered bytes, with the checksum field set to zero (to compute) or to
        its value (to verify: the result is then 0 when it is right).
    :param initial: a pseudo-header sum from :func:`pseudoHeaderSum`.
    :return: the checksum to put in the header.
    """
    return ~onesSum(data, initial) & 0xFFFF


def pseudoHeaderSum(source: bytes, dest: bytes, protocol: int, length: int) -> int:
    """
    :param source: the packed source address (4 bytes for IPv4, 16 for IPv6).
    :param dest: the packed destination address, the same size.
    :param protocol: the upper-layer protocol number (17 for UDP, 58 for ICMPv6).
    :param length: the upper-layer length in bytes.
    :return: the one's complement sum of the pseudo-header UDP and ICMPv6 checksums cover
        (RFC 768, RFC 8200 section 8.1).
    """
    if len(source) == 4:
        tail = bytes((0, protocol)) + length.to_bytes(2, "big")
    else:
        tail = length.to_bytes(4, "big") + bytes((0, 0, 0, protocol))
    return onesSum(source + dest + tail)


def updateChecksum(checksum: int, old: int, new: int) -> int:
    """
    Update a checksum for one 16-bit word that changed from ``old`` to ``new`` (RFC 1624, eqn 3),
    without summing the rest of the data again.

    :return: the new checksum.
    """
    total = (~checksum & 0xFFFF) + (~old & 0xFFFF) + new
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def packAddress(address: str) -> bytes:
    """
    :param address: an IPv4 or IPv6 address literal.
    :return: its packed form (4 or 16 bytes).
    :raises ValueError: if it is neither.
    """
    try:
        return socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)
    except (OSError, TypeError) as e:
        raise ValueError(f"not an IP address literal: {address!r}") from e
