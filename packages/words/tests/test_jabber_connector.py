"""``client.XMPPClientConnector``: SRV lookup (RFC 6120 section 3.2, RFC 2782 order), the
fallback to the domain on port 5222, trying the next server, and the factory's view of it."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from zope.interface.verify import verifyObject

from glisten.internet import defer, error
from glisten.internet.interfaces import IConnector
from glisten.internet.protocol import ClientFactory, Protocol
from glisten.internet.testing import MemoryReactor, MemoryReactorClock
from glisten.python.failure import Failure
from glisten.words.protocols.jabber import client


@attrs.define
class Target:
    name: bytes


@attrs.define
class SRV:
    priority: int
    weight: int
    port: int
    target: Target


@attrs.define
class RR:
    payload: Any
    type: int = 33


def srv(priority: int, weight: int, port: int, target: str) -> RR:
    return RR(SRV(priority, weight, port, Target(target.encode())))


class Resolver:
    """Answers ``lookupService`` from a table; names not in it fail like NXDOMAIN."""

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = answers
        self.asked: list[str] = []
        self.pending: defer.Deferred[Any] | None = None

    def lookupService(self, name: str, timeout: Any = None) -> defer.Deferred[Any]:
        self.asked.append(name)
        if name == "_xmpp-client._tcp.slow.example":
            self.pending = defer.Deferred()
            return self.pending
        if name not in self.answers:
            return defer.fail(error.DNSLookupError(name))
        return defer.succeed((self.answers[name], [], []))


class RecordingFactory(ClientFactory):
    protocol = Protocol

    def __init__(self) -> None:
        self.events: list[Any] = []

    def startedConnecting(self, connector: Any) -> None:
        self.events.append("started")

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.events.append(("failed", reason.type))

    def clientConnectionLost(self, connector: Any, reason: Failure) -> None:
        self.events.append(("lost", reason.type))


def attempts(reactor: MemoryReactor) -> list[tuple[str, int]]:
    return [(host, port) for host, port, *_ in reactor.tcpClients]


def refuse(reactor: MemoryReactor) -> None:
    host, port, factory, *_ = reactor.tcpClients[-1]
    factory.clientConnectionFailed(reactor.connectors[-1], Failure(error.ConnectionRefusedError()))


def connectTo(*records: RR) -> tuple[MemoryReactor, Resolver, RecordingFactory, Any]:
    """Connect to example.org, whose SRV records are ``records``."""
    reactor = MemoryReactor()
    resolver = Resolver({"_xmpp-client._tcp.example.org": list(records)})
    factory = RecordingFactory()
    connector = client.XMPPClientConnector(reactor, "example.org", factory, resolver)
    return reactor, resolver, factory, connector


def test_srv_records_in_priority_order_and_the_next_on_failure() -> None:
    reactor, resolver, factory, connector = connectTo(
        srv(20, 0, 5299, "backup.example.org."), srv(10, 0, 5222, "xmpp.example.org.")
    )
    verifyObject(IConnector, connector)
    connector.connect()
    assert resolver.asked == ["_xmpp-client._tcp.example.org"]
    assert attempts(reactor) == [("xmpp.example.org", 5222)]
    refuse(reactor)
    assert attempts(reactor)[-1] == ("backup.example.org", 5299)
    assert factory.events == ["started"]  # the factory does not see the first refusal
    proto = reactor.tcpClients[-1][2].buildProtocol(None)
    assert isinstance(proto, Protocol) and connector.state == "connected"
    assert connector.getDestination().hostname == b"backup.example.org"
    reactor.tcpClients[-1][2].clientConnectionLost(None, Failure(error.ConnectionDone()))
    assert factory.events == ["started", ("lost", error.ConnectionDone)]
    # Reconnecting looks the records up again.
    connector.connect()
    assert len(resolver.asked) == 2


def test_without_records_the_domain_itself_on_the_default_port() -> None:
    reactor = MemoryReactor()
    factory = RecordingFactory()
    connector = client.XMPPClientConnector(reactor, "example.net", factory, Resolver({}))
    connector.connect()
    assert attempts(reactor) == [("example.net", 5222)]


def test_without_a_resolver_no_lookup() -> None:
    reactor = MemoryReactor()
    connector = client.XMPPClientConnector(
        reactor, "bücher.example", RecordingFactory(), defaultPort=15222
    )
    connector.connect()
    assert attempts(reactor) == [("xn--bcher-kva.example", 15222)]


@pytest.mark.parametrize("domain, host", [("[::1]", "::1"), ("192.0.2.7", "192.0.2.7")])
def test_an_address_as_domain_is_not_looked_up(domain: str, host: str) -> None:
    reactor = MemoryReactor()
    resolver = Resolver({})
    connector = client.XMPPClientConnector(reactor, domain, RecordingFactory(), resolver)
    connector.connect()
    assert resolver.asked == []
    assert attempts(reactor) == [(host, 5222)]


def test_a_dot_target_means_no_service() -> None:
    reactor = MemoryReactor()
    resolver = Resolver({"_xmpp-client._tcp.example.com": [srv(0, 0, 0, ".")]})
    factory = RecordingFactory()
    connector = client.XMPPClientConnector(reactor, "example.com", factory, resolver)
    connector.connect()
    assert attempts(reactor) == []
    assert factory.events == ["started", ("failed", error.DNSLookupError)]
    assert connector.state == "disconnected"


def test_every_server_refused_reports_one_failure() -> None:
    reactor, resolver, factory, connector = connectTo(
        srv(1, 0, 1, "a.example.org"), srv(2, 0, 2, "b.example.org")
    )
    connector.connect()
    refuse(reactor)
    refuse(reactor)
    assert attempts(reactor) == [("a.example.org", 1), ("b.example.org", 2)]
    assert factory.events == ["started", ("failed", error.ConnectionRefusedError)]
    assert connector.state == "disconnected"


def test_stop_connecting_during_the_lookup() -> None:
    reactor = MemoryReactor()
    resolver = Resolver({})
    factory = RecordingFactory()
    connector = client.XMPPClientConnector(reactor, "slow.example", factory, resolver)
    connector.connect()
    connector.stopConnecting()
    assert factory.events == ["started", ("failed", error.UserError)]
    assert attempts(reactor) == []
    with pytest.raises(error.NotConnectingError):
        connector.stopConnecting()


def test_a_reconnecting_factory_reconnects_through_the_connector() -> None:
    reactor = MemoryReactorClock()
    resolver = Resolver({"_xmpp-client._tcp.example.org": [srv(0, 0, 5222, "x.example.org")]})
    factory = client.XMPPClientFactory(client.jidmod.JID("a@example.org"), "pw")
    factory.clock = reactor
    connector = client.XMPPClientConnector(reactor, "example.org", factory, resolver)
    connector.connect()
    refuse(reactor)
    assert connector.state == "disconnected"
    assert factory.connector is connector
    reactor.advance(factory.delay + 1)
    assert attempts(reactor) == [("x.example.org", 5222)] * 2
    assert len(resolver.asked) == 2


@pytest.mark.parametrize(
    "threshold, first", [(0, "zero"), (1, "heavy"), (99, "heavy"), (100, "light")]
)
def test_weights_decide_the_order_within_a_priority(
    monkeypatch: pytest.MonkeyPatch, threshold: int, first: str
) -> None:
    # Weight 0 comes first, then the others as listed: "zero" (0), "heavy" (99), "light" (1);
    # a draw of ``threshold`` picks the first record whose running sum of weights reaches it.
    monkeypatch.setattr(client.random, "randint", lambda a, b: min(threshold, b))
    records = [(5, 99, "heavy", 3), (5, 1, "light", 2), (5, 0, "zero", 1), (1, 50, "top", 4)]
    ordered = client.orderServers(records)
    assert ordered[0] == ("top", 4)
    assert ordered[1][0] == first
    assert sorted(ordered) == sorted((r[2], r[3]) for r in records)


def test_weights_are_honoured_statistically() -> None:
    firsts = [
        client.orderServers([(0, 1, "rare", 1), (0, 99, "common", 2)])[0][0] for _ in range(400)
    ]
    assert firsts.count("common") > 300


@given(
    st.lists(
        st.tuples(
            st.integers(0, 65535),
            st.integers(0, 65535),
            st.sampled_from("abcdef"),
            st.integers(1, 65535),
        ),
        max_size=12,
    )
)
def test_order_is_a_permutation_by_priority(records: list[tuple[int, int, str, int]]) -> None:
    ordered = client.orderServers(records)
    assert sorted(ordered) == sorted((r[2], r[3]) for r in records)
    priorities = {(r[2], r[3]): r[0] for r in records}
    # Equal (target, port) pairs may carry different priorities; compare the multiset order.
    if len(priorities) == len(records):
        assert [priorities[o] for o in ordered] == sorted(r[0] for r in records)
