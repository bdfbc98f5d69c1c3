"""Resource record payloads (RDATA): one class per record type.

Each class knows how to write itself to a :class:`~glisten.names._wire._name.Writer`
(``_write``) and how to read itself from a slice of a message (``_fromWire``),
which must consume the RDATA exactly: an RDLENGTH that lies is an error.
"""

from __future__ import annotations

import builtins
import socket
import struct
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import attrs
from zope.interface import implementer

from glisten.names._wire import _constants as C
from glisten.names._wire._interfaces import IRecord
from glisten.names._wire._name import DNSDecodeError, Name, Writer, _fileView, readName

__all__ = [
    "IEncodableRecord",
    "Record_A",
    "Record_A6",
    "Record_AAAA",
    "Record_AFSDB",
    "Record_CAA",
    "Record_CNAME",
    "Record_DNAME",
    "Record_HINFO",
    "Record_HTTPS",
    "Record_MB",
    "Record_MD",
    "Record_MF",
    "Record_MG",
    "Record_MINFO",
    "Record_MR",
    "Record_MX",
    "Record_NAPTR",
    "Record_NS",
    "Record_NULL",
    "Record_PTR",
    "Record_RP",
    "Record_SOA",
    "Record_SPF",
    "Record_SRV",
    "Record_SSHFP",
    "Record_SVCB",
    "Record_TLSA",
    "Record_TXT",
    "Record_WKS",
    "UnknownRecord",
    "str2time",
]

_R = TypeVar("_R", bound="IEncodableRecord")

_TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def str2time(s: str | bytes | int | None) -> int | None:
    """
    Parse a time interval such as ``"1h"``, ``"2d"`` or ``"1h30m"`` into seconds.

    :raises ValueError: for anything else.
    """
    if s is None or isinstance(s, int):
        return s
    if isinstance(s, bytes):
        s = s.decode("ascii")
    s = s.strip().lower()
    if s.isdigit():
        return int(s)
    total = 0
    num = ""
    for ch in s:
        if ch.isdigit():
            num += ch
        elif ch in _TIME_UNITS and num:
            total += int(num) * _TIME_UNITS[ch]
            num = ""
        else:
            raise ValueError(f"bad time interval {s!r}")
    if num:
        total += int(num)
    return total


def _ttl(value: Any) -> int | None:
    return str2time(value)


def _name(value: Any) -> Name:
    return value if isinstance(value, Name) else Name(value)


