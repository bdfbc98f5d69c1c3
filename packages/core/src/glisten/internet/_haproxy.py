"""The PROXY protocol (HAProxy's v1 text and v2 binary headers), sans-IO.

A proxy that accepts a connection on a client's behalf sends one header first, naming the
client's real address; the server reads it before anything else on the connection. The
format is specified in HAProxy's ``doc/proxy-protocol.txt``. This module only parses and
builds headers; :mod:`glisten.internet._haproxywrapper` applies them to connections.

Limits: a v1 header is at most 107 bytes (the specification's maximum); a v2 header at most
``maxV2Length`` bytes (addresses plus TLVs), 4 KiB by default rather than the 64 KiB the
length field allows, because real proxies send a few hundred bytes at most.
"""

from __future__ import annotations

import ipaddress
import struct

import attrs

from .address import IPv4Address, IPv6Address, UNIXAddress

V1_PREFIX = b"PROXY "
V1_MAX_LENGTH = 107
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_HEADER_LENGTH = 16
DEFAULT_MAX_V2_LENGTH = 4096

ProxyAddress = IPv4Address | IPv6Address | UNIXAddress


class InvalidProxyHeader(ValueError):
    """The bytes received are not a valid PROXY protocol header."""


class InvalidNetworkProtocol(InvalidProxyHeader):
    """The header names a protocol or address family that is not supported."""


class MissingAddressData(InvalidProxyHeader):
    """The header does not carry the address data its family requires."""


@attrs.frozen
class ProxyInfo:
    """What a PROXY header said.

    :ivar header: the header bytes as received.
    :ivar source: the original client's address, or ``None`` when the header carries none
        (``UNKNOWN``, ``LOCAL`` or an unspecified family): use the connection's own peer.
    :ivar destination: the address the client connected to, or ``None`` likewise.
    """

    header: bytes
    source: ProxyAddress | None
    destination: ProxyAddress | None


# -- v1


def _v1Port(raw: bytes) -> int:
    if not raw.isdigit() or len(raw) > 5 or (len(raw) > 1 and raw.startswith(b"0")):
        raise InvalidProxyHeader(f"invalid port in PROXY header: {raw!r}")
    port = int(raw)
    if port > 65535:
        raise InvalidProxyHeader(f"port out of range in PROXY header: {port}")
    return port


def _v1Address(raw: bytes, version: int) -> str:
    try:
        text = raw.decode("ascii")
        address = ipaddress.ip_address(text)
    except (UnicodeDecodeError, ValueError):
        raise InvalidProxyHeader(f"invalid address in PROXY header: {raw!r}") from None
    if address.version != version or "%" in text:
        raise InvalidProxyHeader(f"address {text!r} does not match its protocol")
    return text


def parseV1(line: bytes) -> ProxyInfo:
    """Parse one complete v1 header (ending in CRLF).

    :raises InvalidProxyHeader: if it is malformed.
    """
    if not line.startswith(V1_PREFIX) or not line.endswith(b"\r\n"):
        raise InvalidProxyHeader("not a PROXY v1 header")
    if len(line) > V1_MAX_LENGTH:
        raise InvalidProxyHeader("PROXY v1 header too long")
    fields = line[len(V1_PREFIX) : -2].split(b" ")
    if fields[0] == b"UNKNOWN":
        return ProxyInfo(line, None, None)
    if fields[0] not in (b"TCP4", b"TCP6"):
        raise InvalidNetworkProtocol(f"unsupported protocol in PROXY header: {fields[0]!r}")
    if len(fields) != 5:
        raise MissingAddressData("PROXY v1 header needs four address fields")
    version = 4 if fields[0] == b"TCP4" else 6
    srcHost = _v1Address(fields[1], version)
    dstHost = _v1Address(fields[2], version)
    srcPort = _v1Port(fields[3])
    dstPort = _v1Port(fields[4])
    if version == 4:
        return ProxyInfo(
            line, IPv4Address("TCP", srcHost, srcPort), IPv4Address("TCP", dstHost, dstPort)
        )
    return ProxyInfo(
        line, IPv6Address("TCP", srcHost, srcPort), IPv6Address("TCP", dstHost, dstPort)
    )


