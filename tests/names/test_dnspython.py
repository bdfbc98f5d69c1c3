"""glisten's DNS codec against dnspython, in both directions."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from glisten.names import dns


def _loadStrategies() -> Any:
    path = os.path.join(
        os.path.dirname(__file__), "..", "..", "packages", "names", "tests", "strategies.py"
    )
    spec = importlib.util.spec_from_file_location("_glisten_names_strategies", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


messages = _loadStrategies().messages

pytestmark = pytest.mark.interop

try:
    import dns.message as dpmessage
    import dns.rdataclass as dprdataclass
    import dns.rdatatype as dprdatatype
    import dns.rrset as dprrset
except ImportError:  # pragma: no cover
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("dnspython is not installed", allow_module_level=True)


def _flatten(section: list) -> set[tuple[bytes, int, int, bytes]]:  # type: ignore[type-arg]
    out = set()
    for rrset in section:
        for rd in rrset:
            out.add(
                (
                    rrset.name.to_text(omit_final_dot=True).encode().lower(),
                    int(rrset.rdtype),
                    int(rrset.rdclass),
                    rd.to_wire(),
                )
            )
    return out


def _ours(section: list[dns.RRHeader]) -> set[tuple[bytes, int, int, bytes]]:
    import dns.name as dpname

    out = set()
    for rr in section:
        assert rr.payload is not None
        # Compare owner names in dnspython's text form (it escapes differently).
        text = dpname.from_wire(dns_wire_name(rr.name.name), 0)[0]
        out.add(
            (
                text.to_text(omit_final_dot=True).encode().lower(),
                rr.type,
                rr.cls,
                rr.payload.toWire(),
            )
        )
    return out


def dns_wire_name(name: bytes) -> bytes:
    import io

    s = io.BytesIO()
    dns.Name(name).encode(s)
    return s.getvalue()


def _noSVCB(m: dns.Message) -> dns.Message:
    # dnspython validates SvcParam values (random octets are not valid alpn
    # lists) and TLSA/SSHFP/CAA contents (those are covered with valid values
    # by test_dnspythonToGlisten), and keeps the compressed names of types it does not know (MINFO
    # and the obsolete mail types) as raw octets.
    skip = (
        dns.SVCB,
        dns.HTTPS,
        dns.TLSA,
        dns.SSHFP,
        dns.CAA,
        dns.MINFO,
        dns.MB,
        dns.MG,
        dns.MR,
        dns.MD,
        dns.MF,
    )
    for sec in (m.answers, m.authority, m.additional):
        sec[:] = [rr for rr in sec if rr.type not in skip]
    return m


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_glistenToDnspython(m: dns.Message) -> None:
    _noSVCB(m)
    m.opCode = dns.OP_QUERY  # dnspython reads UPDATE messages differently
    wire = m._toWire(0)
    theirs = dpmessage.from_wire(wire, question_only=False, one_rr_per_rrset=True)
    assert theirs.id == m.id
    assert int(theirs.opcode()) == m.opCode
    assert int(theirs.rcode()) == m.rCode
    assert _flatten(theirs.answer) == _ours(m.answers)
    assert _flatten(theirs.authority) == _ours(m.authority)
    assert _flatten(theirs.additional) == _ours(m.additional)
    if m.ednsVersion is None:
        assert theirs.edns == -1
    else:
        assert theirs.edns == m.ednsVersion
        assert [(int(o.otype), o.to_wire()) for o in theirs.options] == [
            (o.code, o.data) for o in m.ednsOptions
        ]


ZONE_RECORDS = [
    ("A", "192.0.2.1"),
    ("AAAA", "2001:db8::1"),
    ("NS", "ns1.example.com."),
    ("CNAME", "target.example.com."),
    ("SOA", "ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"),
    ("PTR", "host.example.com."),
    ("MX", "10 mail.example.com."),
    ("TXT", '"hello world" "second string"'),
    ("SRV", "10 20 5060 sip.example.com."),
    ("NAPTR", '100 10 "u" "E2U+sip" "!^.*$!sip:info@example.com!" .'),
    ("CAA", '0 issue "letsencrypt.org"'),
    ("SSHFP", "4 2 " + "ab" * 32),
    ("TLSA", "3 1 1 " + "cd" * 32),
    ("SVCB", '1 svc.example.com. alpn="h2,h3" port=8443 ipv4hint=192.0.2.7'),
    ("HTTPS", "1 . alpn=h2 no-default-alpn mandatory=alpn ipv6hint=2001:db8::5"),
    ("HINFO", '"x86" "Linux"'),
    ("RP", "admin.example.com. txt.example.com."),
    ("AFSDB", "1 afs.example.com."),
    ("DNAME", "other.example."),
    ("TYPE4711", r"\# 3 010203"),
]


@pytest.mark.parametrize("rtype,text", ZONE_RECORDS, ids=[r[0] for r in ZONE_RECORDS])
def test_dnspythonToGlisten(rtype: str, text: str) -> None:
    q = dpmessage.make_query("owner.example.com.", rtype if not rtype.startswith("TYPE") else 4711)
    r = dpmessage.make_response(q)
    r.answer.append(dprrset.from_text("owner.example.com.", 300, "IN", rtype, text))
    r.use_edns(0, dprdataclass.IN and 0x8000, 1232)
    wire = r.to_wire()
    ours = dns.Message.fromBytes(wire)
    assert len(ours.answers) == 1
    rr = ours.answers[0]
    assert rr.type == int(dprdatatype.from_text(rtype))
    expectedClass = dns.lookupRecordType(rr.type)
    assert type(rr.payload) is expectedClass
    assert ours.dnssecOK
    again = dpmessage.from_wire(ours._toWire(0))
    assert again == r
    assert again.answer[0][0] == r.answer[0][0]