def _b(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _u8(v: Any) -> int:
    v = int(v)
    if not 0 <= v <= 0xFF:
        raise ValueError(f"{v} does not fit in 8 bits")
    return v


def _u16(v: Any) -> int:
    v = int(v)
    if not 0 <= v <= 0xFFFF:
        raise ValueError(f"{v} does not fit in 16 bits")
    return v


def _u32(v: Any) -> int:
    v = int(v)
    if not 0 <= v <= 0xFFFFFFFF:
        raise ValueError(f"{v} does not fit in 32 bits")
    return v


def _packIPv4(a: Any) -> bytes:
    if isinstance(a, bytes) and len(a) == 4:
        return a  # already packed: a dotted quad is at least 7 octets
    if isinstance(a, bytes):
        a = a.decode("ascii")
    return socket.inet_pton(socket.AF_INET, a)


def _packIPv6(a: Any) -> bytes:
    if isinstance(a, bytes):
        a = a.decode("ascii")
    return socket.inet_pton(socket.AF_INET6, a)


def _interval(v: Any) -> int:
    return _u32(str2time(v))


def _makeRecordClass(cls: Any = None, *, init: bool = True) -> Any:
    """
    The one attrs decorator of every record class: slotted, compared and
    hashed by value, with the Twisted-style ``repr`` of :class:`IEncodableRecord`.
    """
    deco = attrs.define(
        slots=True, eq=True, unsafe_hash=True, repr=False, init=init, weakref_slot=False
    )
    return deco if cls is None else deco(cls)


if TYPE_CHECKING:  # the attrs mypy plugin knows attrs.define by name
    from attrs import define as _record
else:
    _record = _makeRecordClass


def _build(cls: type[_R], **fields: Any) -> _R:
    """Make a record from already-validated wire values, skipping converters."""
    obj = object.__new__(cls)
    for k, v in fields.items():
        object.__setattr__(obj, k, v)
    return obj


def _charString(buf: bytes, off: int, end: int) -> tuple[bytes, int]:
    if off >= end:
        raise DNSDecodeError("character-string missing")
    n = buf[off]
    s = off + 1
    e = s + n
    if e > end:
        raise DNSDecodeError("character-string runs past its record")
    return buf[s:e], e


def _writeCharString(w: Writer, s: bytes) -> None:
    if len(s) > 255:
        raise ValueError("character-string longer than 255 octets")
    w.buf.append(len(s))
    w.buf += s


def _nameIn(buf: bytes, off: int, end: int) -> tuple[Name, int]:
    name, off = readName(buf, off)
    if off > end:
        raise DNSDecodeError("name runs past its record")
    return Name(name), off


def _done(off: int, end: int) -> None:
    if off != end:
        raise DNSDecodeError("record data longer than its contents")


@implementer(IRecord)
class IEncodableRecord:
    """
    Base of every record payload (Twisted's ``IEncodable`` + ``IRecord``).

    :cvar TYPE: the record type number.
    :cvar fancybasename: the type's mnemonic, for display.
    :ivar ttl: the time to live, or ``None`` to take it from the header.
    """

    __slots__ = ()
    TYPE: ClassVar[int] = 0
    fancybasename: ClassVar[str] = ""
    showAttributes: ClassVar[tuple[str, ...]] = ()
    ttl: int | None

    def _write(self, w: Writer) -> None:
        raise NotImplementedError

    @classmethod
    def _fromWire(cls: type[_R], buf: bytes, off: int, end: int, ttl: int | None) -> _R:
        raise NotImplementedError

    def encode(self, strio: IO[bytes], compDict: dict[bytes, int] | None = None) -> None:
        """
        Write the RDATA to ``strio`` (Twisted API), compressing if ``compDict``.
        """
        w = Writer(strio.tell(), compDict, compDict is not None)
        self._write(w)
        strio.write(bytes(w.buf))

    def decode(self, strio: IO[bytes], length: int | None = None) -> None:
        """
        Read ``length`` octets of RDATA from ``strio`` into this record (Twisted API).

        :raises DNSDecodeError: when they are not a valid record of this type.
        """
        buf, off = _fileView(strio)
        end = len(buf) if length is None else off + length
        if end > len(buf):
            raise DNSDecodeError("record data runs past the end of the message")
        other = self._fromWire(buf, off, end, getattr(self, "ttl", None))
        for field in attrs.fields(cast(Any, type(self))):
            object.__setattr__(self, field.name, getattr(other, field.name))
        strio.seek(end)

    def toWire(self) -> bytes:
        """:return: the RDATA without compression."""
        w = Writer(0, {}, compress=False)
        self._write(w)
        return bytes(w.buf)

    def _show(self, attr: str) -> str:
        v = getattr(self, attr)
        if isinstance(v, Name):
            return str(v)
        if isinstance(v, bytes):
            return v.decode("ascii", "backslashreplace")
        return str(v)

    def __str__(self) -> str:
        parts = " ".join(f"{a}={self._show(a)}" for a in self.showAttributes)
        return f"<{self.fancybasename} {parts} ttl={self.ttl}>"

    __repr__ = __str__


@_record
class Record_A(IEncodableRecord):
    """An IPv4 address (RFC 1035 3.4.1); ``address`` holds the 4 packed octets."""

    TYPE = C.A
    fancybasename = "A"
    showAttributes = ("address",)

    address: bytes = attrs.field(default=b"\0\0\0\0", converter=_packIPv4)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def dottedQuad(self) -> str:
        """:return: the address as ``"a.b.c.d"``."""
        return socket.inet_ntop(socket.AF_INET, self.address)

    def _show(self, attr: str) -> str:
        return self.dottedQuad() if attr == "address" else super()._show(attr)

    def _write(self, w: Writer) -> None:
        w.buf += self.address

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_A:
        if end - off != 4:
            raise DNSDecodeError("A record data is not 4 octets")
        return _build(cls, address=buf[off:end], ttl=ttl)


@_record
class Record_AAAA(IEncodableRecord):
    """An IPv6 address (RFC 3596); ``address`` holds the 16 packed octets."""

    TYPE = C.AAAA
    fancybasename = "AAAA"
    showAttributes = ("address",)

    address: bytes = attrs.field(default=cast(bytes, "::"), converter=_packIPv6)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _show(self, attr: str) -> str:
        if attr == "address":
            return socket.inet_ntop(socket.AF_INET6, self.address)
        return super()._show(attr)

    def _write(self, w: Writer) -> None:
        w.buf += self.address

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_AAAA:
        if end - off != 16:
            raise DNSDecodeError("AAAA record data is not 16 octets")
        return _build(cls, address=buf[off:end], ttl=ttl)


@_record
class _NameRecord(IEncodableRecord):
    """
    A record whose data is one domain name: its ``name`` and ``ttl`` fields
    are declared here once for NS, CNAME, PTR, MD, MF, MB, MG, MR and DNAME.
    """

    showAttributes = ("name",)
    name: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)
    #: Whether the name may be compressed (RFC 3597 section 4: only the old types).
    compress: ClassVar[bool] = True

    def _write(self, w: Writer) -> None:
        w.writeName(self.name.name, self.compress)

    @classmethod
    def _fromWire(cls: type[_R], buf: bytes, off: int, end: int, ttl: int | None) -> _R:
        name, off = _nameIn(buf, off, end)
        _done(off, end)
        return _build(cls, name=name, ttl=ttl)


