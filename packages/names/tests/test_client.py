"""Tests for the resolvers (client, hosts, cache, resolve, root, secondary) on loopback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.error import CannotListenError
from glisten.internet.protocol import DatagramProtocol
from glisten.internet.task import Clock
from glisten.names import (
    authority,
    cache,
    client,
    dns,
    error,
    hosts,
    resolve,
    root,
    secondary,
    server,
)
from glisten.names.common import ResolverBase

from .helpers import exampleAuthority, makeReactor, runUntil, serve


@pytest.fixture
def rx() -> Iterator[Any]:
    r = makeReactor()
    yield r


def _resolver(reactor: Any, port: int, **kw: Any) -> client.Resolver:
    return client.Resolver(servers=[("127.0.0.1", port)], reactor=reactor, **kw)


class TestResolver:
    def test_lookupAddress(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        ans, auth, add = runUntil(rx, _resolver(rx, port).lookupAddress("mail.example.com"))
        assert [rr.payload for rr in ans] == [dns.Record_A("192.0.2.2", ttl=3600)]

    def test_lookupMailExchangeWithAdditional(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        ans, auth, add = runUntil(rx, _resolver(rx, port).lookupMailExchange(b"example.com"))
        assert ans[0].payload.name == dns.Name(b"mail.example.com")
        assert {rr.type for rr in add} == {dns.A, dns.AAAA}

    def test_nxdomain(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        with pytest.raises(error.DNSNameError) as e:
            runUntil(rx, _resolver(rx, port).lookupAddress("nothere.example.com"))
        m = e.value.args[0]
        assert isinstance(m, dns.Message)
        assert m.authority[0].type == dns.SOA

    def test_refused(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        with pytest.raises(error.DNSQueryRefusedError):
            runUntil(rx, _resolver(rx, port).lookupAddress("example.org"))

    def test_truncatedAnswerRetriedOverTCP(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        ans, _, _ = runUntil(rx, _resolver(rx, port).lookupText("big.example.com"))
        assert ans[0].payload.data[0] == b"x" * 250

    def test_getHostByNameFollowsCNAME(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        # IPv6 in preference to IPv4, as Twisted documents.
        assert runUntil(rx, _resolver(rx, port).getHostByName("www.example.com")) == "2001:db8::2"

    def test_lookupZone(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        ans, _, _ = runUntil(rx, _resolver(rx, port).lookupZone("example.com"))
        assert ans[0].type == dns.SOA and ans[-1].type == dns.SOA
        assert len(ans) == 21

    def test_sharedConcurrentLookups(self, rx: Any) -> None:
        port = serve(rx, [exampleAuthority()])
        r = _resolver(rx, port)
        d = defer.gatherResults([r.lookupAddress("mail.example.com") for _ in range(3)])
        results = runUntil(rx, d)
        assert all(res[0][0].payload == dns.Record_A("192.0.2.2", ttl=3600) for res in results)

    def test_truncatedOverTCPTooIsAccepted(self, rx: Any) -> None:
        class AlwaysTruncated(server.DNSServerFactory):
            def sendReply(self, protocol: Any, message: dns.Message, address: Any) -> None:
                message.trunc = 1
                super().sendReply(protocol, message, address)

        f = AlwaysTruncated(authorities=[exampleAuthority()], reactor=rx)
        port = serve(rx, [], factory=f)
        ans, _, _ = runUntil(rx, _resolver(rx, port).lookupAddress("mail.example.com"), 5)
        assert ans[0].payload == dns.Record_A("192.0.2.2", ttl=3600)

    def test_answersFromElsewhereOrWithWrongIdIgnored(self, rx: Any) -> None:
        """Twisted issue 12696: only the server asked, with the right id and question, is believed."""
        other: list[Any] = []

        class Evil(DatagramProtocol):
            def datagramReceived(self, data: bytes, addr: Any) -> None:
                q = dns.Message.fromBytes(data)

                def answer(id: int, ip: str) -> bytes:
                    m = dns.Message(id=id, answer=1)
                    m.queries = q.queries
                    m.answers = [dns.RRHeader(q.queries[0].name, dns.A, payload=dns.Record_A(ip))]
                    return m.toStr()

                other[0].transport.write(answer(q.id, "6.6.6.6"), addr)  # wrong source port
                self.transport.write(answer(q.id ^ 1, "6.6.6.7"), addr)  # wrong id
                other_q = dns.Message(id=q.id, answer=1)
                other_q.addQuery(b"other.example", dns.A)
                other_q.answers = [dns.RRHeader(b"other.example", payload=dns.Record_A("6.6.6.8"))]
                self.transport.write(other_q.toStr(), addr)  # another question
                self.transport.write(answer(q.id, "192.0.2.1"), addr)

        other.append(DatagramProtocol())
        rx.listenUDP(0, other[0], interface="127.0.0.1")
        port = rx.listenUDP(0, Evil(), interface="127.0.0.1").getHost().port
        ans, _, _ = runUntil(rx, _resolver(rx, port).lookupAddress("example.com"))
        assert [rr.payload.dottedQuad() for rr in ans] == ["192.0.2.1"]

    def test_resolvConf(self, tmp_path: Any) -> None:
        path = os.path.join(tmp_path, "resolv.conf")
        with open(path, "w") as f:
            f.write(
                "# comment\nsearch example.com\nnameserver 192.0.2.53\nnameserver ::1\nnameserver bogus\n"
            )
        r = client.Resolver(resolv=path, reactor=Clock())
        assert r.dynServers == [("192.0.2.53", 53), ("::1", 53)]
        with pytest.raises(ValueError):
            client.Resolver(reactor=Clock())

    def test_hostnameResolver(self, rx: Any) -> None:
        from glisten.internet.address import IPv4Address, IPv6Address

        port = serve(rx, [exampleAuthority()])
        got: list[Any] = []
        done: defer.Deferred[None] = defer.Deferred()

        class Receiver:
            def resolutionBegan(self, r: Any) -> None:
                pass

            def addressResolved(self, a: Any) -> None:
                got.append(a)

            def resolutionComplete(self) -> None:
                done.callback(None)

        hr = client.HostnameResolver(_resolver(rx, port))
        hr.resolveHostName(Receiver(), "mail.example.com", 25)  # type: ignore[arg-type]
        runUntil(rx, done)
        assert set(got) == {
            IPv4Address("TCP", "192.0.2.2", 25),
            IPv6Address("TCP", "2001:db8::2", 25),
        }


class TestHosts:
    def test_lookups(self, tmp_path: Any) -> None:
        path = os.path.join(tmp_path, "hosts")
        with open(path, "w") as f:
            f.write(
                "127.0.0.1 localhost\n192.0.2.5 Box box.example # c\n2001:db8::5 box\nbad line\n"
            )
        r = hosts.Resolver(path)
        out: list[Any] = []
        r.lookupAddress("BOX").addCallback(out.append)
        r.lookupIPV6Address("box").addCallback(out.append)
        r.lookupAddress("nothere").addErrback(lambda f: out.append(f.value))
        r.lookupMailExchange("box").addErrback(lambda f: out.append(f.value))
        assert out[0][0][0].payload == dns.Record_A("192.0.2.5", ttl=3600)
        assert out[1][0][0].payload == dns.Record_AAAA("2001:db8::5", ttl=3600)
        assert isinstance(out[2], error.DomainError) and isinstance(out[3], error.DomainError)
        assert hosts.searchFileFor(path, "box.example") == "192.0.2.5"
        assert hosts.searchFileForAll(path, "box") == ["192.0.2.5", "2001:db8::5"]
        assert hosts.searchFileFor("/nonexistent", "box") is None


def _rr(name: bytes, ip: str, ttl: int) -> dns.RRHeader:
    return dns.RRHeader(name, dns.A, dns.IN, ttl, dns.Record_A(ip, ttl=ttl))


class TestCache:
    def test_ttlRespected(self) -> None:
        clock = Clock()
        c = cache.CacheResolver(reactor=clock)
        q = dns.Query(b"example.com", dns.A)
        c.cacheResult(q, ([_rr(b"example.com", "192.0.2.1", 10)], [], []))
        clock.advance(4)
        out: list[Any] = []
        c.lookupAddress("example.com").addCallback(out.append)
        assert out[0][0][0].ttl == 6
        clock.advance(7)
        c.lookupAddress("example.com").addErrback(lambda f: out.append(f.value))
        assert isinstance(out[1], error.DomainError)
        assert clock.getDelayedCalls() == []

    def test_negativeCaching(self) -> None:
        clock = Clock()
        c = cache.CacheResolver(reactor=clock)
        m = dns.Message(rCode=dns.ENAME, answer=1)
        soa = dns.Record_SOA(b"ns", b"h", 1, 2, 3, 4, 30)
        m.authority = [dns.RRHeader(b"example.com", dns.SOA, dns.IN, 60, soa)]
        q = dns.Query(b"nx.example.com", dns.A)
        c.cacheNegative(q, m)
        out: list[Any] = []
        c.lookupAddress("nx.example.com").addErrback(lambda f: out.append(f.value))
        assert isinstance(out[0], error.DNSNameError)
        clock.advance(31)  # min(SOA TTL 60, minimum 30)
        c.lookupAddress("nx.example.com").addErrback(lambda f: out.append(f.value))
        assert type(out[1]) is error.DomainError

    def test_nodataCachedForSOAMinimum(self) -> None:
        clock = Clock()
        c = cache.CacheResolver(reactor=clock)
        soa = dns.Record_SOA(b"ns", b"h", 1, 2, 3, 4, 20)
        q = dns.Query(b"example.com", dns.TXT)
        c.cacheResult(q, ([], [dns.RRHeader(b"example.com", dns.SOA, dns.IN, 60, soa)], []))
        assert [call.getTime() for call in clock.getDelayedCalls()] == [20]

    def test_serverCachesUpstreamAnswers(self) -> None:
        clock = Clock()
        c = cache.CacheResolver(reactor=clock)

        class Upstream(ResolverBase):
            calls = 0

            def _lookup(self, name: bytes, cls: int, type: int, timeout: Any) -> Any:
                Upstream.calls += 1
                return defer.succeed(([_rr(name, "192.0.2.77", 100)], [], []))

        from .helpers import FakeUDPTransport, query

        f = server.DNSServerFactory(caches=[c], clients=[Upstream()], reactor=clock)
        p = dns.DNSDatagramProtocol(f, reactor=clock)
        p.transport = FakeUDPTransport()
        for i in range(3):
            p.datagramReceived(query(b"Example.com", dns.A, id=i), ("127.0.0.1", 1))
        assert Upstream.calls == 1
        replies = [dns.Message.fromBytes(d) for d, _ in p.transport.written]
        assert all(r.recAv == 1 and r.auth == 0 for r in replies)


class TestChain:
    def test_fallsThroughDomainErrorsOnly(self) -> None:
        class Fails(ResolverBase):
            def __init__(self, exc: Exception) -> None:
                super().__init__()
                self.exc = exc

            def _lookup(self, name: bytes, cls: int, type: int, timeout: Any) -> Any:
                return defer.fail(self.exc)

        good = exampleAuthority()
        out: list[Any] = []
        chain = resolve.ResolverChain([Fails(error.DomainError("x")), good])
        chain.lookupAddress("mail.example.com").addCallback(out.append)
        assert out[0][0][0].payload == dns.Record_A("192.0.2.2", ttl=3600)
        chain = resolve.ResolverChain([Fails(error.AuthoritativeDomainError("x")), good])
        chain.lookupAddress("mail.example.com").addErrback(lambda f: out.append(f.value))
        assert isinstance(out[1], error.AuthoritativeDomainError)
        resolve.ResolverChain([]).lookupAddress("x").addErrback(lambda f: out.append(f.value))
        assert isinstance(out[2], error.DomainError)


class TestSecondary:
    def test_transferAndRefresh(self, rx: Any) -> None:
        primary = exampleAuthority()
        port = serve(rx, [primary])
        sec = secondary.SecondaryAuthority("127.0.0.1", "example.com", reactor=rx, port=port)
        out: list[Any] = []
        sec.lookupAddress("mail.example.com").addErrback(lambda f: out.append(f.value))
        assert isinstance(out[0], error.DomainError)  # nothing before the first transfer

        async def go() -> None:
            await sec.transfer()
            assert sec.soa[1].serial == 2024010101
            assert set(sec.records) == set(primary.records)
            ans, _, _ = sec._answer(b"www.example.com", dns.IN, dns.A)
            assert [rr.type for rr in ans] == [dns.CNAME, dns.A]
            # The primary's serial grows: the next check transfers again.
            newSOA = dns.Record_SOA(
                b"ns1.example.com", b"hostmaster.example.com", 2024010102, 1, 1, 1, 1, ttl=60
            )
            primary.setData(
                (b"example.com", newSOA),
                {
                    b"example.com": [newSOA],
                    b"new.example.com": [dns.Record_A("192.0.2.123", ttl=60)],
                },
            )
            await sec.startRefreshing()
            assert sec.soa[1].serial == 2024010102
            assert b"new.example.com" in sec.records
            sec.stopRefreshing()

        runUntil(rx, defer.ensureDeferred(go()))

    def test_stopsAnsweringAfterExpire(self) -> None:
        clock = Clock()
        sec = secondary.SecondaryAuthority("192.0.2.1", "example.com", reactor=clock)
        soa = dns.Record_SOA(b"ns.example.com", b"h.example.com", 1, 10, 10, 100, 5)
        rrs = [
            dns.RRHeader(b"example.com", dns.SOA, dns.IN, 60, soa),
            dns.RRHeader(b"www.example.com", dns.A, dns.IN, 60, dns.Record_A("192.0.2.7")),
            dns.RRHeader(b"www.example.org", dns.A, dns.IN, 60, dns.Record_A("192.0.2.8")),
            dns.RRHeader(b"example.com", dns.SOA, dns.IN, 60, soa),
        ]
        sec._cbZone((rrs, [], []))
        assert b"www.example.org" not in sec.records  # out-of-zone records dropped
        out: list[Any] = []
        sec.lookupAddress("www.example.com").addCallback(out.append)
        assert out[0][0][0].payload.dottedQuad() == "192.0.2.7"
        clock.advance(101)
        sec.lookupAddress("www.example.com").addErrback(lambda f: out.append(f.value))
        assert isinstance(out[1], error.DomainError)

    def test_serialArithmetic(self) -> None:
        assert secondary.serialGreater(2, 1)
        assert secondary.serialGreater(1, 0xFFFFFFFF)
        assert not secondary.serialGreater(1, 1)
        assert not secondary.serialGreater(0xFFFFFFFF, 1)


class TestRoot:
    def test_iterativeResolutionFollowsReferral(self, rx: Any) -> None:
        rootZone = authority.BindAuthority.fromText(
            "$ORIGIN .\n$TTL 60\n@ SOA a.root. h.root. 1 2 3 4 5\n"
            "example.com. NS ns.example.com.\nns.example.com. AAAA ::1\n"
        )
        for _ in range(10):
            port = serve(rx, [rootZone], interface="127.0.0.1")
            try:
                serve(rx, [exampleAuthority()], interface="::1", port=port)
                break
            except CannotListenError:
                continue
        r = root.Resolver(["127.0.0.1"], reactor=rx, port=port)

        async def go() -> None:
            ans, _, _ = await r.lookupAddress("www.example.com")
            assert [rr.type for rr in ans] == [dns.CNAME, dns.A]
            with pytest.raises(error.DNSNameError):
                await r.lookupAddress("nothere.example.com")

        runUntil(rx, defer.ensureDeferred(go()))

    def test_queryLimit(self, rx: Any) -> None:
        # A zone delegating to itself sends the resolver round in circles.
        loopZone = authority.BindAuthority.fromText(
            "$ORIGIN .\n$TTL 60\n@ SOA a.root. h.root. 1 2 3 4 5\n"
            "example.com. NS ns.example.com.\nns.example.com. A 127.0.0.1\n"
        )
        port = serve(rx, [loopZone])
        r = root.Resolver(["127.0.0.1"], reactor=rx, port=port, maximumQueries=4)
        with pytest.raises(error.ResolverError):
            runUntil(rx, r.lookupAddress("www.example.com"))


def test_reactorNameResolver(rx: Any) -> None:
    """glisten.names plugged into the reactor resolves names for connectTCP."""
    from glisten.internet.protocol import ClientFactory, Factory, Protocol

    zone = authority.BindAuthority.fromText(
        "$ORIGIN example.com.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nlocal A 127.0.0.1\n"
    )
    dnsPort = serve(rx, [zone])
    connected: defer.Deferred[None] = defer.Deferred()

    class Server(Protocol):
        def connectionMade(self) -> None:
            connected.callback(None)
            self.transport.loseConnection()

    listening = rx.listenTCP(0, Factory.forProtocol(Server), interface="127.0.0.1")
    previous = rx.installNameResolver(client.HostnameResolver(_resolver(rx, dnsPort)))
    assert previous is not None
    rx.connectTCP(
        "local.example.com", listening.getHost().port, ClientFactory.forProtocol(Protocol)
    )
    runUntil(rx, connected)
