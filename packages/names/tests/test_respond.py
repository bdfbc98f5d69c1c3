"""``respond`` (the one way to answer from zones) gives exactly the full path's answers, and judges nothing itself."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.internet.defer import succeed
from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.names import authority, dns, server
from glisten.names._wire import _constants as C
from glisten.names._wire._query import parseQuery
from glisten.names._wire._respond import NEEDS_RESOLVER, respond
from glisten.python.failure import Failure

from .helpers import ZONE, FakeUDPTransport, exampleAuthority, query

ADDR = ("127.0.0.1", 5353)

#: Names in (and around) the test zone: answers, CNAME chains, loops, NXDOMAIN,
#: wildcards, delegations, a name outside the zone, the apex, the root.
NAMES = [
    b"example.com",
    b"www.example.com",
    b"mail.example.com",
    b"ns1.example.com",
    b"nothere.example.com",
    b"loop1.example.com",
    b"dangling.example.com",
    b"outside.example.com",
    b"x.wild.example.com",
    b"a.b.deep.example.com",
    b"b.deep.example.com",
    b"host.sub.example.com",
    b"sub.example.com",
    b"srv._tcp.example.com",
    b"big.example.com",
    b"example.org",
    b"",
]
TYPES = [C.A, C.AAAA, C.MX, C.NS, C.SOA, C.TXT, C.CNAME, C.SRV, C.PTR, C.ALL_RECORDS, 99, C.AXFR]


class SlowFactory(server.DNSServerFactory):
    """The reference: the same server answering everything through Message objects."""

    answerFromZones = False


class NoCacheFactory(server.DNSServerFactory):
    answerCacheLifetime = 0


def _answers(factoryClass: type[server.DNSServerFactory], datagrams: list[bytes]) -> list[Any]:
    factory = factoryClass(authorities=[exampleAuthority()], reactor=Clock())
    proto = dns.DNSDatagramProtocol(factory, reactor=Clock())
    proto.transport = FakeUDPTransport()
    out = []
    for d in datagrams:
        proto.datagramReceived(d, ADDR)
        out.append(list(proto.transport.written))
        proto.transport.written.clear()
    return out


def _both(datagrams: list[bytes]) -> tuple[list[Any], list[Any]]:
    return _answers(NoCacheFactory, datagrams), _answers(SlowFactory, datagrams)


def _recase(name: bytes, flips: list[bool]) -> bytes:
    return bytes(
        c ^ 0x20 if chr(c).isalpha() and flips[i % len(flips)] else c for i, c in enumerate(name)
    )


@st.composite
def queries(draw: st.DrawFn) -> bytes:
    """Queries of the shape the fast path takes, and some it must refuse."""
    name = _recase(draw(st.sampled_from(NAMES)), draw(st.lists(st.booleans(), min_size=1)))
    kw: dict[str, Any] = {}
    if draw(st.booleans()):
        kw["ednsVersion"] = draw(st.sampled_from([0, 0, 0, 1]))
        kw["maxSize"] = draw(st.sampled_from([0, 100, 512, 700, 1232, 4096, 65535]))
        kw["dnssecOK"] = draw(st.booleans())
        kw["ednsOptions"] = [
            dns.OPTVariableOption(c, d)
            for c, d in draw(
                st.lists(st.tuples(st.integers(0, 65535), st.binary(max_size=8)), max_size=3)
            )
        ]
    m = dns.Message(
        id=draw(st.integers(0, 65535)),
        recDes=draw(st.booleans()),
        checkingDisabled=draw(st.booleans()),
        authenticData=draw(st.booleans()),
        opCode=draw(st.sampled_from([C.OP_QUERY, C.OP_QUERY, C.OP_STATUS])),
        **kw,
    )
    m.queries.append(
        dns.Query(name, draw(st.sampled_from(TYPES)), draw(st.sampled_from([C.IN, C.IN, C.ANY, 3])))
    )
    return m.toStr()


def test_respondAnswersCommonQueries() -> None:
    """The benchmark's queries are answered by respond (so the comparisons below test it)."""
    factory = NoCacheFactory(authorities=[exampleAuthority()], reactor=Clock())
    assert factory.zones is not None
    for name in NAMES[:5]:
        for t in (C.A, C.MX):
            assert respond(query(name, t), factory.zones) is not NEEDS_RESOLVER
    assert respond(query(b"example.org", C.A), factory.zones) is NEEDS_RESOLVER
    assert respond(query(b"example.com", C.AXFR), factory.zones) is NEEDS_RESOLVER


@pytest.mark.parametrize("edns", [False, True])
def test_sameAnswersForEveryNameAndType(edns: bool) -> None:
    kw: dict[str, Any] = {"ednsVersion": 0, "maxSize": 1232} if edns else {}
    datagrams = [query(n, t, id=7, **kw) for n in NAMES for t in TYPES]
    fast, slow = _both(datagrams)
    assert fast == slow
    assert all(len(w) == 1 for w in fast)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=4))
