"""Twisted behaviours glisten.names must share (issue 12 items 6 and 8), each failing before its fix."""

from __future__ import annotations

import os
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.task import Clock
from glisten.internet.testing import EventLoggingObserver, StringTransport
from glisten.logger import globalLogPublisher
from glisten.names import authority, cache, client, common, dns, error, hosts, resolve, server
from glisten.python.failure import Failure

from .helpers import FakeUDPTransport, exampleAuthority, query

ADDR = ("127.0.0.1", 5353)


def _answer(factory: server.DNSServerFactory, data: bytes) -> list[dns.Message]:
    p = dns.DNSDatagramProtocol(factory, reactor=Clock())
    t = FakeUDPTransport()
    p.transport = t
    p.datagramReceived(data, ADDR)
    return [dns.Message.fromBytes(out) for out, _ in t.written]


class _Raising(common.ResolverBase):
    """A resolver whose ``query`` raises instead of returning a Deferred."""

    def query(self, query: dns.Query, timeout: Any = None) -> Any:
        raise RuntimeError("boom")


class _Failing(common.ResolverBase):
    def _lookup(self, name: bytes, cls: int, type: int, timeout: Any) -> Any:
        return defer.fail(RuntimeError("boom"))


class _Garbage(common.ResolverBase):
    """Answers with something that is not (answers, authority, additional)."""

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Any) -> Any:
        return defer.succeed(None)


class TestServerAlwaysAnswers:
    """Issue 12 item 6: every failure path answers, and logs once."""

    @pytest.mark.parametrize("resolver", [_Raising, _Failing, _Garbage])
    def test_resolverProblemsGiveServfail(self, resolver: type) -> None:
        observer = EventLoggingObserver()
        globalLogPublisher.addObserver(observer)
        try:
            f = server.DNSServerFactory(clients=[resolver()], reactor=Clock())
            [r] = _answer(f, query(b"example.org", dns.A, id=9))
        finally:
            globalLogPublisher.removeObserver(observer)
        assert (r.id, r.rCode, r.answer) == (9, dns.ESERVER, 1)
        failures = [e for e in observer if "log_failure" in e]
        assert len(failures) == 1

    def test_raisingHookGivesServfailOverTCP(self) -> None:
        class Broken(server.DNSServerFactory):
            def handleQuery(self, message: dns.Message, protocol: Any, address: Any) -> None:
                raise KeyError("bug")

        f = Broken(authorities=[exampleAuthority()], reactor=Clock())
        p = f.buildProtocol(None)
        t = StringTransport()
        p.makeConnection(t)
        data = query(b"mail.example.com", dns.A, id=3)
        p.dataReceived(len(data).to_bytes(2, "big") + data)
        out = t.value()
        r = dns.Message.fromBytes(out[2:])
        assert (r.id, r.rCode) == (3, dns.ESERVER)

    def test_errorAfterReplyIsNotAnsweredTwice(self) -> None:
        class LateBug(server.DNSServerFactory):
            def gotResolverResponse(self, *a: Any) -> None:
                super().gotResolverResponse(*a)
                raise KeyError("after the reply")

        f = LateBug(clients=[hosts.Resolver(os.devnull)], reactor=Clock())
        f.resolver = resolve.ResolverChain([exampleAuthority()])
        replies = _answer(f, query(b"mail.example.com", dns.A))
        assert [r.rCode for r in replies] == [dns.OK]

    def test_unencodableAnswerGivesServfail(self) -> None:
        class Bad(common.ResolverBase):
            def _lookup(self, name: bytes, cls: int, type: int, timeout: Any) -> Any:
                rr = dns.RRHeader(name, dns.TXT, dns.IN, 60, dns.Record_TXT(b"x"))
                rr.payload = object()  # type: ignore[assignment]
                return defer.succeed(([rr], [], []))

        [r] = _answer(
            server.DNSServerFactory(clients=[Bad()], reactor=Clock()), query(b"a.b", dns.TXT)
        )
        assert r.rCode == dns.ESERVER


