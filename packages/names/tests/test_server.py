"""Tests for DNSServerFactory and the DNS protocols, over memory transports."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.names import dns, server

from .helpers import FakeUDPTransport, exampleAuthority, query

ADDR = ("127.0.0.1", 5353)


def _udp(
    factory: server.DNSServerFactory | None = None,
) -> tuple[dns.DNSDatagramProtocol, FakeUDPTransport]:
    f = factory or server.DNSServerFactory(authorities=[exampleAuthority()], reactor=Clock())
    p = dns.DNSDatagramProtocol(f, reactor=Clock())
    t = FakeUDPTransport()
    p.transport = t
    return p, t


def _ask(data: bytes, factory: server.DNSServerFactory | None = None) -> dns.Message:
    p, t = _udp(factory)
    p.datagramReceived(data, ADDR)
    assert len(t.written) == 1
    out, addr = t.written[0]
    assert addr == ADDR
    return dns.Message.fromBytes(out)


class TestAnswers:
    def test_positive(self) -> None:
        r = _ask(query(b"www.example.com", dns.A, id=77))
        assert (r.id, r.answer, r.auth, r.rCode, r.recDes, r.recAv) == (77, 1, 1, dns.OK, 1, 0)
        assert [rr.type for rr in r.answers] == [dns.CNAME, dns.A]
        assert r.queries == [dns.Query(b"www.example.com", dns.A)]

    def test_nxdomain(self) -> None:
        r = _ask(query(b"nothere.example.com", dns.A))
        assert (r.rCode, r.auth) == (dns.ENAME, 1)
        assert [rr.type for rr in r.authority] == [dns.SOA]

    def test_nodata(self) -> None:
        r = _ask(query(b"mail.example.com", dns.TXT))
        assert (r.rCode, r.auth, r.answers) == (dns.OK, 1, [])
        assert [rr.type for rr in r.authority] == [dns.SOA]

    def test_referralNotAuthoritative(self) -> None:
        r = _ask(query(b"x.sub.example.com", dns.A))
        assert (r.rCode, r.auth, r.answers) == (dns.OK, 0, [])
        assert {rr.type for rr in r.authority} == {dns.NS}
        assert [rr.name for rr in r.additional] == [dns.Name(b"ns.sub.example.com")]

    def test_notOurZoneRefused(self) -> None:
        r = _ask(query(b"example.org", dns.A))
        assert r.rCode == dns.EREFUSED

    def test_truncatedOverUDP(self) -> None:
        r = _ask(query(b"big.example.com", dns.TXT))
        assert r.trunc == 1 and r.answers == []

    def test_ednsBiggerAnswer(self) -> None:
        r = _ask(query(b"big.example.com", dns.TXT, ednsVersion=0, maxSize=1232))
        assert r.trunc == 0 and len(r.answers) == 1
        assert r.ednsVersion == 0

    def test_ednsVersionNotSupported(self) -> None:
        r = _ask(query(b"example.com", dns.A, ednsVersion=1))
        assert r.rCode == dns.EBADVERSION
        assert r.ednsVersion == 0

    def test_dnssecOKEchoed(self) -> None:
        r = _ask(query(b"example.com", dns.A, ednsVersion=0, dnssecOK=True))
        assert r.dnssecOK

    @pytest.mark.parametrize("op", [dns.OP_INVERSE, dns.OP_STATUS, dns.OP_UPDATE, 9])
    def test_otherOpcodes(self, op: int) -> None:
        r = _ask(query(b"example.com", dns.A, opCode=op))
        assert r.rCode == dns.ENOTIMP
        assert r.opCode == op

    def test_twoQuestionsRefused(self) -> None:
        m = dns.Message(id=3)
        m.addQuery(b"example.com", dns.A)
        m.addQuery(b"www.example.com", dns.A)
        assert _ask(m.toStr()).rCode == dns.EREFUSED

    def test_axfrOverUDPRefused(self) -> None:
        assert _ask(query(b"example.com", dns.AXFR)).rCode == dns.EREFUSED

    def test_answersIgnored(self) -> None:
        p, t = _udp()
        m = dns.Message(id=5, answer=1)
        m.addQuery(b"example.com", dns.A)
        p.datagramReceived(m.toStr(), ADDR)
        assert t.written == []


class TestBadInput:
    def test_formerrForUndecodableQuery(self) -> None:
        data = bytearray(query(b"example.com", dns.A, id=0x4242))
        data[12] = 0xC0  # a compression pointer where the name starts: forward/self pointer
        r = _ask(bytes(data))
        assert (r.id, r.rCode, r.answer) == (0x4242, dns.EFORMAT, 1)
        assert r.queries == []

    @pytest.mark.parametrize(
        "junk",
        [b"", b"\x00" * 5, b"\x00\x01\x80\x00" + b"\x00" * 8 + b"\xff"],
    )
    def test_droppedJunk(self, junk: bytes) -> None:
        # Too short for a header, or a response (QR set): dropped without a reply.
        p, t = _udp()
        p.datagramReceived(junk, ADDR)
        assert t.written == []

    @settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=300))
    def test_randomDatagrams(self, data: bytes) -> None:
        p, t = _udp()
        p.datagramReceived(data, ADDR)
        for out, _ in t.written:
            dns.Message.fromBytes(out)


class TestAnswerCache:
    def test_sameAnswerDifferentId(self) -> None:
        p, t = _udp()
        p.datagramReceived(query(b"www.example.com", dns.A, id=1), ADDR)
        p.datagramReceived(query(b"www.example.com", dns.A, id=2), ADDR)
        first, second = (dns.Message.fromBytes(d) for d, _ in t.written)
        assert (first.id, second.id) == (1, 2)
        assert first.answers == second.answers
        assert t.written[0][0][2:] == t.written[1][0][2:]

    def test_clearedWhenZoneChanges(self) -> None:
        a = exampleAuthority()
        f = server.DNSServerFactory(authorities=[a], reactor=Clock())
        p, t = _udp(f)
        p.datagramReceived(query(b"example.com", dns.A), ADDR)
        a.setData(a.soa, {a.soa[0]: [a.soa[1], dns.Record_A("192.0.2.200", ttl=5)]})
        p.datagramReceived(query(b"example.com", dns.A), ADDR)
        last = dns.Message.fromBytes(t.written[-1][0])
        assert last.answers[0].payload == dns.Record_A("192.0.2.200", ttl=5)

    def test_disabled(self) -> None:
        class NoCache(server.DNSServerFactory):
            answerCacheLifetime = 0

        f = NoCache(authorities=[exampleAuthority()], reactor=Clock())
        p, t = _udp(f)
        p.datagramReceived(query(b"example.com", dns.A), ADDR)
        assert f.zones is not None and f.zones.response(query(b"example.com", dns.A)) is None


def _tcp(clock: Clock) -> tuple[dns.DNSProtocol, StringTransport, server.DNSServerFactory]:
    f = server.DNSServerFactory(authorities=[exampleAuthority()], reactor=clock)
    p = f.buildProtocol(None)
    t = StringTransport()
    p.makeConnection(t)
    return p, t, f


def _frames(data: bytes) -> list[dns.Message]:
    out = []
    while data:
        (n,) = struct.unpack("!H", data[:2])
        out.append(dns.Message.fromBytes(data[2 : 2 + n]))
        data = data[2 + n :]
    return out


class TestTCP:
    def test_wholeAndByteAtATime(self) -> None:
        q = query(b"big.example.com", dns.TXT, id=9)
        framed = struct.pack("!H", len(q)) + q
        for chunks in ([framed + framed], [bytes([b]) for b in framed + framed]):
            clock = Clock()
            p, t, f = _tcp(clock)
            assert f.connections == [p]
            for c in chunks:
                p.dataReceived(c)
            msgs = _frames(t.value())
            assert len(msgs) == 2
            assert all(m.id == 9 and m.trunc == 0 and len(m.answers) == 1 for m in msgs)

    def test_lengthPrefixThenNothingTimesOut(self) -> None:
        clock = Clock()
        p, t, f = _tcp(clock)
        p.dataReceived(b"\xff\xff")
        clock.advance(p.idleTimeout - 1)
        assert not t.aborted and not t.disconnecting
        clock.advance(2)
        assert t.aborted or t.disconnecting
        p.connectionLost(None)
        assert f.connections == []
        assert clock.getDelayedCalls() == []

    def test_slowTrickleStillTimesOut(self) -> None:
        clock = Clock()
        p, t, _ = _tcp(clock)
        p.dataReceived(b"\x00\x40")
        for _ in range(int(p.idleTimeout)):
            p.dataReceived(b"\x00")
            clock.advance(1.5)
        assert t.aborted or t.disconnecting

    def test_idleConnectionClosed(self) -> None:
        clock = Clock()
        p, t, _ = _tcp(clock)
        q = query(b"example.com", dns.A)
        p.dataReceived(struct.pack("!H", len(q)) + q)
        clock.advance(p.idleTimeout + 1)
        assert t.aborted or t.disconnecting

    def test_formerrOverTCP(self) -> None:
        clock = Clock()
        p, t, _ = _tcp(clock)
        bad = bytearray(query(b"example.com", dns.A, id=5))
        bad[12] = 0x40  # reserved label type
        p.dataReceived(struct.pack("!H", len(bad)) + bytes(bad))
        (r,) = _frames(t.value())
        assert (r.id, r.rCode) == (5, dns.EFORMAT)

    def test_axfr(self) -> None:
        clock = Clock()
        p, t, _ = _tcp(clock)
        q = query(b"example.com", dns.AXFR, id=11)
        p.dataReceived(struct.pack("!H", len(q)) + q)
        msgs = _frames(t.value())
        records = [rr for m in msgs for rr in m.answers]
        assert records[0].type == dns.SOA and records[-1].type == dns.SOA
        assert all(m.id == 11 and m.auth for m in msgs)
        assert len(records) == 21  # 20 records, the SOA twice

    def test_axfrSplitsLargeZones(self) -> None:
        a = exampleAuthority()
        for i in range(250):
            a.records[b"h%d.example.com" % i] = [dns.Record_A("192.0.2.1", ttl=1)]
        a._index = None
        f = server.DNSServerFactory(authorities=[a], reactor=Clock())
        p = f.buildProtocol(None)
        t = StringTransport()
        p.makeConnection(t)
        q = query(b"example.com", dns.AXFR)
        p.dataReceived(struct.pack("!H", len(q)) + q)
        msgs = _frames(t.value())
        assert len(msgs) == 3
        assert sum(len(m.answers) for m in msgs) == 21 + 250

    def test_axfrOfUnknownZoneRefused(self) -> None:
        clock = Clock()
        p, t, _ = _tcp(clock)
        q = query(b"example.org", dns.AXFR)
        p.dataReceived(struct.pack("!H", len(q)) + q)
        (r,) = _frames(t.value())
        assert r.rCode == dns.EREFUSED


def test_unencodableAnswerIsServfail() -> None:
    a = exampleAuthority()
    a.records[b"bad.example.com"] = [dns.Record_CNAME(b"x" * 64 + b".example.org", ttl=5)]
    a._index = None
    r = _ask(query(b"bad.example.com", dns.CNAME), server.DNSServerFactory(authorities=[a]))
    assert r.rCode == dns.ESERVER
    assert r.answers == []


def test_ixfrGetsWholeZone() -> None:
    p, t, _ = _tcp(Clock())
    q = query(b"example.com", dns.IXFR, id=12)
    p.dataReceived(struct.pack("!H", len(q)) + q)
    records = [rr for m in _frames(t.value()) for rr in m.answers]
    assert len(records) == 21


def test_axfrNeverForwardedUpstream() -> None:
    class Upstream:
        asked: list[dns.Query] = []

        def query(self, query: dns.Query, timeout: object = None) -> object:
            Upstream.asked.append(query)
            raise AssertionError("AXFR must not be forwarded")

    f = server.DNSServerFactory(
        authorities=[exampleAuthority()], clients=[Upstream()], reactor=Clock()
    )
    p = f.buildProtocol(None)
    t = StringTransport()
    p.makeConnection(t)
    q = query(b"example.org", dns.AXFR)
    p.dataReceived(struct.pack("!H", len(q)) + q)
    (r,) = _frames(t.value())
    assert r.rCode == dns.EREFUSED
    assert Upstream.asked == []


def test_allowTransferHook() -> None:
    class NoTransfers(server.DNSServerFactory):
        def allowTransfer(self, message: dns.Message, protocol: object) -> bool:
            return False

    f = NoTransfers(authorities=[exampleAuthority()], reactor=Clock())
    p = f.buildProtocol(None)
    t = StringTransport()
    p.makeConnection(t)
    q = query(b"example.com", dns.AXFR)
    p.dataReceived(struct.pack("!H", len(q)) + q)
    (r,) = _frames(t.value())
    assert r.rCode == dns.EREFUSED and r.answers == []


class TestNotify:
    def _setup(self) -> tuple[server.DNSServerFactory, Any]:
        from glisten.internet.testing import MemoryReactorClock
        from glisten.names import secondary

        reactor = MemoryReactorClock()
        sec = secondary.SecondaryAuthority("192.0.2.1", "example.com", reactor=reactor)
        return server.DNSServerFactory(authorities=[sec], reactor=reactor), reactor

    def test_fromPrimaryTriggersCheck(self) -> None:
        f, reactor = self._setup()
        p, t = _udp(f)
        p.datagramReceived(query(b"example.com", dns.SOA, opCode=dns.OP_NOTIFY), ("192.0.2.1", 53))
        r = dns.Message.fromBytes(t.written[0][0])
        assert (r.rCode, r.opCode, r.auth, r.answer) == (dns.OK, dns.OP_NOTIFY, 1, 1)
        # The secondary set out to ask the primary for its SOA over UDP (the
        # memory reactor never connects the protocol, so it asks to listen twice).
        protocols = {proto for _, proto, _, _ in reactor.udpServers}
        assert len(protocols) == 1
        assert isinstance(protocols.pop(), dns.DNSDatagramProtocol)

    @pytest.mark.parametrize(
        "name,source", [(b"example.com", "192.0.2.66"), (b"example.org", "192.0.2.1")]
    )
    def test_othersRefused(self, name: bytes, source: str) -> None:
        f, reactor = self._setup()
        p, t = _udp(f)
        p.datagramReceived(query(name, dns.SOA, opCode=dns.OP_NOTIFY), (source, 53))
        assert dns.Message.fromBytes(t.written[0][0]).rCode == dns.EREFUSED
        assert reactor.udpServers == []