@_record
class Record_NS(_NameRecord):
    """An authoritative name server for the owner (RFC 1035)."""

    TYPE = C.NS
    fancybasename = "NS"


@_record
class Record_CNAME(_NameRecord):
    """The canonical name of an alias (RFC 1035)."""

    TYPE = C.CNAME
    fancybasename = "CNAME"


@_record
class Record_PTR(_NameRecord):
    """A pointer to another name, for reverse lookups (RFC 1035)."""

    TYPE = C.PTR
    fancybasename = "PTR"


@_record
class Record_MD(_NameRecord):
    """A mail destination (obsolete, RFC 1035)."""

    TYPE = C.MD
    fancybasename = "MD"


@_record
class Record_MF(_NameRecord):
    """A mail forwarder (obsolete, RFC 1035)."""

    TYPE = C.MF
    fancybasename = "MF"


@_record
class Record_MB(_NameRecord):
    """A mailbox domain name (experimental, RFC 1035)."""

    TYPE = C.MB
    fancybasename = "MB"


@_record
class Record_MG(_NameRecord):
    """A mail group member (experimental, RFC 1035)."""

    TYPE = C.MG
    fancybasename = "MG"


@_record
class Record_MR(_NameRecord):
    """A mail rename domain name (experimental, RFC 1035)."""

    TYPE = C.MR
    fancybasename = "MR"


@_record
class Record_DNAME(_NameRecord):
    """Redirection of a whole subtree (RFC 6672); never compressed."""

    TYPE = C.DNAME
    fancybasename = "DNAME"
    compress = False


