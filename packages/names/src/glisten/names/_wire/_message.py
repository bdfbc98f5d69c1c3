"""DNS messages: header, question, resource records and EDNS(0) (RFC 1035, 6891)."""

from __future__ import annotations

import struct
from typing import IO, Any

import attrs

from glisten.names._wire import _constants as C
from glisten.names._wire._name import DNSDecodeError, Name, Writer, _fileView, readName
from glisten.names._wire._records import RECORD_TYPES, IEncodableRecord, UnknownRecord

__all__ = ["Message", "OPTHeader", "OPTVariableOption", "Query", "RRHeader"]

_HEADER = struct.Struct("!HHHHHH")
_RRFIXED = struct.Struct("!HHIH")
_QFIXED = struct.Struct("!HH")

#: The largest UDP payload glisten advertises or accepts in EDNS(0) answers.
MAX_UDP_PAYLOAD = 4096
#: How many EDNS options one OPT record may hold before the message is refused.
MAX_EDNS_OPTIONS = 64


class Query:
    """
    A question: a name, a type and a class.

    :ivar name: the :class:`Name` asked about.
    :ivar type: the record type wanted.
    :ivar cls: the class (usually ``IN``).
    """

    __slots__ = ("cls", "name", "type")

    def __init__(self, name: bytes | str | Name = b"", type: int = C.A, cls: int = C.IN) -> None:
        self.name = name if isinstance(name, Name) else Name(name)
        self.type = type
        self.cls = cls

    def encode(self, strio: IO[bytes], compDict: dict[bytes, int] | None = None) -> None:
        """Write the question to ``strio`` (Twisted API)."""
        w = Writer(strio.tell(), compDict, compDict is not None)
        self._write(w)
        strio.write(bytes(w.buf))

    def _write(self, w: Writer) -> None:
        w.writeName(self.name.name)
        w.buf += _QFIXED.pack(self.type, self.cls)

    def decode(self, strio: IO[bytes], length: int | None = None) -> None:
        """Read a question from a file holding the whole message (Twisted API)."""
        buf, off = _fileView(strio)
        q, end = _readQuery(buf, off)
        self.name, self.type, self.cls = q.name, q.type, q.cls
        strio.seek(end)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Query):
            return (self.name, self.type, self.cls) == (other.name, other.type, other.cls)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.type, self.cls))

    def __str__(self) -> str:
        t = C.QUERY_TYPES.get(self.type) or C.EXT_QUERIES.get(self.type) or f"TYPE{self.type}"
        c = C.QUERY_CLASSES.get(self.cls, f"CLASS{self.cls}")
        return f"<Query {self.name} {t} {c}>"

    def __repr__(self) -> str:
        return f"Query({self.name.name!r}, type={self.type}, cls={self.cls})"


def _readQuery(buf: bytes, off: int) -> tuple[Query, int]:
    name, off = readName(buf, off)
    end = off + 4
    if end > len(buf):
        raise DNSDecodeError("question runs past the end of the message")
    t, c = _QFIXED.unpack_from(buf, off)
    q = Query.__new__(Query)
    n = Name.__new__(Name)
    n.name = name
    n._key = name.lower()
    q.name, q.type, q.cls = n, t, c
    return q, end


def _makeRR(name: Name, type: int, ttl: int, payload: IEncodableRecord, auth: bool) -> RRHeader:
    """An ``IN`` RRHeader from trusted values (an authority's own records), unchecked."""
    rr = RRHeader.__new__(RRHeader)
    rr.name = name
    rr.type = type
    rr.cls = C.IN
    rr.ttl = ttl
    rr.payload = payload
    rr.auth = auth
    rr.rdlength = None
    return rr


