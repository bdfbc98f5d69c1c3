"""Hypothesis strategies for DNS values, shared by the glisten-names tests."""

from __future__ import annotations

import socket

from hypothesis import strategies as st

from glisten.names import dns

_LDH = "abcdefghijklmnopqrstuvwxyz0123456789-"


def labels(anyBytes: bool = False) -> st.SearchStrategy[bytes]:
    if anyBytes:
        return st.binary(min_size=1, max_size=63)
    return st.text(_LDH, min_size=1, max_size=20).map(str.encode)


@st.composite
def names(draw: st.DrawFn, anyBytes: bool = False) -> bytes:
    """Presentation-form names that fit in 255 wire octets."""
    out: list[bytes] = []
    total = 1
    for label in draw(st.lists(labels(anyBytes), max_size=8)):
        if total + len(label) + 1 > 255:
            break
        total += len(label) + 1
        out.append(label.replace(b"\\", b"\\\\").replace(b".", b"\\."))
    return b".".join(out)


u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
cstr = st.binary(max_size=255)

ipv4 = st.binary(min_size=4, max_size=4).map(lambda b: socket.inet_ntop(socket.AF_INET, b))
ipv6 = st.binary(min_size=16, max_size=16).map(lambda b: socket.inet_ntop(socket.AF_INET6, b))

records: dict[int, st.SearchStrategy[dns.IEncodableRecord]] = {
    dns.A: st.builds(dns.Record_A, ipv4),
    dns.AAAA: st.builds(dns.Record_AAAA, ipv6),
    dns.NS: st.builds(dns.Record_NS, names()),
    dns.CNAME: st.builds(dns.Record_CNAME, names()),
    dns.PTR: st.builds(dns.Record_PTR, names(anyBytes=True)),
    dns.DNAME: st.builds(dns.Record_DNAME, names()),
    dns.SOA: st.builds(dns.Record_SOA, names(), names(), u32, u32, u32, u32, u32),
    dns.MX: st.builds(dns.Record_MX, u16, names()),
    dns.TXT: st.lists(cstr, min_size=1, max_size=4).map(lambda d: dns.Record_TXT(*d)),
    dns.SPF: st.lists(cstr, min_size=1, max_size=4).map(lambda d: dns.Record_SPF(*d)),
    dns.HINFO: st.builds(dns.Record_HINFO, cstr, cstr),
    dns.MINFO: st.builds(dns.Record_MINFO, names(), names()),
    dns.RP: st.builds(dns.Record_RP, names(), names()),
    dns.AFSDB: st.builds(dns.Record_AFSDB, u16, names()),
    dns.SRV: st.builds(dns.Record_SRV, u16, u16, u16, names()),
    dns.NAPTR: st.builds(dns.Record_NAPTR, u16, u16, cstr, cstr, cstr, names()),
    dns.SSHFP: st.builds(dns.Record_SSHFP, u8, u8, st.binary(max_size=64)),
    dns.TLSA: st.builds(dns.Record_TLSA, u8, u8, u8, st.binary(max_size=64)),
    dns.CAA: st.builds(
        dns.Record_CAA,
        u8,
        st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=15).map(str.encode),
        st.binary(max_size=100),
    ),
    dns.SVCB: st.builds(
        dns.Record_SVCB, u16, names(), st.dictionaries(u16, st.binary(max_size=20), max_size=5)
    ),
    dns.HTTPS: st.builds(
        dns.Record_HTTPS, u16, names(), st.dictionaries(u16, st.binary(max_size=20), max_size=5)
    ),
    dns.NULL: st.builds(dns.Record_NULL, st.binary(max_size=100)),
    # A type number glisten does not know: kept as opaque octets.
    4711: st.builds(dns.UnknownRecord, st.binary(max_size=100)),
}


@st.composite
def rrs(draw: st.DrawFn) -> dns.RRHeader:
    t = draw(st.sampled_from(sorted(records)))
    payload = draw(records[t])
    ttl = draw(u32)
    return dns.RRHeader(draw(names()), t, dns.IN, ttl, payload)


@st.composite
def messages(draw: st.DrawFn) -> dns.Message:
    m = dns.Message(
        id=draw(u16),
        answer=draw(st.booleans()),
        opCode=draw(st.sampled_from([0, 1, 2, 4, 5])),
        recDes=draw(st.booleans()),
        recAv=draw(st.booleans()),
        auth=draw(st.booleans()),
        rCode=draw(st.integers(0, 15)),
        authenticData=draw(st.booleans()),
        checkingDisabled=draw(st.booleans()),
        maxSize=0,
    )
    for _ in range(draw(st.integers(0, 2))):
        m.queries.append(dns.Query(draw(names()), draw(u16), draw(st.sampled_from([1, 3, 255]))))
    m.answers = draw(st.lists(rrs(), max_size=4))
    m.authority = draw(st.lists(rrs(), max_size=2))
    m.additional = draw(st.lists(rrs(), max_size=2))
    if draw(st.booleans()):
        m.ednsVersion = draw(u8)
        m.dnssecOK = draw(st.booleans())
        m.rCode = draw(st.integers(0, 0xFFF))
        m.ednsOptions = draw(
            st.lists(st.builds(dns.OPTVariableOption, u16, st.binary(max_size=20)), max_size=3)
        )
    return m


def withTTLs(m: dns.Message) -> dns.Message:
    """Give every payload its header's TTL, as decoding does."""
    for sec in (m.answers, m.authority, m.additional):
        for rr in sec:
            if rr.payload is not None:
                object.__setattr__(rr.payload, "ttl", rr.ttl)
    return m