@_record
class Record_SOA(IEncodableRecord):
    """The start of a zone of authority (RFC 1035 3.3.13)."""

    TYPE = C.SOA
    fancybasename = "SOA"
    showAttributes = ("mname", "rname", "serial", "refresh", "retry", "expire", "minimum")

    mname: Name = attrs.field(factory=Name, converter=_name)
    rname: Name = attrs.field(factory=Name, converter=_name)
    serial: int = attrs.field(default=0, converter=_u32)
    refresh: int = attrs.field(default=0, converter=_interval)
    retry: int = attrs.field(default=0, converter=_interval)
    expire: int = attrs.field(default=0, converter=_interval)
    minimum: int = attrs.field(default=0, converter=_interval)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.writeName(self.mname.name)
        w.writeName(self.rname.name)
        w.buf += struct.pack(
            "!LLLLL", self.serial, self.refresh, self.retry, self.expire, self.minimum
        )

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_SOA:
        mname, off = _nameIn(buf, off, end)
        rname, off = _nameIn(buf, off, end)
        if end - off != 20:
            raise DNSDecodeError("SOA record has the wrong length")
        serial, refresh, retry, expire, minimum = struct.unpack_from("!LLLLL", buf, off)
        return _build(
            cls,
            mname=mname,
            rname=rname,
            serial=serial,
            refresh=refresh,
            retry=retry,
            expire=expire,
            minimum=minimum,
            ttl=ttl,
        )


@_record
class Record_MX(IEncodableRecord):
    """A mail exchange (RFC 1035 3.3.9)."""

    TYPE = C.MX
    fancybasename = "MX"
    showAttributes = ("preference", "name")

    preference: int = attrs.field(default=0, converter=_u16)
    name: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    @property
    def exchange(self) -> Name:
        """The mail exchange host (an alias of ``name``)."""
        return self.name

    def _write(self, w: Writer) -> None:
        w.buf += self.preference.to_bytes(2, "big")
        w.writeName(self.name.name)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_MX:
        if end - off < 3:
            raise DNSDecodeError("MX record too short")
        pref = int.from_bytes(buf[off : off + 2], "big")
        name, off = _nameIn(buf, off + 2, end)
        _done(off, end)
        return _build(cls, preference=pref, name=name, ttl=ttl)


def _charStrings(value: Iterable[Any]) -> tuple[bytes, ...]:
    out = tuple(_b(v) for v in value)
    for s in out:
        if len(s) > 255:
            raise ValueError("character-string longer than 255 octets")
    return out


@_record(init=False)
class Record_TXT(IEncodableRecord):
    """
    Text strings (RFC 1035 3.3.14): ``Record_TXT(b"one", b"two", ttl=60)``.

    ``data`` is a tuple (Twisted keeps a list) so records stay hashable.
    """

    TYPE = C.TXT
    fancybasename = "TXT"
    showAttributes = ("data",)

    data: tuple[bytes, ...]
    ttl: int | None

    def __init__(self, *data: bytes | str, ttl: int | str | None = None) -> None:
        self.data = _charStrings(data)
        self.ttl = str2time(ttl)

    def _show(self, attr: str) -> str:
        return repr(list(self.data)) if attr == "data" else super()._show(attr)

    def _write(self, w: Writer) -> None:
        if not self.data:
            # An empty TXT RDATA is not allowed; write one empty string.
            w.buf.append(0)
        for s in self.data:
            _writeCharString(w, s)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_TXT:
        if off >= end:
            raise DNSDecodeError("TXT record is empty")
        data = []
        while off < end:
            s, off = _charString(buf, off, end)
            data.append(s)
        return _build(cls, data=tuple(data), ttl=ttl)


@_record(init=False)
class Record_SPF(Record_TXT):
    """Sender Policy Framework text (RFC 4408); encoded like TXT."""

    TYPE = C.SPF
    fancybasename = "SPF"


@_record
class Record_HINFO(IEncodableRecord):
    """Host information: CPU and operating system (RFC 1035 3.3.2)."""

    TYPE = C.HINFO
    fancybasename = "HINFO"
    showAttributes = ("cpu", "os")

    cpu: bytes = attrs.field(default=b"", converter=_b)
    os: bytes = attrs.field(default=b"", converter=_b)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        _writeCharString(w, self.cpu)
        _writeCharString(w, self.os)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_HINFO:
        cpu, off = _charString(buf, off, end)
        os_, off = _charString(buf, off, end)
        _done(off, end)
        return _build(cls, cpu=cpu, os=os_, ttl=ttl)


