"""The fixed header layouts (network byte order) that the readers and the writers share."""

from __future__ import annotations

import struct

ETHERNET = struct.Struct("!6s6sH")
VLAN = struct.Struct("!HH")
ARP = struct.Struct("!HHBBH6s4s6s4s")
#: The fixed IPv4 header, addresses as 32-bit numbers (cheaper to compare and sum than bytes).
IPV4 = struct.Struct("!BBHHHBBHII")
IPV6 = struct.Struct("!IHBB16s16s")
UDP = struct.Struct("!HHHH")
#: The first eight bytes of an ICMP or ICMPv6 message: type, code, checksum, rest of header.
ICMP = struct.Struct("!BBH4s")
