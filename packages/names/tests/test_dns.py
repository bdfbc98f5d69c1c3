"""Tests for the DNS message codec in glisten.names.dns."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glisten.names import dns, error

from .strategies import messages, names, records, rrs, withTTLs


def _wire(m: dns.Message) -> bytes:
    return m._toWire(0)


def _query(name: bytes = b"example.com", t: int = dns.A) -> bytes:
    m = dns.Message(id=0x1234, recDes=1)
    m.queries.append(dns.Query(name, t))
    return m.toStr()


class TestName:
    def test_caseInsensitive(self) -> None:
        assert dns.Name(b"Example.COM") == dns.Name("example.com.")
        assert hash(dns.Name(b"Example.COM")) == hash(dns.Name(b"example.com"))
        assert dns.Name(b"a.example.com") != dns.Name(b"example.com")

    def test_subdomain(self) -> None:
        assert dns.Name(b"www.Example.com").isSubdomainOf(b"example.com")
        assert dns.Name(b"example.com").isSubdomainOf(dns.Name(b"example.com"))
        assert not dns.Name(b"badexample.com").isSubdomainOf(b"example.com")
        assert dns.Name(b"x").isSubdomainOf(b"")

    def test_idna(self) -> None:
        assert dns.Name("bücher.example").name == b"xn--bcher-kva.example"

    def test_twistedEncodeDecode(self) -> None:
        s = io.BytesIO()
        comp: dict[bytes, int] = {}
        dns.Name(b"www.example.com").encode(s, comp)
        dns.Name(b"mail.example.com").encode(s, comp)
        assert s.getvalue() == b"\x03www\x07example\x03com\x00\x04mail\xc0\x04"
        s.seek(0)
        n1, n2 = dns.Name(), dns.Name()
        n1.decode(s)
        n2.decode(s)
        assert (n1.name, n2.name) == (b"www.example.com", b"mail.example.com")
        assert s.tell() == len(s.getvalue())

    @pytest.mark.parametrize(
        "bad", [b"a" * 64 + b".com", b"a..b", b".".join([b"a" * 63] * 4) + b".x"]
    )
    def test_badNamesRefusedOnEncode(self, bad: bytes) -> None:
        with pytest.raises(ValueError):
            dns.Name(bad).encode(io.BytesIO())

    @settings(deadline=None)
    @given(names(anyBytes=True))
    def test_roundTrip(self, name: bytes) -> None:
        s = io.BytesIO()
        dns.Name(name).encode(s)
        got, end = dns.readName(s.getvalue(), 0)
        assert got == name
        assert end == len(s.getvalue())


def _msgWithName(nameWire: bytes) -> bytes:
    return struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0) + nameWire + b"\x00\x01\x00\x01"


class TestStrictDecoding:
    """Every kind of bad input raises DNSDecodeError and nothing else."""

    @pytest.mark.parametrize(
        "nameWire",
        [
            b"\xc0\x0c",  # pointer to itself
            b"\x01a\xc0\x0c",  # pointer back to the start of its own name: a loop
            b"\xc0\x20",  # forward pointer
            b"\xc0\xff",  # pointer out of the message
            b"\x40" + b"a" * 64 + b"\x00",  # label of 64
            b"\x80\x00",  # reserved label type
            b"\x03ab",  # truncated label
            b"\x03abc",  # missing terminator
            b"\xc0",  # half a pointer
            b"".join([b"\x3f" + b"a" * 63] * 4) + b"\x00",  # name of 257 octets
        ],
    )
    def test_badNames(self, nameWire: bytes) -> None:
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(_msgWithName(nameWire))

    @staticmethod
    def _chain(hops: int, label: bytes) -> tuple[bytes, int]:
        """A message body where each name is ``label`` + a pointer to the previous name."""
        body = bytearray(bytes(12) + b"\x01a\x00")
        prev = 12
        for _ in range(hops):
            start = len(body)
            body += label + struct.pack("!H", 0xC000 | prev)
            prev = start
        return bytes(body), prev

    def test_longPointerChain(self) -> None:
        wire, start = self._chain(100, b"")
        with pytest.raises(dns.DNSDecodeError):
            dns.readName(wire, start)
        wire, start = self._chain(100, b"\x01b")
        with pytest.raises(dns.DNSDecodeError):
            dns.readName(wire, start)

    def test_chainWithinLimit(self) -> None:
        wire, start = self._chain(10, b"\x01b")
        assert dns.readName(wire, start) == (b"b." * 10 + b"a", len(wire))
        wire, start = self._chain(10, b"")
        assert dns.readName(wire, start) == (b"a", len(wire))

    def test_lyingRdlength(self) -> None:
        m = dns.Message(id=1)
        m.answers.append(dns.RRHeader(b"a", dns.A, dns.IN, 5, dns.Record_A("1.2.3.4")))
        wire = bytearray(_wire(m))
        # RDLENGTH is the two octets before the four address octets.
        for bad in (3, 5, 200):
            w = bytearray(wire)
            w[-6:-4] = struct.pack("!H", bad)
            with pytest.raises(dns.DNSDecodeError):
                dns.Message().fromStr(bytes(w))

    def test_rdlengthShorterThanName(self) -> None:
        m = dns.Message(id=1)
        m.answers.append(dns.RRHeader(b"a", dns.NS, dns.IN, 5, dns.Record_NS(b"ns.example")))
        w = bytearray(_wire(m))
        w[-14:-12] = struct.pack("!H", 4)
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(bytes(w))

    def test_countsExceedMessage(self) -> None:
        wire = bytearray(_query())
        wire[6:8] = struct.pack("!H", 0xFFFF)
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(bytes(wire))
        wire = bytearray(_query())
        wire[4:6] = struct.pack("!H", 2)
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(bytes(wire))

    def test_junkAfterMessage(self) -> None:
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(_query() + b"\x00")

    def test_shortHeader(self) -> None:
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(b"\x00" * 11)

    def test_twoOPTs(self) -> None:
        m = dns.Message(ednsVersion=0)
        wire = bytearray(_wire(m))
        opt = bytes(wire[12:])
        wire[10:12] = b"\x00\x02"
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(bytes(wire) + opt)

    def test_OPTInAnswer(self) -> None:
        wire = bytearray(_wire(dns.Message(ednsVersion=0)))
        wire[6:8], wire[10:12] = b"\x00\x01", b"\x00\x00"
        with pytest.raises(dns.DNSDecodeError):
            dns.Message().fromStr(bytes(wire))

    def test_isFormatError(self) -> None:
        assert issubclass(dns.DNSDecodeError, error.DNSFormatError)
        assert issubclass(dns.DNSDecodeError, EOFError)

    @settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(st.binary(max_size=600))
    def test_randomBytes(self, data: bytes) -> None:
        try:
            m = dns.Message()
            m.fromStr(data)
        except dns.DNSDecodeError:
            return
        # Whatever decoded must encode again.
        _wire(m)

    @settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(messages(), st.data())
    def test_mutatedMessages(self, m: dns.Message, data: st.DataObject) -> None:
        wire = bytearray(_wire(m))
        for _ in range(data.draw(st.integers(1, 4))):
            kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
            pos = data.draw(st.integers(0, max(0, len(wire) - 1)))
            if kind == "flip" and wire:
                wire[pos] ^= data.draw(st.integers(1, 255))
            elif kind == "cut":
                del wire[pos:]
            else:
                wire[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        try:
            dns.Message().fromStr(bytes(wire))
        except dns.DNSDecodeError:
            pass


class TestRoundTrip:
    @pytest.mark.parametrize("rtype", sorted(records))
    @settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_everyRecordType(self, rtype: int, data: st.DataObject) -> None:
        payload = data.draw(records[rtype])
        m = dns.Message(id=7, answer=1)
        m.answers.append(dns.RRHeader(b"owner.example", rtype, dns.IN, 300, payload))
        got = dns.Message.fromBytes(_wire(m))
        assert len(got.answers) == 1
        rr = got.answers[0]
        assert (rr.type, rr.cls, rr.ttl, rr.name) == (
            rtype,
            dns.IN,
            300,
            dns.Name(b"owner.example"),
        )
        object.__setattr__(payload, "ttl", 300)
        assert rr.payload == payload
        assert type(rr.payload) is type(payload)

    @settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
    @given(messages())
    def test_messages(self, m: dns.Message) -> None:
        wire = _wire(m)
        got = dns.Message.fromBytes(wire)
        assert _wire(got) == wire
        withTTLs(m)
        assert got.queries == m.queries
        assert got.answers == m.answers
        assert got.authority == m.authority
        assert got.additional == m.additional
        assert (got.id, got.rCode, got.opCode, got.ednsVersion, got.dnssecOK) == (
            m.id,
            m.rCode,
            m.opCode,
            m.ednsVersion,
            m.dnssecOK,
        )
        assert got.ednsOptions == m.ednsOptions

    @settings(deadline=None)
    @given(rrs())
    def test_twistedRecordAPI(self, rr: dns.RRHeader) -> None:
        assert rr.payload is not None
        s = io.BytesIO()
        rr.payload.encode(s)
        s.seek(0)
        fresh = type(rr.payload)()
        fresh.decode(s, len(s.getvalue()))
        assert fresh == rr.payload

    def test_compression(self) -> None:
        m = dns.Message()
        m.addQuery(b"example.com", dns.MX)
        m.answers.append(
            dns.RRHeader(b"example.com", dns.MX, payload=dns.Record_MX(10, b"mail.example.com"))
        )
        wire = _wire(m)
        assert wire.count(b"example") == 1

    def test_srvTargetNotCompressed(self) -> None:
        m = dns.Message()
        m.addQuery(b"example.com", dns.SRV)
        m.answers.append(
            dns.RRHeader(
                b"_x._tcp.example.com", dns.SRV, payload=dns.Record_SRV(1, 2, 3, b"example.com")
            )
        )
        assert _wire(m).count(b"example") == 2

    def test_truncation(self) -> None:
        m = dns.Message(maxSize=512)
        m.addQuery(b"example.com", dns.TXT)
        for _ in range(20):
            m.answers.append(
                dns.RRHeader(b"example.com", dns.TXT, payload=dns.Record_TXT(b"x" * 100))
            )
        wire = m.toStr()
        assert len(wire) <= 512
        got = dns.Message.fromBytes(wire)
        assert got.trunc == 1
        assert 0 < len(got.answers) < 20

    def test_additionalDroppedWithoutTC(self) -> None:
        m = dns.Message(maxSize=512, ednsVersion=0)
        m.addQuery(b"example.com", dns.TXT)
        m.answers.append(dns.RRHeader(b"example.com", dns.TXT, payload=dns.Record_TXT(b"x")))
        for _ in range(10):
            m.additional.append(
                dns.RRHeader(b"example.com", dns.TXT, payload=dns.Record_TXT(b"x" * 100))
            )
        got = dns.Message.fromBytes(m._toWire(512))
        assert got.trunc == 0
        assert len(got.answers) == 1
        assert got.ednsVersion == 0
        assert len(got.additional) < 10

    def test_ednsExtendedRcodeAndDO(self) -> None:
        m = dns.Message(rCode=dns.EBADVERSION, ednsVersion=0, dnssecOK=True, maxSize=1232)
        m.ednsOptions.append(dns.OPTVariableOption(10, b"cookie12"))
        got = dns.Message.fromBytes(m.toStr())
        assert got.rCode == dns.EBADVERSION
        assert got.dnssecOK
        assert got.maxSize == 1232
        assert got.ednsOptions == [dns.OPTVariableOption(10, b"cookie12")]

    def test_recordConstructorsValidate(self) -> None:
        with pytest.raises(ValueError):
            dns.Record_MX(70000, b"x")
        with pytest.raises(OSError):
            dns.Record_A("1.2.3")
        with pytest.raises(ValueError):
            dns.Record_TXT(b"x" * 256)
        with pytest.raises(ValueError):
            dns.RRHeader(b"x", dns.MX, payload=dns.Record_A("1.2.3.4"))

    def test_recordStr(self) -> None:
        assert str(dns.Record_A("10.0.0.1", ttl="1h")) == "<A address=10.0.0.1 ttl=3600>"
        assert dns.str2time("1h30m") == 5400