@_record
class Record_MINFO(IEncodableRecord):
    """Mailbox information (experimental, RFC 1035 3.3.7)."""

    TYPE = C.MINFO
    fancybasename = "MINFO"
    showAttributes = ("rmailbx", "emailbx")

    rmailbx: Name = attrs.field(factory=Name, converter=_name)
    emailbx: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.writeName(self.rmailbx.name)
        w.writeName(self.emailbx.name)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_MINFO:
        r, off = _nameIn(buf, off, end)
        e, off = _nameIn(buf, off, end)
        _done(off, end)
        return _build(cls, rmailbx=r, emailbx=e, ttl=ttl)


@_record
class Record_RP(IEncodableRecord):
    """A responsible person: a mailbox and a name holding TXT records (RFC 1183)."""

    TYPE = C.RP
    fancybasename = "RP"
    showAttributes = ("mbox", "txt")

    mbox: Name = attrs.field(factory=Name, converter=_name)
    txt: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.writeName(self.mbox.name, False)
        w.writeName(self.txt.name, False)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_RP:
        m, off = _nameIn(buf, off, end)
        t, off = _nameIn(buf, off, end)
        _done(off, end)
        return _build(cls, mbox=m, txt=t, ttl=ttl)


@_record
class Record_AFSDB(IEncodableRecord):
    """An AFS database location (RFC 1183)."""

    TYPE = C.AFSDB
    fancybasename = "AFSDB"
    showAttributes = ("subtype", "hostname")

    subtype: int = attrs.field(default=0, converter=_u16)
    hostname: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.buf += self.subtype.to_bytes(2, "big")
        w.writeName(self.hostname.name, False)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_AFSDB:
        if end - off < 3:
            raise DNSDecodeError("AFSDB record too short")
        sub = int.from_bytes(buf[off : off + 2], "big")
        h, off = _nameIn(buf, off + 2, end)
        _done(off, end)
        return _build(cls, subtype=sub, hostname=h, ttl=ttl)


@_record
class Record_SRV(IEncodableRecord):
    """A service location (RFC 2782); the target is never compressed."""

    TYPE = C.SRV
    fancybasename = "SRV"
    showAttributes = ("priority", "weight", "port", "target")

    priority: int = attrs.field(default=0, converter=_u16)
    weight: int = attrs.field(default=0, converter=_u16)
    port: int = attrs.field(default=0, converter=_u16)
    target: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.buf += struct.pack("!HHH", self.priority, self.weight, self.port)
        w.writeName(self.target.name, False)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_SRV:
        if end - off < 7:
            raise DNSDecodeError("SRV record too short")
        p, wt, port = struct.unpack_from("!HHH", buf, off)
        t, off = _nameIn(buf, off + 6, end)
        _done(off, end)
        return _build(cls, priority=p, weight=wt, port=port, target=t, ttl=ttl)


@_record
class Record_NAPTR(IEncodableRecord):
    """A naming authority pointer (RFC 3403)."""

    TYPE = C.NAPTR
    fancybasename = "NAPTR"
    showAttributes = ("order", "preference", "flags", "service", "regexp", "replacement")

    order: int = attrs.field(default=0, converter=_u16)
    preference: int = attrs.field(default=0, converter=_u16)
    flags: bytes = attrs.field(default=b"", converter=_b)
    service: bytes = attrs.field(default=b"", converter=_b)
    regexp: bytes = attrs.field(default=b"", converter=_b)
    replacement: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.buf += struct.pack("!HH", self.order, self.preference)
        _writeCharString(w, self.flags)
        _writeCharString(w, self.service)
        _writeCharString(w, self.regexp)
        w.writeName(self.replacement.name, False)

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_NAPTR:
        if end - off < 4:
            raise DNSDecodeError("NAPTR record too short")
        order, pref = struct.unpack_from("!HH", buf, off)
        flags, off = _charString(buf, off + 4, end)
        service, off = _charString(buf, off, end)
        regexp, off = _charString(buf, off, end)
        repl, off = _nameIn(buf, off, end)
        _done(off, end)
        return _build(
            cls,
            order=order,
            preference=pref,
            flags=flags,
            service=service,
            regexp=regexp,
            replacement=repl,
            ttl=ttl,
        )