class RRHeader:
    """
    A resource record: owner name, type, class, TTL and payload.

    :ivar payload: an :class:`~glisten.names.dns.IEncodableRecord` or ``None``.
    :ivar auth: whether this record comes from an authority for its zone.
    :ivar rdlength: the RDATA length seen when decoding, else ``None``.
    """

    __slots__ = ("auth", "cls", "name", "payload", "rdlength", "ttl", "type")

    def __init__(
        self,
        name: bytes | str | Name = b"",
        type: int = C.A,
        cls: int = C.IN,
        ttl: int = 0,
        payload: IEncodableRecord | None = None,
        auth: bool = False,
    ) -> None:
        ttl = int(ttl)
        if not 0 <= ttl <= 0xFFFFFFFF:
            raise ValueError(f"TTL {ttl} out of range")
        if payload is not None and not isinstance(payload, UnknownRecord) and payload.TYPE != type:
            raise ValueError(f"payload type {payload.TYPE} does not match header type {type}")
        self.name = name if isinstance(name, Name) else Name(name)
        self.type = type
        self.cls = cls
        self.ttl = ttl
        self.payload = payload
        self.auth = auth
        self.rdlength: int | None = None

    def isAuthoritative(self) -> bool:
        """:return: ``auth``."""
        return self.auth

    def encode(self, strio: IO[bytes], compDict: dict[bytes, int] | None = None) -> None:
        """Write the record, payload included, to ``strio`` (Twisted API)."""
        w = Writer(strio.tell(), compDict, compDict is not None)
        self._write(w)
        strio.write(bytes(w.buf))

    def _write(self, w: Writer) -> None:
        w.writeName(self.name.name)
        buf = w.buf
        buf += _RRFIXED.pack(self.type, self.cls, self.ttl, 0)
        pos = len(buf)
        if self.payload is not None:
            self.payload._write(w)
        n = len(buf) - pos
        if n > 0xFFFF:
            raise ValueError("record data longer than 65535 octets")
        buf[pos - 2] = n >> 8
        buf[pos - 1] = n & 0xFF

    def decode(self, strio: IO[bytes], length: int | None = None) -> None:
        """
        Read a whole record (header and payload) from ``strio``.

        Twisted reads only the fixed header here and leaves the payload to the
        caller; glisten reads both so a lying RDLENGTH is caught in one place.
        """
        buf, off = _fileView(strio)
        rr, end = _readRR(buf, off)
        for slot in RRHeader.__slots__:
            setattr(self, slot, getattr(rr, slot))
        strio.seek(end)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RRHeader):
            return (self.name, self.type, self.cls, self.ttl, self.payload, self.auth) == (
                other.name,
                other.type,
                other.cls,
                other.ttl,
                other.payload,
                other.auth,
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.type, self.cls, self.ttl, self.payload))

    def __str__(self) -> str:
        t = C.QUERY_TYPES.get(self.type) or C.EXT_QUERIES.get(self.type) or f"TYPE{self.type}"
        c = C.QUERY_CLASSES.get(self.cls, f"CLASS{self.cls}")
        return f"<RR name={self.name} type={t} class={c} ttl={self.ttl}s auth={self.auth}>"

    __repr__ = __str__


def lookupRecordType(type: int, cls: int = C.IN) -> type[IEncodableRecord]:
    """
    :return: the payload class for a record type; :class:`UnknownRecord` for
        types glisten does not know and for class-specific types outside ``IN``.
    """
    rt = RECORD_TYPES.get(type)
    if rt is None or (cls != C.IN and type in (C.A, C.AAAA)):
        return UnknownRecord
    return rt


def _readRR(buf: bytes, off: int) -> tuple[RRHeader, int]:
    name, off = readName(buf, off)
    s = off + 10
    if s > len(buf):
        raise DNSDecodeError("record header runs past the end of the message")
    t, c, ttl, rdlen = _RRFIXED.unpack_from(buf, off)
    end = s + rdlen
    if end > len(buf):
        raise DNSDecodeError("record data runs past the end of the message")
    rr = RRHeader.__new__(RRHeader)
    n = Name.__new__(Name)
    n.name = name
    n._key = name.lower()
    rr.name = n
    rr.type = t
    rr.cls = c
    rr.ttl = ttl
    rr.auth = False
    rr.rdlength = rdlen
    if rdlen == 0 and c in (C.ANY, C.NONE):
        # DNS UPDATE (RFC 2136) deletes RRsets with empty RDATA of any type.
        rr.payload = UnknownRecord._fromWire(buf, s, end, ttl)
    else:
        rr.payload = lookupRecordType(t, c)._fromWire(buf, s, end, ttl)
    if type(rr.payload) is UnknownRecord:
        object.__setattr__(rr.payload, "rtype", t)
    return rr, end


