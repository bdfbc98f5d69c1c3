"""The PROXY protocol codec and the wrapper that applies it to connections."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.internet._haproxy import (
    V1_MAX_LENGTH,
    HAProxyHeaderParser,
    InvalidNetworkProtocol,
    InvalidProxyHeader,
    MissingAddressData,
    ProxyInfo,
    buildV1,
    buildV2,
    parseV1,
    parseV2,
)
from glisten.internet._haproxywrapper import HAProxyWrappingFactory
from glisten.internet.address import IPv4Address, IPv6Address, UNIXAddress
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.logger import capturedLogs

SRC4 = IPv4Address("TCP", "192.0.2.1", 56324)
DST4 = IPv4Address("TCP", "198.51.100.7", 443)
SRC6 = IPv6Address("TCP", "2001:db8::1", 1)
DST6 = IPv6Address("TCP", "2001:db8::2", 65535)


def feedAll(data: bytes, oneByte: bool) -> tuple[ProxyInfo, bytes]:
    parser = HAProxyHeaderParser()
    chunks = [data[i : i + 1] for i in range(len(data))] if oneByte else [data]
    for index, chunk in enumerate(chunks):
        result = parser.feed(chunk)
        if result is not None:
            info, rest = result
            return info, rest + b"".join(chunks[index + 1 :])
    raise AssertionError("header never completed")


@pytest.mark.parametrize("oneByte", [False, True])
@pytest.mark.parametrize(
    ("header", "source", "destination"),
    [
        (b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n", SRC4, DST4),
        (b"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", SRC6, DST6),
        (b"PROXY UNKNOWN\r\n", None, None),
        (b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", None, None),
        (buildV2(SRC4, DST4), SRC4, DST4),
        (buildV2(SRC6, DST6), SRC6, DST6),
        (buildV2(UNIXAddress(b"/a"), UNIXAddress(b"/b")), UNIXAddress(b"/a"), UNIXAddress(b"/b")),
        (buildV2(SRC4, DST4, local=True), None, None),
    ],
)
def test_valid_headers(header: bytes, source: Any, destination: Any, oneByte: bool) -> None:
    info, rest = feedAll(header + b"GET / HTTP/1.1\r\n", oneByte)
    assert info.header == header
    assert info.source == source
    assert info.destination == destination
    assert rest == b"GET / HTTP/1.1\r\n"


def test_v2_tlvs_are_skipped() -> None:
    base = buildV2(SRC4, DST4)
    tlv = b"\x04\x00\x03abc"  # a PP2_TYPE_NOOP TLV
    length = int.from_bytes(base[14:16], "big") + len(tlv)
    header = base[:14] + length.to_bytes(2, "big") + base[16:] + tlv
    info, rest = feedAll(header + b"x", oneByte=True)
    assert info.source == SRC4 and rest == b"x"


def test_builders_round_trip() -> None:
    assert parseV1(buildV1(SRC4, DST4)) == ProxyInfo(buildV1(SRC4, DST4), SRC4, DST4)
    assert parseV1(buildV1(None, None)).source is None
    assert parseV2(buildV2(SRC6, DST6)).destination == DST6
    with pytest.raises(ValueError):
        buildV1(SRC4, DST6)
    with pytest.raises(ValueError):
        buildV2(SRC4, DST6)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"GET / HTTP/1.1\r\n", InvalidProxyHeader),
        (b"PROXY TCP4 192.0.2.1 198.51.100.7 56324\r\n", MissingAddressData),
        (b"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", InvalidNetworkProtocol),
        (b"PROXY TCP4 2001:db8::1 1.2.3.4 1 2\r\n", InvalidProxyHeader),
        (b"PROXY TCP6 1.2.3.4 2001:db8::1 1 2\r\n", InvalidProxyHeader),
        (b"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", InvalidProxyHeader),
        (b"PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n", InvalidProxyHeader),
        (b"PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", InvalidProxyHeader),
        (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", InvalidProxyHeader),
        (b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX", InvalidProxyHeader),
        (b"PROXY " + b"A" * V1_MAX_LENGTH, InvalidProxyHeader),
        (b"PROXX", InvalidProxyHeader),
        (b"\r\n\r\n\x00\r\nQUIX", InvalidProxyHeader),
        (buildV2(SRC4, DST4)[:12] + b"\x31" + buildV2(SRC4, DST4)[13:], InvalidProxyHeader),
        (buildV2(SRC4, DST4)[:12] + b"\x23" + buildV2(SRC4, DST4)[13:], InvalidProxyHeader),
        (buildV2(SRC4, DST4)[:13] + b"\x41" + buildV2(SRC4, DST4)[14:], InvalidNetworkProtocol),
        (buildV2(SRC4, DST4)[:13] + b"\x12" + buildV2(SRC4, DST4)[14:], InvalidNetworkProtocol),
        (buildV2(SRC4, DST4)[:14] + b"\x00\x04" + b"\x00" * 4, MissingAddressData),
        (buildV2(SRC4, DST4)[:14] + b"\xff\xff", InvalidProxyHeader),  # too long
    ],
)
@pytest.mark.parametrize("oneByte", [False, True])
def test_invalid_headers(data: bytes, error: type[Exception], oneByte: bool) -> None:
    parser = HAProxyHeaderParser()
    chunks = [data[i : i + 1] for i in range(len(data))] if oneByte else [data]
    with pytest.raises(error):
        for chunk in chunks:
            parser.feed(chunk)


def test_parser_refuses_use_after_completion() -> None:
    parser = HAProxyHeaderParser()
    assert parser.feed(b"PROXY UNKNOWN\r\n") is not None
    with pytest.raises(RuntimeError):
        parser.feed(b"x")


@given(st.binary(max_size=300))
def test_random_bytes_only_raise_the_protocol_error(data: bytes) -> None:
    for prefix in (b"", b"PROXY ", buildV2(SRC4, DST4)[:12]):
        parser = HAProxyHeaderParser()
        try:
            parser.feed(prefix + data)
        except InvalidProxyHeader:
            pass


@given(st.binary(min_size=1, max_size=60), st.integers(min_value=0, max_value=40))
def test_mutated_headers_only_raise_the_protocol_error(junk: bytes, at: int) -> None:
    for header in (buildV1(SRC4, DST4), buildV2(SRC6, DST6)):
        mutated = header[:at] + junk + header[at + len(junk) :]
        parser = HAProxyHeaderParser()
        try:
            parser.feed(mutated)
        except InvalidProxyHeader:
            pass


class Recorder(Protocol):
    def __init__(self) -> None:
        self.received = b""
        self.peerAtConnect: Any = None
        self.hostAtConnect: Any = None
        self.lost = False

    def connectionMade(self) -> None:
        self.peerAtConnect = self.transport.getPeer()
        self.hostAtConnect = self.transport.getHost()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        self.transport.write(b"echo:" + data)

    def connectionLost(self, reason: Any) -> None:
        self.lost = True


def wrapped(clock: Any = None) -> tuple[Any, StringTransport, list[Recorder]]:
    built: list[Recorder] = []

    class F(Factory):
        def buildProtocol(self, addr: Any) -> Recorder:
            proto = Recorder()
            proto.factory = self
            built.append(proto)
            return proto

    factory = HAProxyWrappingFactory(F(), clock=clock, headerTimeout=5)
    proto = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
    proto.makeConnection(transport)
    return proto, transport, built


@pytest.mark.parametrize("oneByte", [False, True])
@pytest.mark.parametrize("v2", [False, True])
def test_wrapper_exposes_real_peer(oneByte: bool, v2: bool) -> None:
    proto, transport, built = wrapped()
    header = buildV2(SRC4, DST4) if v2 else buildV1(SRC4, DST4)
    data = header + b"hello"
    if oneByte:
        for i in range(len(data)):
            proto.dataReceived(data[i : i + 1])
    else:
        proto.dataReceived(data)
    [app] = built
    assert app.peerAtConnect == SRC4
    assert app.hostAtConnect == DST4
    assert app.transport.getPeer() == SRC4
    assert app.received == b"hello"
    assert transport.value().endswith(b"o")
    assert transport.value().startswith(b"echo:")
    proto.connectionLost(None)
    assert app.lost


def test_wrapper_local_header_keeps_real_peer() -> None:
    proto, _, built = wrapped()
    proto.dataReceived(buildV2(None, None, local=True))
    assert built[0].peerAtConnect == IPv4Address("TCP", "127.0.0.1", 40000)


@pytest.mark.parametrize(
    "data",
    [b"GET / HTTP/1.0\r\n\r\n", b"PROXY " + b"x" * 200, buildV2(SRC4, DST4)[:14] + b"\xff\xff"],
)
def test_wrapper_closes_and_logs_once_on_bad_header(data: bytes) -> None:
    proto, transport, built = wrapped()
    with capturedLogs() as events:
        proto.dataReceived(data)
        proto.dataReceived(b"more garbage")
    assert built == []
    assert transport.disconnecting
    assert transport.value() == b""
    warnings = [e for e in events if "invalid PROXY header" in e.get("log_format", "")]
    assert len(warnings) == 1


def test_wrapper_times_out_a_slow_header() -> None:
    clock = Clock()
    proto, transport, built = wrapped(clock)
    proto.dataReceived(b"PROXY TCP4 ")
    with capturedLogs() as events:
        clock.advance(5)
    assert transport.disconnecting and built == []
    assert len(events) == 1


def test_wrapper_cancels_timeout_when_header_arrives() -> None:
    clock = Clock()
    proto, transport, built = wrapped(clock)
    proto.dataReceived(buildV1(SRC4, DST4))
    assert clock.getDelayedCalls() == []
    assert not transport.disconnecting and len(built) == 1