@_record
class Record_SSHFP(IEncodableRecord):
    """An SSH host key fingerprint (RFC 4255)."""

    TYPE = C.SSHFP
    fancybasename = "SSHFP"
    showAttributes = ("algorithm", "fingerprintType", "fingerprint")

    algorithm: int = attrs.field(default=0, converter=_u8)
    fingerprintType: int = attrs.field(default=0, converter=_u8)
    fingerprint: bytes = attrs.field(default=b"", converter=_b)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _show(self, attr: str) -> str:
        return self.fingerprint.hex() if attr == "fingerprint" else super()._show(attr)

    def _write(self, w: Writer) -> None:
        w.buf += bytes((self.algorithm, self.fingerprintType))
        w.buf += self.fingerprint

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_SSHFP:
        if end - off < 2:
            raise DNSDecodeError("SSHFP record too short")
        return _build(
            cls,
            algorithm=buf[off],
            fingerprintType=buf[off + 1],
            fingerprint=buf[off + 2 : end],
            ttl=ttl,
        )


@_record
class Record_TLSA(IEncodableRecord):
    """
    A TLS certificate association (RFC 6698); ``data`` is the certificate
    association data (a hash or a whole certificate/key).
    """

    TYPE = C.TLSA
    fancybasename = "TLSA"
    showAttributes = ("usage", "selector", "matchingType", "data")

    usage: int = attrs.field(default=0, converter=_u8)
    selector: int = attrs.field(default=0, converter=_u8)
    matchingType: int = attrs.field(default=0, converter=_u8)
    data: bytes = attrs.field(default=b"", converter=_b)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _show(self, attr: str) -> str:
        return self.data.hex() if attr == "data" else super()._show(attr)

    def _write(self, w: Writer) -> None:
        w.buf += bytes((self.usage, self.selector, self.matchingType))
        w.buf += self.data

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_TLSA:
        if end - off < 3:
            raise DNSDecodeError("TLSA record too short")
        return _build(
            cls,
            usage=buf[off],
            selector=buf[off + 1],
            matchingType=buf[off + 2],
            data=buf[off + 3 : end],
            ttl=ttl,
        )


@_record
class Record_CAA(IEncodableRecord):
    """A certification authority authorization (RFC 8659)."""

    TYPE = C.CAA
    fancybasename = "CAA"
    showAttributes = ("flags", "tag", "value")

    flags: int = attrs.field(default=0, converter=_u8)
    tag: bytes = attrs.field(default=b"issue", converter=_b)
    value: bytes = attrs.field(default=b"", converter=_b)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    @tag.validator
    def _checkTag(self, attribute: object, tag: bytes) -> None:
        if not 1 <= len(tag) <= 255 or not tag.isalnum():
            raise ValueError("CAA tag must be 1-255 ASCII letters and digits")

    def _write(self, w: Writer) -> None:
        w.buf.append(self.flags)
        _writeCharString(w, self.tag)
        w.buf += self.value

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_CAA:
        if end - off < 2:
            raise DNSDecodeError("CAA record too short")
        flags = buf[off]
        tag, off = _charString(buf, off + 1, end)
        if not tag or not tag.isalnum():
            raise DNSDecodeError("CAA tag is not 1-255 letters and digits")
        return _build(cls, flags=flags, tag=tag, value=buf[off:end], ttl=ttl)