@attrs.frozen
class OPTVariableOption:
    """One EDNS(0) option: a code and its opaque data (RFC 6891 6.1.2)."""

    code: int = 0
    data: bytes = b""


@attrs.define
class OPTHeader:
    """
    The EDNS(0) pseudo-record, as a value (RFC 6891 6.1).

    :ivar udpPayloadSize: the largest UDP answer the sender can take.
    :ivar extendedRCODE: the upper 8 bits of the 12-bit response code.
    :ivar version: the EDNS version.
    :ivar dnssecOK: the DO bit.
    :ivar options: the options, in order.
    """

    udpPayloadSize: int = 4096
    extendedRCODE: int = 0
    version: int = 0
    dnssecOK: bool = False
    options: list[OPTVariableOption] = attrs.Factory(list)

    def _write(self, w: Writer) -> None:
        buf = w.buf
        buf.append(0)
        ttl = (self.extendedRCODE << 24) | (self.version << 16) | (0x8000 if self.dnssecOK else 0)
        rdata = b"".join(struct.pack("!HH", o.code, len(o.data)) + o.data for o in self.options)
        buf += _RRFIXED.pack(C.OPT, self.udpPayloadSize, ttl, len(rdata))
        buf += rdata

    def encode(self, strio: IO[bytes], compDict: dict[bytes, int] | None = None) -> None:
        """Write the OPT record (Twisted API)."""
        w = Writer()
        self._write(w)
        strio.write(bytes(w.buf))

    @classmethod
    def _fromRR(cls, name: bytes, klass: int, ttl: int, data: bytes) -> OPTHeader:
        if name:
            raise DNSDecodeError("OPT record owner is not the root")
        opts = []
        off = 0
        n = len(data)
        while off < n:
            if n - off < 4:
                raise DNSDecodeError("EDNS option truncated")
            code, ln = struct.unpack_from("!HH", data, off)
            off += 4
            if off + ln > n:
                raise DNSDecodeError("EDNS option runs past the OPT record")
            opts.append(OPTVariableOption(code, data[off : off + ln]))
            off += ln
            if len(opts) > MAX_EDNS_OPTIONS:
                raise DNSDecodeError("too many EDNS options")
        return cls(
            udpPayloadSize=klass,
            extendedRCODE=ttl >> 24,
            version=(ttl >> 16) & 0xFF,
            dnssecOK=bool(ttl & 0x8000),
            options=opts,
        )