def buildV1(source: ProxyAddress | None, destination: ProxyAddress | None) -> bytes:
    """A v1 header for ``source`` -> ``destination`` (``UNKNOWN`` if either is ``None``).

    :raises ValueError: for Unix addresses, which v1 cannot carry, or mixed families.
    """
    if source is None or destination is None:
        return b"PROXY UNKNOWN\r\n"
    if isinstance(source, IPv4Address) and isinstance(destination, IPv4Address):
        proto = "TCP4"
    elif isinstance(source, IPv6Address) and isinstance(destination, IPv6Address):
        proto = "TCP6"
    else:
        raise ValueError("PROXY v1 carries a pair of IPv4 or a pair of IPv6 addresses")
    return (
        f"PROXY {proto} {source.host} {destination.host} {source.port} {destination.port}\r\n"
    ).encode("ascii")


# -- v2

_COMMAND_LOCAL = 0x0
_COMMAND_PROXY = 0x1
_FAMILY_UNSPEC = 0x0
_FAMILY_INET = 0x1
_FAMILY_INET6 = 0x2
_FAMILY_UNIX = 0x3
_TRANSPORT_UNSPEC = 0x0
_TRANSPORT_STREAM = 0x1
_ADDRESS_LENGTHS = {_FAMILY_INET: 12, _FAMILY_INET6: 36, _FAMILY_UNIX: 216}


def _unixName(raw: bytes) -> bytes:
    if raw.startswith(b"\0"):
        return raw.rstrip(b"\0") or b"\0"
    return raw.split(b"\0", 1)[0]


def parseV2(header: bytes) -> ProxyInfo:
    """Parse one complete v2 header (signature, 4 fixed bytes, then the announced length).

    :raises InvalidProxyHeader: if it is malformed.
    """
    if len(header) < V2_HEADER_LENGTH or not header.startswith(V2_SIGNATURE):
        raise InvalidProxyHeader("not a PROXY v2 header")
    verCmd, famProto, length = struct.unpack("!BBH", header[12:16])
    if len(header) != V2_HEADER_LENGTH + length:
        raise InvalidProxyHeader("PROXY v2 header length mismatch")
    if verCmd >> 4 != 2:
        raise InvalidProxyHeader(f"unsupported PROXY version {verCmd >> 4}")
    command = verCmd & 0x0F
    if command not in (_COMMAND_LOCAL, _COMMAND_PROXY):
        raise InvalidProxyHeader(f"unknown PROXY v2 command {command}")
    family, transport = famProto >> 4, famProto & 0x0F
    if family not in (_FAMILY_UNSPEC, *_ADDRESS_LENGTHS):
        raise InvalidNetworkProtocol(f"unknown PROXY v2 address family {family}")
    if transport not in (_TRANSPORT_UNSPEC, _TRANSPORT_STREAM):
        raise InvalidNetworkProtocol("PROXY v2 header is not for a stream connection")
    if command == _COMMAND_LOCAL or family == _FAMILY_UNSPEC:
        return ProxyInfo(header, None, None)
    body = header[V2_HEADER_LENGTH:]
    if len(body) < _ADDRESS_LENGTHS[family]:
        raise MissingAddressData("PROXY v2 header too short for its address family")
    if family == _FAMILY_INET:
        src, dst, sport, dport = struct.unpack("!4s4sHH", body[:12])
        return ProxyInfo(
            header,
            IPv4Address("TCP", str(ipaddress.IPv4Address(src)), sport),
            IPv4Address("TCP", str(ipaddress.IPv4Address(dst)), dport),
        )
    if family == _FAMILY_INET6:
        src, dst, sport, dport = struct.unpack("!16s16sHH", body[:36])
        return ProxyInfo(
            header,
            IPv6Address("TCP", str(ipaddress.IPv6Address(src)), sport),
            IPv6Address("TCP", str(ipaddress.IPv6Address(dst)), dport),
        )
    return ProxyInfo(
        header, UNIXAddress(_unixName(body[:108])), UNIXAddress(_unixName(body[108:216]))
    )