def _svcParams(value: Any) -> tuple[tuple[int, bytes], ...]:
    items = value.items() if isinstance(value, dict) else value
    out = tuple(sorted((_u16(k), _b(v)) for k, v in items))
    for i in range(1, len(out)):
        if out[i][0] == out[i - 1][0]:
            raise ValueError(f"SvcParamKey {out[i][0]} given twice")
    for _, v in out:
        if len(v) > 0xFFFF:
            raise ValueError("SvcParamValue too long")
    return out


@_record
class Record_SVCB(IEncodableRecord):
    """
    A service binding (RFC 9460).

    ``params`` holds ``(key, wire value)`` pairs sorted by key (a dict is
    accepted too); see :data:`SVC_PARAM_KEYS` for the key numbers. Priority 0
    is AliasMode. The target is never compressed.
    """

    TYPE = C.SVCB
    fancybasename = "SVCB"
    showAttributes = ("priority", "target", "params")

    priority: int = attrs.field(default=0, converter=_u16)
    target: Name = attrs.field(factory=Name, converter=_name)
    params: tuple[tuple[int, bytes], ...] = attrs.field(default=(), converter=_svcParams)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.buf += self.priority.to_bytes(2, "big")
        w.writeName(self.target.name, False)
        for key, value in self.params:
            w.buf += struct.pack("!HH", key, len(value))
            w.buf += value

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_SVCB:
        if end - off < 3:
            raise DNSDecodeError("SVCB record too short")
        prio = int.from_bytes(buf[off : off + 2], "big")
        target, off = _nameIn(buf, off + 2, end)
        params = []
        last = -1
        while off < end:
            if end - off < 4:
                raise DNSDecodeError("SvcParam truncated")
            key, ln = struct.unpack_from("!HH", buf, off)
            if key <= last:
                raise DNSDecodeError("SvcParamKeys not in strictly increasing order")
            last = key
            off += 4
            if off + ln > end:
                raise DNSDecodeError("SvcParamValue runs past its record")
            params.append((key, buf[off : off + ln]))
            off += ln
        return _build(cls, priority=prio, target=target, params=tuple(params), ttl=ttl)


@_record
class Record_HTTPS(Record_SVCB):
    """The HTTPS flavour of SVCB (RFC 9460 section 9)."""

    TYPE = C.HTTPS
    fancybasename = "HTTPS"


#: SvcParamKey names (RFC 9460 section 14.3.2).
SVC_PARAM_KEYS: dict[str, int] = {
    "mandatory": 0,
    "alpn": 1,
    "no-default-alpn": 2,
    "port": 3,
    "ipv4hint": 4,
    "ech": 5,
    "ipv6hint": 6,
}


@_record
class Record_A6(IEncodableRecord):
    """
    An IPv6 address in pieces (RFC 2874, experimental since RFC 6563):
    the low ``128 - prefixLen`` bits in ``suffix``, the rest found at ``prefix``.
    """

    TYPE = C.A6
    fancybasename = "A6"
    showAttributes = ("prefixLen", "suffix", "prefix")

    prefixLen: int = attrs.field(default=0, converter=_u8)
    suffix: builtins.bytes = attrs.field(default=cast(builtins.bytes, "::"), converter=_packIPv6)
    prefix: Name = attrs.field(factory=Name, converter=_name)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def __attrs_post_init__(self) -> None:
        if self.prefixLen > 128:
            raise ValueError("A6 prefix length above 128")

    @property
    def bytes(self) -> int:
        """Octets of ``suffix`` on the wire."""
        return (128 - self.prefixLen + 7) // 8

    def _show(self, attr: str) -> str:
        if attr == "suffix":
            return socket.inet_ntop(socket.AF_INET6, self.suffix)
        return super()._show(attr)

    def _write(self, w: Writer) -> None:
        w.buf.append(self.prefixLen)
        n = self.bytes
        if n:
            w.buf += self.suffix[16 - n :]
        if self.prefixLen:
            w.writeName(self.prefix.name, False)

    @classmethod
    def _fromWire(cls, buf: builtins.bytes, off: int, end: int, ttl: int | None) -> Record_A6:
        if off >= end:
            raise DNSDecodeError("A6 record empty")
        plen = buf[off]
        if plen > 128:
            raise DNSDecodeError("A6 prefix length above 128")
        n = (128 - plen + 7) // 8
        off += 1
        if off + n > end:
            raise DNSDecodeError("A6 suffix runs past its record")
        suffix = builtins.bytes(16 - n) + buf[off : off + n]
        off += n
        prefix = Name()
        if plen:
            prefix, off = _nameIn(buf, off, end)
        _done(off, end)
        return _build(cls, prefixLen=plen, suffix=suffix, prefix=prefix, ttl=ttl)