class Message:
    """
    A DNS message (RFC 1035 4.1), with EDNS(0) (RFC 6891) folded in.

    Decoding lifts the OPT pseudo-record out of ``additional`` into
    ``ednsVersion``, ``dnssecOK``, ``ednsOptions`` and ``maxSize`` (the UDP
    payload size) and the extended RCODE into ``rCode``; encoding puts it back
    when ``ednsVersion`` is not ``None``. (Twisted keeps OPT in ``additional``
    unless ``_EDNSMessage`` is used; glisten does what ``_EDNSMessage`` does.)

    ``toStr`` honours ``maxSize``: records that do not fit are left out at
    record boundaries, setting ``trunc`` when an answer or authority record
    was dropped (RFC 2181 9). Twisted cut the message mid-record.
    """

    __slots__ = (
        "additional",
        "answer",
        "answers",
        "auth",
        "authenticData",
        "authority",
        "checkingDisabled",
        "dnssecOK",
        "ednsOptions",
        "ednsVersion",
        "id",
        "maxSize",
        "opCode",
        "queries",
        "rCode",
        "recAv",
        "recDes",
        "trunc",
    )

    headerSize = 12

    def __init__(
        self,
        id: int = 0,
        answer: int | bool = 0,
        opCode: int = C.OP_QUERY,
        recDes: int | bool = 0,
        recAv: int | bool = 0,
        auth: int | bool = 0,
        rCode: int = C.OK,
        trunc: int | bool = 0,
        maxSize: int = 512,
        authenticData: int | bool = 0,
        checkingDisabled: int | bool = 0,
        *,
        ednsVersion: int | None = None,
        dnssecOK: bool = False,
        ednsOptions: list[OPTVariableOption] | None = None,
    ) -> None:
        self.id = id
        self.answer = int(answer)
        self.opCode = opCode
        self.recDes = int(recDes)
        self.recAv = int(recAv)
        self.auth = int(auth)
        self.rCode = rCode
        self.trunc = int(trunc)
        self.maxSize = maxSize
        self.authenticData = int(authenticData)
        self.checkingDisabled = int(checkingDisabled)
        self.ednsVersion = ednsVersion
        self.dnssecOK = dnssecOK
        self.ednsOptions: list[OPTVariableOption] = ednsOptions or []
        self.queries: list[Query] = []
        self.answers: list[RRHeader] = []
        self.authority: list[RRHeader] = []
        self.additional: list[RRHeader] = []

    def addQuery(
        self, name: bytes | str | Name, type: int = C.ALL_RECORDS, cls: int = C.IN
    ) -> None:
        """Append a question."""
        self.queries.append(Query(name, type, cls))

    @staticmethod
    def lookupRecordType(type: int) -> type[IEncodableRecord]:
        """:return: the payload class for ``type`` (:class:`UnknownRecord` if unknown)."""
        return lookupRecordType(type)

    # -- encoding

    def toStr(self) -> bytes:
        """:return: the message on the wire, truncated to ``maxSize`` if needed."""
        return self._toWire(self.maxSize)

    def _toWire(self, limit: int) -> bytes:
        """
        Encode, keeping within ``limit`` octets (0: no limit but 65535).

        :raises ValueError: for values that cannot be encoded (bad names, ...).
        """
        if self.ednsVersion is not None and not 0 <= self.rCode <= 0xFFF:
            raise ValueError("rCode out of range")
        if self.ednsVersion is None and not 0 <= self.rCode <= 0xF:
            raise ValueError("rCode above 15 needs EDNS")
        if not limit or limit > 65535:
            limit = 65535
        opt = b""
        if self.ednsVersion is not None:
            ow = Writer()
            OPTHeader(
                udpPayloadSize=max(512, min(self.maxSize, 65535)),
                extendedRCODE=self.rCode >> 4,
                version=self.ednsVersion,
                dnssecOK=self.dnssecOK,
                options=self.ednsOptions,
            )._write(ow)
            opt = bytes(ow.buf)
        room = limit - len(opt)
        w = Writer()
        buf = w.buf
        buf += b"\0" * 12
        for q in self.queries:
            q._write(w)
        trunc = self.trunc
        counts = [len(self.queries), 0, 0, 0]
        if len(buf) > room:
            raise ValueError("question section does not fit in the message")
        for i, section in ((1, self.answers), (2, self.authority), (3, self.additional)):
            for rr in section:
                mark = len(buf)
                rr._write(w)
                if len(buf) > room:
                    # Nothing is written after this, so compression entries
                    # pointing into the dropped octets are never used.
                    del buf[mark:]
                    if i < 3:
                        trunc = 1
                    break
                counts[i] += 1
            else:
                continue
            break
        arcount = counts[3] + (1 if opt else 0)
        buf += opt
        flags = (
            (self.answer & 1) << 15
            | (self.opCode & 0xF) << 11
            | (self.auth & 1) << 10
            | (trunc & 1) << 9
            | (self.recDes & 1) << 8
            | (self.recAv & 1) << 7
            | (self.authenticData & 1) << 5
            | (self.checkingDisabled & 1) << 4
            | (self.rCode & 0xF)
        )
        _HEADER.pack_into(buf, 0, self.id, flags, counts[0], counts[1], counts[2], arcount)
        self.trunc = trunc
        return bytes(buf)

    def encode(self, strio: IO[bytes]) -> None:
        """Write the message to ``strio`` (Twisted API)."""
        strio.write(self.toStr())

    # -- decoding

    def fromStr(self, data: bytes) -> None:
        """
        Replace this message's contents with the decoded ``data``.

        :raises DNSDecodeError: when ``data`` is not exactly one well-formed message.
        """
        _decodeInto(self, data)

    def decode(self, strio: IO[bytes], length: int | None = None) -> None:
        """Read a message from ``strio`` (Twisted API); reads to the end if no length."""
        data = strio.read() if length is None else strio.read(length)
        _decodeInto(self, data)

    @classmethod
    def fromBytes(cls, data: bytes) -> Message:
        """
        :return: a new message decoded from ``data``.
        :raises DNSDecodeError: when ``data`` is not exactly one well-formed message.
        """
        m = cls.__new__(cls)
        _decodeInto(m, data)
        return m

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in Message.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        flags = [
            f
            for f in ("answer", "auth", "trunc", "recDes", "recAv", "authenticData")
            if getattr(self, f)
        ]
        return (
            f"<Message id={self.id} rCode={self.rCode} opCode={self.opCode} "
            f"flags={','.join(flags)} queries={self.queries} answers={self.answers} "
            f"authority={self.authority} additional={self.additional} edns={self.ednsVersion}>"
        )

    def __str__(self) -> str:
        return repr(self)

    def copy(self, **changes: Any) -> Message:
        """:return: a shallow copy with section lists copied and ``changes`` applied."""
        m = Message.__new__(Message)
        for s in Message.__slots__:
            setattr(m, s, getattr(self, s))
        m.queries = list(self.queries)
        m.answers = list(self.answers)
        m.authority = list(self.authority)
        m.additional = list(self.additional)
        m.ednsOptions = list(self.ednsOptions)
        for k, v in changes.items():
            setattr(m, k, v)
        return m