def buildV2(
    source: ProxyAddress | None, destination: ProxyAddress | None, local: bool = False
) -> bytes:
    """A v2 header; ``local`` (or no addresses) makes a ``LOCAL`` header without addresses.

    :raises ValueError: for mixed address families or over-long Unix paths.
    """
    if local or source is None or destination is None:
        return V2_SIGNATURE + struct.pack("!BBH", 0x20 | _COMMAND_LOCAL, 0, 0)
    if isinstance(source, IPv4Address) and isinstance(destination, IPv4Address):
        family = _FAMILY_INET
        body = struct.pack(
            "!4s4sHH",
            ipaddress.IPv4Address(source.host).packed,
            ipaddress.IPv4Address(destination.host).packed,
            source.port,
            destination.port,
        )
    elif isinstance(source, IPv6Address) and isinstance(destination, IPv6Address):
        family = _FAMILY_INET6
        body = struct.pack(
            "!16s16sHH",
            ipaddress.IPv6Address(source.host).packed,
            ipaddress.IPv6Address(destination.host).packed,
            source.port,
            destination.port,
        )
    elif isinstance(source, UNIXAddress) and isinstance(destination, UNIXAddress):
        family = _FAMILY_UNIX
        srcName, dstName = source.name or b"", destination.name or b""
        if len(srcName) > 108 or len(dstName) > 108:
            raise ValueError("Unix socket path longer than 108 bytes")
        body = srcName.ljust(108, b"\0") + dstName.ljust(108, b"\0")
    else:
        raise ValueError("source and destination must be of the same address family")
    famProto = (family << 4) | _TRANSPORT_STREAM
    return V2_SIGNATURE + struct.pack("!BBH", 0x20 | _COMMAND_PROXY, famProto, len(body)) + body


# -- incremental parser


class HAProxyHeaderParser:
    """Finds and parses the PROXY header (v1 or v2) at the start of a byte stream.

    Feed it bytes as they arrive; it answers as soon as the header is complete and rejects a
    header as soon as its bytes cannot be valid, without waiting for more.

    :param maxV2Length: the largest v2 header accepted, fixed part included.
    """

    def __init__(self, maxV2Length: int = DEFAULT_MAX_V2_LENGTH) -> None:
        # A bytearray grows in amortised constant time: a header sent one byte at a time costs
        # linear time, not a copy of everything so far per byte.
        self._buffer = bytearray()
        self._maxV2Length = maxV2Length
        self._done = False

    def feed(self, data: bytes) -> tuple[ProxyInfo, bytes] | None:
        """Add received bytes.

        :return: ``None`` while the header is incomplete; then the parsed header and the
            bytes that followed it (the start of the real stream).
        :raises InvalidProxyHeader: as soon as the input cannot be a valid header.
        :raises RuntimeError: if called again after the header was returned.
        """
        if self._done:
            raise RuntimeError("the PROXY header was already parsed")
        self._buffer += data
        buffer = self._buffer
        if not buffer:
            return None
        if buffer[:1] == b"P":
            return self._feedV1(buffer)
        if buffer[:1] == b"\r":
            return self._feedV2(buffer)
        raise InvalidProxyHeader("connection does not start with a PROXY header")

    def _feedV1(self, buffer: bytearray) -> tuple[ProxyInfo, bytes] | None:
        prefix = buffer[: len(V1_PREFIX)]
        if not V1_PREFIX.startswith(prefix):
            raise InvalidProxyHeader("connection does not start with a PROXY header")
        end = buffer.find(b"\r\n", 0, V1_MAX_LENGTH)
        if end < 0:
            if len(buffer) >= V1_MAX_LENGTH:
                raise InvalidProxyHeader("PROXY v1 header too long")
            if b"\n" in buffer or (b"\r" in buffer and not buffer.endswith(b"\r")):
                raise InvalidProxyHeader("stray line break in PROXY v1 header")
            return None
        self._done = True
        return parseV1(bytes(buffer[: end + 2])), bytes(buffer[end + 2 :])

    def _feedV2(self, buffer: bytearray) -> tuple[ProxyInfo, bytes] | None:
        signature = buffer[: len(V2_SIGNATURE)]
        if not V2_SIGNATURE.startswith(signature):
            raise InvalidProxyHeader("connection does not start with a PROXY header")
        if len(buffer) < V2_HEADER_LENGTH:
            return None
        (length,) = struct.unpack("!H", buffer[14:16])
        total = V2_HEADER_LENGTH + length
        if total > self._maxV2Length:
            raise InvalidProxyHeader(f"PROXY v2 header too long ({total} bytes)")
        if buffer[12] >> 4 != 2:
            raise InvalidProxyHeader(f"unsupported PROXY version {buffer[12] >> 4}")
        if len(buffer) < total:
            return None
        self._done = True
        return parseV2(bytes(buffer[:total])), bytes(buffer[total:])