@_record
class Record_WKS(IEncodableRecord):
    """Well-known services of a host (RFC 1035 3.4.2): address, protocol, port bitmap."""

    TYPE = C.WKS
    fancybasename = "WKS"
    showAttributes = ("address", "protocol")

    address: bytes = attrs.field(default=b"\0\0\0\0", converter=_packIPv4)
    protocol: int = attrs.field(default=0, converter=_u8)
    map: bytes = attrs.field(default=b"", converter=_b)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _show(self, attr: str) -> str:
        if attr == "address":
            return socket.inet_ntop(socket.AF_INET, self.address)
        return super()._show(attr)

    def _write(self, w: Writer) -> None:
        w.buf += self.address
        w.buf.append(self.protocol)
        w.buf += self.map

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_WKS:
        if end - off < 5:
            raise DNSDecodeError("WKS record too short")
        return _build(
            cls, address=buf[off : off + 4], protocol=buf[off + 4], map=buf[off + 5 : end], ttl=ttl
        )


@_record
class Record_NULL(IEncodableRecord):
    """Arbitrary data (RFC 1035 3.3.10)."""

    TYPE = C.NULL
    fancybasename = "NULL"
    showAttributes = ("payload",)

    payload: bytes = attrs.field(default=b"", converter=_b)
    ttl: int | None = attrs.field(default=None, converter=_ttl)

    def _write(self, w: Writer) -> None:
        w.buf += self.payload

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> Record_NULL:
        return _build(cls, payload=buf[off:end], ttl=ttl)


@_record
class UnknownRecord(IEncodableRecord):
    """
    Data of a record type glisten does not know, kept as opaque octets so it
    round-trips unchanged (RFC 3597).
    """

    fancybasename = "UNKNOWN"
    showAttributes = ("data",)

    data: bytes = attrs.field(default=b"", converter=_b)
    ttl: int | None = attrs.field(default=None, converter=_ttl)
    #: The record type, when known (set when decoding and by zone files);
    #: not compared, as in Twisted.
    rtype: int = attrs.field(default=0, eq=False, kw_only=True)

    @property
    def TYPE(self) -> int:  # type: ignore[override]
        """The record type number (``rtype``)."""
        return self.rtype

    def _write(self, w: Writer) -> None:
        w.buf += self.data

    @classmethod
    def _fromWire(cls, buf: bytes, off: int, end: int, ttl: int | None) -> UnknownRecord:
        return _build(cls, data=buf[off:end], ttl=ttl, rtype=0)


#: Type number -> payload class for every type glisten decodes.
RECORD_TYPES: dict[int, type[IEncodableRecord]] = {
    cls.TYPE: cls
    for cls in (
        Record_A,
        Record_AAAA,
        Record_NS,
        Record_CNAME,
        Record_PTR,
        Record_MD,
        Record_MF,
        Record_MB,
        Record_MG,
        Record_MR,
        Record_DNAME,
        Record_SOA,
        Record_MX,
        Record_TXT,
        Record_SPF,
        Record_HINFO,
        Record_MINFO,
        Record_RP,
        Record_AFSDB,
        Record_SRV,
        Record_NAPTR,
        Record_SSHFP,
        Record_TLSA,
        Record_CAA,
        Record_SVCB,
        Record_HTTPS,
        Record_NULL,
        Record_A6,
        Record_WKS,
    )
}