class TestAuthorities:
    def test_subclassWithoutInit(self) -> None:
        """Twisted's documented way: set ``soa`` and ``records``, skip ``__init__``."""
        soa = dns.Record_SOA(b"ns1.example.net", b"root.example.net", serial=1, minimum=60)

        class MyZone(authority.FileAuthority):
            def __init__(self) -> None:
                self.soa = (b"example.net", soa)
                self.records = {
                    b"example.net": [soa],
                    b"www.example.net": [dns.Record_A("192.0.2.7", ttl=30)],
                }

        f = server.DNSServerFactory(authorities=[MyZone()], reactor=Clock())
        [r] = _answer(f, query(b"www.example.net", dns.A))
        assert (r.rCode, r.auth) == (dns.OK, 1)
        assert r.answers[0].payload == dns.Record_A("192.0.2.7", ttl=30)
        [r] = _answer(f, query(b"nothere.example.net", dns.A))
        assert r.rCode == dns.ENAME

    def test_recordsChangedInPlaceAreSeen(self) -> None:
        a = exampleAuthority()
        f = server.DNSServerFactory(authorities=[a], reactor=Clock())
        [r] = _answer(f, query(b"new.example.com", dns.A))
        assert r.rCode == dns.ENAME
        a.records[b"new.example.com"] = [dns.Record_A("192.0.2.99")]
        [r] = _answer(f, query(b"new.example.com", dns.A))
        assert r.rCode == dns.OK and r.answers[0].payload.dottedQuad() == "192.0.2.99"

    def test_bindAuthorityBytesPath(self, tmp_path: Any) -> None:
        zone = tmp_path / "example.zone"
        zone.write_text(
            "$ORIGIN example.com.\n@ 60 IN SOA ns1 root 1 2 3 4 5\n@ 60 IN A 192.0.2.1\n"
        )
        a = authority.BindAuthority(os.fsencode(zone))
        assert a.soa[0] == b"example.com"


class TestDnsModule:
    def test_domainErrorReexported(self) -> None:
        assert dns.DomainError is error.DomainError
        assert dns.AuthoritativeDomainError is error.AuthoritativeDomainError

    @pytest.mark.parametrize(
        "record",
        [
            dns.Record_A6(0, "1080::8:800:200c:417a", b"", ttl=5),
            dns.Record_A6(64, "::8:800:200c:417a", b"subnet.example", ttl=5),
            dns.Record_A6(128, "::", b"prefix.example", ttl=0),
            dns.Record_WKS("192.0.2.1", 6, b"\x00\x01\x80", ttl=7),
        ],
    )
    def test_a6AndWksRoundTrip(self, record: Any) -> None:
        m = dns.Message(id=1, answer=1)
        m.answers.append(dns.RRHeader(b"x.example", record.TYPE, dns.IN, record.ttl or 0, record))
        back = dns.Message.fromBytes(m.toStr())
        assert back.answers[0].payload == record

    def test_a6Bad(self) -> None:
        with pytest.raises(ValueError):
            dns.Record_A6(129)


class TestClientModule:
    @pytest.mark.parametrize(
        "name",
        [
            "lookupMailBox",
            "lookupMailGroup",
            "lookupMailRename",
            "lookupNull",
            "lookupWellKnownServices",
            "lookupSenderPolicy",
            "lookupAddress6",
            "query",
        ],
    )
    def test_moduleLevelFunctions(self, name: str, monkeypatch: Any) -> None:
        seen: list[Any] = []

        class Recorder(common.ResolverBase):
            def _lookup(self, n: bytes, cls: int, type: int, timeout: Any) -> Any:
                seen.append((n, type))
                return defer.succeed(([], [], []))

        monkeypatch.setattr(client, "theResolver", Recorder())
        fn = getattr(client, name)
        if name == "query":
            fn(dns.Query(b"x.example", dns.MX))
        else:
            fn("x.example")
        assert seen and seen[0][0] == b"x.example"
        assert name in client.__all__

    def test_filterAnswersErrorIsFailure(self) -> None:
        r = client.Resolver(servers=[("127.0.0.1", 53)], reactor=Clock())
        out = r.filterAnswers(dns.Message(rCode=dns.ENAME, answer=1))
        assert isinstance(out, Failure) and out.check(error.DNSNameError)

    def test_createResolverDefaultsAreBytes(self) -> None:
        chain = client.createResolver(reactor=Clock())
        hostsResolver, _, upstream = chain.resolvers
        assert hostsResolver.file == b"/etc/hosts"
        assert upstream.resolv == b"/etc/resolv.conf"