def test_sameAnswersAsFullPath(datagrams: list[bytes]) -> None:
    fast, slow = _both(datagrams)
    assert fast == slow


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(queries()))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 2))
        i = draw(st.integers(0, len(data) - 1))
        if op == 0:
            data[i] = draw(st.integers(0, 255))
        elif op == 1:
            del data[i:]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=3))
        if not data:
            break
    return bytes(data)


@settings(deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(), st.binary(max_size=64)))
def test_badInputSameAsFullPath(data: bytes) -> None:
    """Mutated queries and random octets: FORMERR or silence, exactly as without the fast path."""
    fast, slow = _both([data])
    assert fast == slow


@settings(deadline=None)
@given(st.one_of(mutated(), st.binary(max_size=300)))
def test_parseQueryAgreesWithDecoder(data: bytes) -> None:
    """What the fast parser accepts, the full decoder accepts and reads the same way."""
    q = parseQuery(data)
    if q is None:
        return
    m = dns.Message.fromBytes(data)
    flags, qend, key, qtype, qcls, limit, do = q
    assert (m.answer, m.opCode, len(m.queries), m.answers, m.authority, m.additional) == (
        0,
        0,
        1,
        [],
        [],
        [],
    )
    assert (m.queries[0].name._key, m.queries[0].type, m.queries[0].cls) == (key, qtype, qcls)
    assert m.recDes == (flags >> 8) & 1 and m.checkingDisabled == (flags >> 4) & 1
    if do is None:
        assert m.ednsVersion is None and limit == 512
    else:
        assert m.ednsVersion == 0 and m.dnssecOK == do and limit == min(m.maxSize, 4096)


_COOKIE = query(
    b"www.example.com", C.A, ednsVersion=0, ednsOptions=[dns.OPTVariableOption(10, b"12345678")]
)


def test_ednsOptionsAnsweredByRespond() -> None:
    factory = NoCacheFactory(authorities=[exampleAuthority()], reactor=Clock())
    assert parseQuery(_COOKIE) is not None
    assert factory.zones is not None
    assert respond(_COOKIE, factory.zones) is not NEEDS_RESOLVER


@pytest.mark.parametrize(
    "data",
    [
        # Two questions, a compressed question name, an answer record, junk at the end.
        b"\x00\x01\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01\x01b\x00\x00\x01\x00\x01",
        b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
        query(b"www.example.com", C.A) + b"\x00",
        query(b"www.example.com", C.A)[:-1],
        # A label over 63 octets; an OPT record with a lying RDLENGTH.
        b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x40"
        + b"a" * 64
        + b"\x00\x00\x01\x00\x01",
        query(b"www.example.com", C.A, ednsVersion=0)[:-2] + b"\x00\x04",
        # A label holding a dot (escaped by the decoder), a name over 255 octets.
        b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03a.b\x00\x00\x01\x00\x01",
        b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        + b"\x3f"
        + b"a" * 63
        + (b"\x3f" + b"b" * 63) * 3
        + b"\x00\x00\x01\x00\x01",
        # An OPT record whose owner is not the root; another record type in additional.
        query(b"www.example.com", C.A, ednsVersion=0)[:-11]
        + b"\x01a\x00"
        + query(b"www.example.com", C.A, ednsVersion=0)[-10:],
        query(b"www.example.com", C.A, ednsVersion=0)[:-10] + b"\x00\x01" + b"\x00" * 8,
        _COOKIE[:-23] + b"\x01a\x00" + _COOKIE[-22:],
        _COOKIE[:-10] + b"\x00\x09" + _COOKIE[-8:],
        _COOKIE + b"\x00\x01\x00\x00",
        # EDNS version 1 (BADVERS), an answer instead of a query.
        query(b"www.example.com", C.A, ednsVersion=1),
        query(b"www.example.com", C.A, answer=1),
    ],
)
def test_unusualShapesLeftToFullDecoder(data: bytes) -> None:
    assert parseQuery(data) is None
    fast, slow = _both([data])
    assert fast == slow


def test_bigAnswerTruncatedByFullPath() -> None:
    """An answer over the client's limit is left to the full path, which truncates it."""
    datagrams = [
        query(b"big.example.com", C.TXT),
        query(b"big.example.com", C.TXT, ednsVersion=0, maxSize=4096),
    ]
    fast, slow = _both(datagrams)
    assert fast == slow
    assert dns.Message.fromBytes(fast[0][0][0]).trunc
    assert not dns.Message.fromBytes(fast[1][0][0]).trunc


def _ask(proto: dns.DNSDatagramProtocol, name: bytes, t: int = C.A) -> dns.Message:
    proto.datagramReceived(query(name, t), ADDR)
    return dns.Message.fromBytes(proto.transport.written.pop()[0])


