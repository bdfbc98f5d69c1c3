"""Tests for the RFC 1035 zone file parser behind BindAuthority."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.names import dns
from glisten.names._zonefile import ZoneFileError, parseZone
from glisten.names.authority import BindAuthority

ZONE = """\
$ORIGIN example.com.
$TTL 1h
; a comment line
@   IN  SOA ns1 hostmaster (
        2024010101 ; serial
        7200       ; refresh
        3600 1209600
        300 )
        IN NS  ns1
        IN MX  10 mail          ; trailing comment
ns1     IN A   192.0.2.1
mail    60 IN A 192.0.2.2
mail    IN 60 AAAA 2001:db8::2
txt     TXT "hello; not a comment" "quote \\" inside" plain
www     CNAME mail
abs.example.org. A 192.0.2.3
sub.example.com. NS ns.sub
srv._tcp SRV 1 2 5060 sip.example.net.
naptr   NAPTR 100 10 "u" "E2U+sip" "!^.*$!sip:x@example.com!" .
caa     CAA 0 issue "ca.example"
ssh     SSHFP 4 2 ( abcd
                    ef01 )
tlsa    TLSA 3 1 1 0a0b0c
svc     SVCB 1 . alpn=h2,h3 port=8443 ipv4hint=192.0.2.1,192.0.2.2
https   HTTPS 0 svc
gen     TYPE4711 \\# 3 010203
hinfo   HINFO "PC" "Linux"
$ORIGIN sub
ns      A 192.0.2.9
"""


def _records(text: str) -> dict[tuple[bytes, int], list[dns.IEncodableRecord]]:
    out: dict[tuple[bytes, int], list[dns.IEncodableRecord]] = {}
    for owner, t, rec in parseZone(text=text):
        out.setdefault((owner, t), []).append(rec)
    return out


def test_everything() -> None:
    r = _records(ZONE)
    soa = r[(b"example.com", dns.SOA)][0]
    assert soa == dns.Record_SOA(
        b"ns1.example.com",
        b"hostmaster.example.com",
        2024010101,
        7200,
        3600,
        1209600,
        300,
        ttl=3600,
    )
    assert r[(b"example.com", dns.NS)] == [dns.Record_NS(b"ns1.example.com", ttl=3600)]
    assert r[(b"example.com", dns.MX)] == [dns.Record_MX(10, b"mail.example.com", ttl=3600)]
    assert r[(b"mail.example.com", dns.A)] == [dns.Record_A("192.0.2.2", ttl=60)]
    assert r[(b"mail.example.com", dns.AAAA)] == [dns.Record_AAAA("2001:db8::2", ttl=60)]
    assert r[(b"txt.example.com", dns.TXT)][0].data == (  # type: ignore[attr-defined]
        b"hello; not a comment",
        b'quote " inside',
        b"plain",
    )
    assert (b"abs.example.org", dns.A) in r
    assert r[(b"srv._tcp.example.com", dns.SRV)] == [
        dns.Record_SRV(1, 2, 5060, b"sip.example.net", ttl=3600)
    ]
    assert r[(b"naptr.example.com", dns.NAPTR)][0].replacement == dns.Name(b"")  # type: ignore[attr-defined]
    assert r[(b"caa.example.com", dns.CAA)] == [
        dns.Record_CAA(0, b"issue", b"ca.example", ttl=3600)
    ]
    assert r[(b"ssh.example.com", dns.SSHFP)][0].fingerprint == bytes.fromhex("abcdef01")  # type: ignore[attr-defined]
    assert r[(b"tlsa.example.com", dns.TLSA)][0].data == b"\x0a\x0b\x0c"  # type: ignore[attr-defined]
    svc = r[(b"svc.example.com", dns.SVCB)][0]
    assert svc.params == (  # type: ignore[attr-defined]
        (1, b"\x02h2\x02h3"),
        (3, b"\x20\xfb"),
        (4, bytes([192, 0, 2, 1, 192, 0, 2, 2])),
    )
    assert r[(b"https.example.com", dns.HTTPS)][0].target == dns.Name(b"svc.example.com")  # type: ignore[attr-defined]
    assert r[(b"gen.example.com", 4711)] == [dns.UnknownRecord(b"\x01\x02\x03", ttl=3600)]
    assert (b"ns.sub.example.com", dns.A) in r
    assert r[(b"hinfo.example.com", dns.HINFO)] == [dns.Record_HINFO(b"PC", b"Linux", ttl=3600)]


def test_blankOwnerRepeatsPrevious() -> None:
    r = _records("$ORIGIN a.\n$TTL 5\nx A 192.0.2.1\n  A 192.0.2.2\n")
    assert len(r[(b"x.a", dns.A)]) == 2


def test_include(tmp_path: os.PathLike[str]) -> None:
    inc = os.path.join(tmp_path, "inc.zone")
    with open(inc, "w") as f:
        f.write("host A 192.0.2.7\n")
    main = os.path.join(tmp_path, "main.zone")
    with open(main, "w") as f:
        f.write(
            "$ORIGIN example.com.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n"
            "$INCLUDE inc.zone sub.example.com.\nafter A 192.0.2.8\n"
        )
    a = BindAuthority(main)
    assert b"host.sub.example.com" in a.records
    # $INCLUDE's origin does not leak back into the including file.
    assert b"after.example.com" in a.records


def test_includeLoopRefused(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "loop.zone")
    with open(path, "w") as f:
        f.write("$ORIGIN example.com.\n$INCLUDE loop.zone\n")
    with pytest.raises(ZoneFileError, match="nested too deeply"):
        parseZone(path=path)


def test_originArgument() -> None:
    r = _records("$TTL 1\nwww A 192.0.2.1\n".replace("$TTL 1\n", "$ORIGIN example.net.\n$TTL 1\n"))
    assert (b"www.example.net", dns.A) in r
    recs = parseZone(text="$TTL 1\nwww A 192.0.2.1\n", origin="example.org")
    assert recs[0][0] == b"www.example.org"


@pytest.mark.parametrize(
    "text,match",
    [
        ("$ORIGIN a.\n$TTL 1\nx BOGUS 1\n", ":3: unknown record type"),
        ("$ORIGIN a.\n$TTL 1\nx A 1.2.3\n", ":3:"),
        ("$ORIGIN a.\n$TTL 1\nx MX 10\n", ":3:"),
        ("$TTL 1\nrelative A 192.0.2.1\n", "no \\$ORIGIN"),
        ("$ORIGIN a.\nx A 192.0.2.1\n", "no TTL"),
        ('$ORIGIN a.\n$TTL 1\nx TXT "open\n', "unterminated"),
        ("$ORIGIN a.\n$TTL 1\nx SOA ( a b 1 2 3 4 5\n", "unbalanced"),
        ("$ORIGIN a.\n$TTL 1\nx A 192.0.2.1 )\n", "unbalanced"),
        ("$ORIGIN a.\n$TTL 1\n" + "x" * 64 + " A 192.0.2.1\n", ":3:"),
        ("$ORIGIN a.\n$TTL 1\nx TYPE99 \\# 2 01\n", "length"),
        ("$GENERATE 1-10 x$ A 1.2.3.$\n", "unsupported directive"),
    ],
)
def test_errorsNameTheLine(text: str, match: str) -> None:
    with pytest.raises(ZoneFileError, match=match):
        parseZone(text=text)


def test_missingSOA() -> None:
    with pytest.raises(ZoneFileError, match="no SOA"):
        BindAuthority.fromText("$ORIGIN a.\n$TTL 1\nx A 192.0.2.1\n")


def test_missingFile() -> None:
    with pytest.raises(ZoneFileError):
        BindAuthority("/nonexistent/zone/file")


_ALPHABET = st.sampled_from(
    list('abc019 .\t\n;()"\\@$*-_=,:#')
    + ["$ORIGIN", "$TTL", "$INCLUDE", "IN", "A", "MX", "SOA", "TXT", "SVCB", "TYPE7", "\\#", "CAA"]
)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_randomTextOnlyRaisesZoneFileError(text: str) -> None:
    try:
        parseZone(text=text, origin="example.com")
    except ZoneFileError:
        pass


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutatedZoneOnlyRaisesZoneFileError(data: st.DataObject) -> None:
    text = list(ZONE.replace("$ORIGIN sub\n", ""))
    for _ in range(data.draw(st.integers(1, 5))):
        pos = data.draw(st.integers(0, len(text) - 1))
        kind = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        ch = data.draw(st.sampled_from(list(' \n;()"\\.0aZ@$=,')))
        if kind == "delete":
            del text[pos]
        elif kind == "insert":
            text.insert(pos, ch)
        else:
            text[pos] = ch
    try:
        parseZone(text="".join(text))
    except ZoneFileError:
        pass