class TestHosts:
    def test_answersLikeTwisted(self, tmp_path: Any) -> None:
        f = tmp_path / "hosts"
        f.write_bytes(b"192.0.2.5 printer.lan\n192.0.2.6 printer.lan\n")
        out: list[Any] = []
        hosts.Resolver(os.fsencode(f)).lookupAddress(b"printer.lan").addCallback(out.append)
        ans, auth, add = out[0]
        assert (type(ans), auth, add) == (tuple, (), ())
        assert [rr.auth for rr in ans] == [False, False]
        assert ans[1] == dns.RRHeader(
            b"printer.lan", dns.A, dns.IN, 3600, dns.Record_A("192.0.2.6", 3600)
        )


class TestCache:
    def test_emptyAnswerIsCached(self) -> None:
        clock = Clock()
        q = dns.Query(b"empty.example", dns.A)
        c = cache.CacheResolver({q: (clock.seconds(), ([], [], []))}, reactor=clock)
        out: list[Any] = []
        c.query(q).addBoth(out.append)
        assert out == [([], [], [])]
        clock.advance(0)
        c.query(q).addBoth(out.append)
        assert isinstance(out[1], Failure) and out[1].check(error.DomainError)


class TestGetHostByName:
    def _resolver(self, records: list[Any]) -> common.ResolverBase:
        soa = dns.Record_SOA(b"ns.example", b"root.example", minimum=60)
        a = authority.FileAuthority()
        a.setData((b"example", soa), {b"example": [soa], b"h.example": records})
        return a

    def test_prefersIPv6AsTwistedDocuments(self) -> None:
        out: list[Any] = []
        r = self._resolver([dns.Record_A("192.0.2.1"), dns.Record_AAAA("2001:db8::1")])
        r.getHostByName("h.example").addBoth(out.append)
        assert out == ["2001:db8::1"]

    def test_ipv4Only(self) -> None:
        out: list[Any] = []
        self._resolver([dns.Record_A("192.0.2.1")]).getHostByName("h.example").addBoth(out.append)
        assert out == ["192.0.2.1"]

    def test_noAddress(self) -> None:
        out: list[Any] = []
        r = self._resolver([dns.Record_TXT(b"x")])
        r.getHostByName("h.example").addErrback(lambda f: out.append(f.value))
        assert isinstance(out[0], error.DNSNameError)


def test_resolversProvideCoresIResolver(tmp_path: Any) -> None:
    """One ``IResolver``: Twisted programs import it from ``internet.interfaces``."""
    from zope.interface.verify import verifyObject

    from glisten.internet import interfaces
    from glisten.names import interfaces as namesInterfaces

    assert namesInterfaces.IResolver is interfaces.IResolver
    hostsFile = tmp_path / "hosts"
    hostsFile.write_text("127.0.0.1 localhost\n")
    for resolver in (
        client.Resolver(servers=[ADDR], reactor=Clock()),
        cache.CacheResolver(reactor=Clock()),
        hosts.Resolver(file=str(hostsFile)),
        exampleAuthority(),
    ):
        assert verifyObject(interfaces.IResolver, resolver)


def test_bootstrapWaitsForTheRootHints() -> None:
    """root.bootstrap looks the root servers up, and questions asked meanwhile wait for the
    hints instead of failing (no method is replaced on an instance to do it)."""
    from glisten.names import root

    pending: dict[str, defer.Deferred[str]] = {}

    class Hosts(common.ResolverBase):
        def getHostByName(self, name: Any, *args: Any, **kw: Any) -> Any:
            pending[name] = defer.Deferred()
            return pending[name]

    asked: list[tuple[list[tuple[str, int]], list[Any]]] = []

    class FakeClient:
        def __init__(self, servers: list[tuple[str, int]], reactor: Any) -> None:
            self.servers = servers

        def queryUDP(self, queries: list[Any], timeout: Any) -> Any:
            asked.append((self.servers, queries))
            return defer.Deferred()

    resolver = root.bootstrap(Hosts(), resolverFactory=FakeClient)
    assert len(pending) == 13
    answer = resolver.lookupAddress(b"example.com")
    assert asked == [] and not answer.called
    for i, name in enumerate(sorted(pending)):
        if i == 0:
            pending[name].errback(RuntimeError("one root server is not found"))
        else:
            pending[name].callback(f"192.0.2.{i}")
    assert len(asked) == 1
    servers, queries = asked[0]
    assert servers[0][0].startswith("192.0.2.")
    assert queries[0].name.name == b"example.com" and queries[0].type == dns.A