def test_zoneChangesSeen() -> None:
    """setData, names added in place, zoneChanged and the lifetime on the reactor's clock all renew answers."""
    auth = exampleAuthority()
    clock = Clock()
    factory = NoCacheFactory(authorities=[auth], reactor=clock)
    proto = dns.DNSDatagramProtocol(factory, reactor=clock)
    proto.transport = FakeUDPTransport()
    assert _ask(proto, b"mail.example.com").answers[0].payload.dottedQuad() == "192.0.2.2"
    assert _ask(proto, b"new.example.com").rCode == C.ENAME

    version = factory.zones.version if factory.zones else None
    auth.records[b"new.example.com"] = [dns.Record_A("192.0.2.77")]
    assert factory.zones is not None and factory.zones.version != version
    assert _ask(proto, b"new.example.com").answers[0].payload.dottedQuad() == "192.0.2.77"

    # A record list edited in place: seen once the lifetime passes on the reactor's clock.
    assert _ask(proto, b"mail.example.com").answers[0].payload.dottedQuad() == "192.0.2.2"
    auth.records[b"mail.example.com"][0] = dns.Record_A("192.0.2.3")
    assert _ask(proto, b"mail.example.com").answers[0].payload.dottedQuad() == "192.0.2.2"
    clock.advance(factory.zoneAnswerLifetime + 0.1)
    assert _ask(proto, b"mail.example.com").answers[0].payload.dottedQuad() == "192.0.2.3"

    auth.records[b"mail.example.com"][0] = dns.Record_A("192.0.2.4")
    auth.zoneChanged()
    assert _ask(proto, b"mail.example.com").answers[0].payload.dottedQuad() == "192.0.2.4"

    other = authority.BindAuthority.fromText(ZONE.replace("192.0.2.2", "192.0.2.5"))
    auth.setData((b"example.com", other.soa[1]), other.records)
    assert _ask(proto, b"mail.example.com").answers[0].payload.dottedQuad() == "192.0.2.5"


def test_overriddenHooksOptOut() -> None:
    """A factory class that changes how queries are answered sees every query in its hooks."""

    class Refusing(server.DNSServerFactory):
        def allowQuery(self, message: dns.Message, protocol: Any, address: Any) -> bool:
            return False

    factory = Refusing(authorities=[exampleAuthority()], reactor=Clock())
    assert factory.zones is None
    proto = dns.DNSDatagramProtocol(factory, reactor=Clock())
    proto.transport = FakeUDPTransport()
    assert _ask(proto, b"www.example.com").rCode == C.EREFUSED
    logging = server.DNSServerFactory(authorities=[exampleAuthority()], verbose=1, reactor=Clock())
    assert logging.zones is None

    class Explicit(Refusing):
        answerFromZones = True

    assert Explicit(authorities=[exampleAuthority()], reactor=Clock()).zones is not None


def test_customAuthorityAnsweredThroughQuery() -> None:
    """An authority subclass with its own lookups is asked through ``query``, as with Twisted."""

    class Dynamic(authority.FileAuthority):
        def _lookup(self, name: bytes, cls: int, type: int, timeout: Any) -> Any:
            return succeed(([dns.RRHeader(name, C.A, C.IN, 5, dns.Record_A("192.0.2.55"))], [], []))

        def query(self, query: dns.Query, timeout: Any = None) -> Any:
            return self._lookup(query.name.name, query.cls, query.type, timeout)

    dyn = Dynamic()
    dyn.setData(exampleAuthority().soa, exampleAuthority().records)
    factory = server.DNSServerFactory(authorities=[dyn], reactor=Clock())
    assert factory.zones is None
    proto = dns.DNSDatagramProtocol(factory, reactor=Clock())
    proto.transport = FakeUDPTransport()
    assert _ask(proto, b"anything.example.com").answers[0].payload.dottedQuad() == "192.0.2.55"


def test_responsesKept() -> None:
    factory = server.DNSServerFactory(authorities=[exampleAuthority()], reactor=Clock())
    proto = dns.DNSDatagramProtocol(factory, reactor=Clock())
    proto.transport = FakeUDPTransport()
    proto.datagramReceived(query(b"www.example.com", C.A, id=1), ADDR)
    assert factory.zones is not None
    hit = factory.zones.response(query(b"www.example.com", C.A, id=2))
    assert (
        hit is not None and hit[2:] == proto.transport.written[0][0][2:] and hit[:2] == b"\x00\x02"
    )


def _tcpAnswers(factoryClass: type[server.DNSServerFactory], datagrams: list[bytes]) -> list[bytes]:
    factory = factoryClass(authorities=[exampleAuthority()], reactor=Clock())
    p = factory.buildProtocol(None)
    t = StringTransport()
    p.makeConnection(t)
    out = []
    for d in datagrams:
        p.dataReceived(len(d).to_bytes(2, "big") + d)
        out.append(t.value())
        t.clear()
    p.connectionLost(Failure(ConnectionDone()))
    return out


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(queries(), min_size=1, max_size=4))
def test_sameAnswersOverTCP(datagrams: list[bytes]) -> None:
    assert _tcpAnswers(NoCacheFactory, datagrams) == _tcpAnswers(SlowFactory, datagrams)


def test_bigAnswerWholeOverTCP() -> None:
    [data] = _tcpAnswers(NoCacheFactory, [query(b"big.example.com", C.TXT)])
    m = dns.Message.fromBytes(data[2:])
    assert not m.trunc and len(m.answers) == 1