def _decodeInto(m: Message, buf: bytes) -> None:
    if len(buf) < 12:
        raise DNSDecodeError("message shorter than its header")
    mid, flags, qd, an, ns, ar = _HEADER.unpack_from(buf, 0)
    if qd * 5 + (an + ns + ar) * 11 > len(buf) - 12:
        raise DNSDecodeError("section counts exceed the message")
    m.id = mid
    m.answer = flags >> 15
    m.opCode = (flags >> 11) & 0xF
    m.auth = (flags >> 10) & 1
    m.trunc = (flags >> 9) & 1
    m.recDes = (flags >> 8) & 1
    m.recAv = (flags >> 7) & 1
    m.authenticData = (flags >> 5) & 1
    m.checkingDisabled = (flags >> 4) & 1
    rcode = flags & 0xF
    off = 12
    queries = []
    for _ in range(qd):
        q, off = _readQuery(buf, off)
        queries.append(q)
    sections: list[list[RRHeader]] = [[], [], []]
    opt: OPTHeader | None = None
    for idx, count in ((0, an), (1, ns), (2, ar)):
        sec = sections[idx]
        for _ in range(count):
            if off + 11 <= len(buf) and buf[off] == 0 and buf[off + 1 : off + 3] == b"\x00\x29":
                # OPT pseudo-record (type 41) with the root owner.
                if idx != 2:
                    raise DNSDecodeError("OPT record outside the additional section")
                if opt is not None:
                    raise DNSDecodeError("more than one OPT record")
                _, klass, ttl, rdlen = _RRFIXED.unpack_from(buf, off + 1)
                s = off + 11
                end = s + rdlen
                if end > len(buf):
                    raise DNSDecodeError("OPT record runs past the end of the message")
                opt = OPTHeader._fromRR(b"", klass, ttl, buf[s:end])
                off = end
                continue
            rr, off = _readRR(buf, off)
            if rr.type == C.OPT:
                raise DNSDecodeError("OPT record with a non-root owner")
            sec.append(rr)
    if off != len(buf):
        raise DNSDecodeError("junk after the end of the message")
    m.queries = queries
    m.answers, m.authority, m.additional = sections
    if opt is not None:
        m.ednsVersion = opt.version
        m.dnssecOK = opt.dnssecOK
        m.ednsOptions = opt.options
        m.maxSize = max(512, opt.udpPayloadSize)
        m.rCode = (opt.extendedRCODE << 4) | rcode
    else:
        m.ednsVersion = None
        m.dnssecOK = False
        m.ednsOptions = []
        m.maxSize = 512
        m.rCode = rcode
