"""HostnameEndpoint's RFC 8305 connection racing, on a memory reactor and a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.endpoints import HostnameEndpoint, _interleave, connectProtocol
from glisten.internet.error import ConnectionRefusedError, DNSLookupError
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.testing import MemoryReactorClock, StringTransport
from glisten.python.failure import Failure

V6A = IPv6Address("TCP", "2001:db8::a", 443)
V6B = IPv6Address("TCP", "2001:db8::b", 443)
V4A = IPv4Address("TCP", "192.0.2.1", 443)
V4B = IPv4Address("TCP", "192.0.2.2", 443)


class FakeResolver:
    def __init__(self, addresses: list[Any], complete: bool = True) -> None:
        self.addresses = addresses
        self.complete = complete
        self.asked: list[tuple[str, int]] = []
        self.receiver: Any = None

    def resolveHostName(
        self,
        receiver: Any,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,
        transportSemantics: str = "TCP",
    ) -> Any:
        self.asked.append((hostName, portNumber))
        self.receiver = receiver
        receiver.resolutionBegan(None)
        for address in self.addresses:
            receiver.addressResolved(address)
        if self.complete:
            receiver.resolutionComplete()
        return receiver


def setup(addresses: list[Any], **kw: Any) -> tuple[MemoryReactorClock, HostnameEndpoint]:
    reactor = MemoryReactorClock()
    reactor.nameResolver = FakeResolver(addresses, **kw)  # type: ignore[attr-defined]
    return reactor, HostnameEndpoint(reactor, "example.com", 443, timeout=7)


def attempted(reactor: MemoryReactorClock) -> list[str]:
    return [host for host, *_ in reactor.tcpClients]


def succeed(reactor: MemoryReactorClock, index: int) -> Any:
    factory = reactor.tcpClients[index][2]
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    return protocol


def refuse(reactor: MemoryReactorClock, index: int) -> None:
    connector = reactor.connectors[index]
    reactor.tcpClients[index][2].clientConnectionFailed(
        connector, Failure(ConnectionRefusedError())
    )


def test_interleaving_starts_with_the_first_family() -> None:
    assert _interleave([V6A, V6B, V4A, V4B]) == [V6A, V4A, V6B, V4B]
    assert _interleave([V4A, V4B, V6A]) == [V4A, V6A, V4B]
    assert _interleave([V4A, V4A, V6A]) == [V4A, V6A]
    assert _interleave([]) == []


def test_attempts_are_staggered_and_the_first_success_wins() -> None:
    reactor, endpoint = setup([V6A, V6B, V4A, V4B])
    result: list[Any] = []
    endpoint.connect(Factory.forProtocol(Protocol)).addBoth(result.append)
    assert reactor.nameResolver.asked == [("example.com", 443)]  # type: ignore[attr-defined]
    assert attempted(reactor) == ["2001:db8::a"]
    assert reactor.tcpClients[0][3] == 7  # the per-attempt timeout
    reactor.advance(0.249)
    assert len(reactor.tcpClients) == 1
    reactor.advance(0.001)
    assert attempted(reactor) == ["2001:db8::a", "192.0.2.1"]
    winner = succeed(reactor, 1)
    assert result == [winner._wrappedProtocol]
    assert reactor.connectors[0].stoppedConnecting  # the IPv6 attempt was cancelled
    reactor.advance(10)
    assert len(reactor.tcpClients) == 2  # nothing more is tried after a win


def test_a_failure_starts_the_next_attempt_at_once() -> None:
    reactor, endpoint = setup([V6A, V4A, V6B])
    result: list[Any] = []
    endpoint.connect(Factory.forProtocol(Protocol)).addBoth(result.append)
    refuse(reactor, 0)
    assert attempted(reactor) == ["2001:db8::a", "192.0.2.1"]
    refuse(reactor, 1)
    assert attempted(reactor) == ["2001:db8::a", "192.0.2.1", "2001:db8::b"]
    assert not result
    refuse(reactor, 2)
    assert isinstance(result[0], Failure) and result[0].check(ConnectionRefusedError)
    assert not reactor.getDelayedCalls()


def test_late_connection_of_a_cancelled_attempt_is_closed() -> None:
    reactor, endpoint = setup([V6A, V4A])
    result: list[Any] = []
    endpoint.connect(Factory.forProtocol(Protocol)).addBoth(result.append)
    reactor.advance(0.25)
    succeed(reactor, 1)
    transport = StringTransport()
    late = reactor.tcpClients[0][2].buildProtocol(None)
    late.makeConnection(transport)
    assert transport.disconnecting
    assert len(result) == 1


def test_cancel_during_resolution_and_no_addresses() -> None:
    reactor, endpoint = setup([], complete=False)
    result: list[Any] = []
    d = endpoint.connect(Factory.forProtocol(Protocol))
    d.addBoth(result.append)
    d.cancel()
    assert result[0].check(Exception) and "Cancelled" in type(result[0].value).__name__
    reactor.nameResolver.receiver.resolutionComplete()  # type: ignore[attr-defined]
    assert reactor.tcpClients == []
    reactor2, endpoint2 = setup([])
    failed: list[Any] = []
    endpoint2.connect(Factory.forProtocol(Protocol)).addErrback(failed.append)
    assert failed[0].check(DNSLookupError)


def test_address_literals_skip_resolution_and_connectProtocol() -> None:
    reactor = MemoryReactorClock()
    protocol = Protocol()
    result: list[Any] = []
    connectProtocol(HostnameEndpoint(reactor, "::1", 80), protocol).addBoth(result.append)
    assert attempted(reactor) == ["::1"]
    reactor.tcpClients[0][2].buildProtocol(None).makeConnection(StringTransport())
    assert result == [protocol]


@pytest.mark.parametrize("host", ["bücher.example", b"xn--bcher-kva.example"])
def test_idna(host: Any) -> None:
    reactor, _ = setup([V4A])
    endpoint = HostnameEndpoint(reactor, host, 443)
    endpoint.connect(Factory.forProtocol(Protocol))
    assert reactor.nameResolver.asked == [("xn--bcher-kva.example", 443)]  # type: ignore[attr-defined]
