"""Tests for authoritative answers (glisten.names.authority)."""

from __future__ import annotations

import os

import pytest

from glisten.names import authority, dns, error

from .helpers import exampleAuthority


def _answer(
    name: bytes, t: int
) -> tuple[list[dns.RRHeader], list[dns.RRHeader], list[dns.RRHeader]]:
    return exampleAuthority()._answer(name, dns.IN, t)


def _names(rrs: list[dns.RRHeader]) -> list[tuple[bytes, int]]:
    return [(rr.name.name.lower(), rr.type) for rr in rrs]


def test_positiveWithAdditional() -> None:
    ans, auth, add = _answer(b"example.com", dns.MX)
    assert _names(ans) == [(b"example.com", dns.MX)]
    assert all(rr.auth for rr in ans)
    assert _names(add) == [(b"mail.example.com", dns.A), (b"mail.example.com", dns.AAAA)]
    assert auth == []


def test_caseInsensitive() -> None:
    ans, _, _ = _answer(b"MAIL.Example.COM", dns.A)
    assert [rr.payload for rr in ans] == [dns.Record_A("192.0.2.2", ttl=3600)]


def test_cnameChased() -> None:
    ans, _, _ = _answer(b"www.example.com", dns.AAAA)
    assert _names(ans) == [(b"www.example.com", dns.CNAME), (b"mail.example.com", dns.AAAA)]


def test_cnameQueriedDirectly() -> None:
    ans, _, _ = _answer(b"www.example.com", dns.CNAME)
    assert _names(ans) == [(b"www.example.com", dns.CNAME)]


def test_cnameLoopStops() -> None:
    ans, _, _ = _answer(b"loop1.example.com", dns.A)
    assert _names(ans) == [(b"loop1.example.com", dns.CNAME), (b"loop2.example.com", dns.CNAME)]


def test_cnameOutOfZoneNotFollowed() -> None:
    ans, auth, _ = _answer(b"outside.example.com", dns.A)
    assert _names(ans) == [(b"outside.example.com", dns.CNAME)]
    assert auth == []


def test_danglingCnameIsNXDOMAINWithChain() -> None:
    with pytest.raises(authority.NameNotInZone) as e:
        _answer(b"dangling.example.com", dns.A)
    assert _names(e.value.answers) == [(b"dangling.example.com", dns.CNAME)]
    assert _names(e.value.authority) == [(b"example.com", dns.SOA)]


def test_nxdomainCarriesSOA() -> None:
    with pytest.raises(authority.NameNotInZone) as e:
        _answer(b"nothere.example.com", dns.A)
    (soa,) = e.value.authority
    assert soa.type == dns.SOA
    assert soa.ttl == 300  # min(SOA TTL, minimum): RFC 2308
    assert isinstance(e.value, error.AuthoritativeDomainError)


def test_nodata() -> None:
    ans, auth, add = _answer(b"mail.example.com", dns.TXT)
    assert ans == [] and add == []
    assert _names(auth) == [(b"example.com", dns.SOA)]


def test_emptyNonTerminalIsNodata() -> None:
    ans, auth, _ = _answer(b"b.deep.example.com", dns.A)
    assert ans == []
    assert _names(auth) == [(b"example.com", dns.SOA)]


def test_wildcard() -> None:
    ans, _, add = _answer(b"anything.wild.example.com", dns.TXT)
    assert _names(ans) == [(b"anything.wild.example.com", dns.TXT)]
    ans, _, add = _answer(b"x.y.wild.example.com", dns.MX)
    assert _names(ans) == [(b"x.y.wild.example.com", dns.MX)]
    assert _names(add)[0] == (b"mail.example.com", dns.A)


def test_wildcardDoesNotCoverExistingNames() -> None:
    # "wild" itself exists (an empty non-terminal above the wildcard): NODATA.
    ans, auth, _ = _answer(b"wild.example.com", dns.TXT)
    assert ans == [] and _names(auth) == [(b"example.com", dns.SOA)]


def test_delegationWithGlue() -> None:
    for qname in (b"sub.example.com", b"host.sub.example.com"):
        ans, auth, add = _answer(qname, dns.A)
        assert ans == []
        assert sorted(_names(auth)) == [(b"sub.example.com", dns.NS)] * 2
        assert not any(rr.auth for rr in auth)
        assert _names(add) == [(b"ns.sub.example.com", dns.A)]


def test_outOfZone() -> None:
    with pytest.raises(error.DomainError):
        _answer(b"example.org", dns.A)
    with pytest.raises(error.DomainError):
        _answer(b"notexample.com", dns.A)


def test_axfr() -> None:
    a = exampleAuthority()
    ans, _, _ = a._answer(b"example.com", dns.IN, dns.AXFR)
    assert ans[0].type == dns.SOA and ans[-1].type == dns.SOA
    assert len([rr for rr in ans if rr.type == dns.SOA]) == 2
    assert len(ans) == sum(len(v) for v in a.records.values()) + 1


def test_lookupMethodsReturnDeferreds() -> None:
    a = exampleAuthority()
    results: list[object] = []
    a.lookupAddress("mail.example.com").addCallback(results.append)
    a.lookupMailExchange(b"nothere.example.com").addErrback(lambda f: results.append(f.value))
    assert results[0][0][0].payload == dns.Record_A("192.0.2.2", ttl=3600)  # type: ignore[index]
    assert isinstance(results[1], authority.NameNotInZone)


def test_setDataReplacesZone() -> None:
    a = exampleAuthority()
    calls: list[int] = []
    a._addChangeListener(lambda: calls.append(1))
    a.setData(
        (b"example.net", dns.Record_SOA(b"ns", b"h", 1, 2, 3, 4, 5, ttl=60)),
        {b"WWW.example.net": [dns.Record_A("192.0.2.99", ttl=60)]},
    )
    assert calls == [1]
    ans, _, _ = a._answer(b"www.example.net", dns.IN, dns.A)
    assert ans[0].payload == dns.Record_A("192.0.2.99", ttl=60)


def test_pySourceAuthority(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "zone.py")
    with open(path, "w") as f:
        f.write(
            "zone = [\n"
            "    SOA('example.org', mname='ns.example.org', rname='h.example.org', serial=3,\n"
            "        refresh='1h', retry='10m', expire='1w', minimum='1h', ttl=60),\n"
            "    A('example.org', '192.0.2.50', ttl=60),\n"
            "    MX('example.org', 10, 'mail.example.org', ttl=60),\n"
            "]\n"
        )
    a = authority.PySourceAuthority(path)
    assert a.soa[1].refresh == 3600
    ans, _, _ = a._answer(b"example.org", dns.IN, dns.MX)
    assert ans[0].payload == dns.Record_MX(10, b"mail.example.org", ttl=60)


def test_pySourceWithoutZone(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "zone.py")
    with open(path, "w") as f:
        f.write("x = 1\n")
    with pytest.raises(authority.ZoneFileError):
        authority.PySourceAuthority(path)


@pytest.mark.parametrize("bad", ["bad\udcff.example.com", "a" * 64 + ".example.com"])
def test_badNamesFailTheDeferred(bad: str) -> None:
    a = exampleAuthority()
    out: list[object] = []
    a.lookupAddress(bad).addErrback(lambda f: out.append(f.value))
    a.getHostByName(bad).addErrback(lambda f: out.append(f.value))
    assert len(out) == 2
    assert all(isinstance(e, ValueError) for e in out)
