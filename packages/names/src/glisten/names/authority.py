"""
Authoritative zones (Twisted's ``twisted.names.authority``).

:class:`FileAuthority` answers from one zone held in memory following RFC
1034 4.3.2: AA answers, CNAME chasing inside the zone, referrals with glue
below delegation points, wildcards, NODATA and NXDOMAIN with the zone's SOA
in the authority section (which Twisted left out).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from glisten.internet import defer
from glisten.names import error
from glisten.names._wire import _constants as C
from glisten.names._wire._message import Query, RRHeader, _makeRR
from glisten.names._wire._name import Name
from glisten.names._wire._query import encodeSections
from glisten.names._wire._records import IEncodableRecord, Record_SOA
from glisten.names._wire._zones import NOT_OURS, SLOW, WireAnswer
from glisten.names._zonefile import ZoneFileError, parseZone
from glisten.names.common import ResolverBase, Result, Timeout

__all__ = [
    "BindAuthority",
    "FileAuthority",
    "NameNotInZone",
    "PySourceAuthority",
    "ZoneFileError",
    "getSerial",
]

#: How many CNAMEs one answer may follow inside the zone.
MAX_CNAME_CHAIN = 8


class NameNotInZone(error.AuthoritativeDomainError):
    """
    NXDOMAIN from an authority, carrying the records for the authority
    section (the zone's SOA, RFC 2308 3) and any CNAMEs that led there.
    """

    def __init__(self, name: bytes, answers: list[RRHeader], authority: list[RRHeader]) -> None:
        super().__init__(name)
        self.answers = answers
        self.authority = authority


def getSerial(filename: str = "/tmp/twisted-names.serial") -> str:
    """
    Return a date-based serial number (YYYYMMDDnn) that increases on each
    call, remembering the last one in ``filename`` (Twisted API).
    """
    import os

    serial = time.strftime("%Y%m%d")
    o = 0
    if os.path.exists(filename):
        with open(filename) as f:
            last = f.read().strip()
        if last[:8] == serial and last[8:].isdigit():
            o = int(last[8:]) + 1
    result = f"{serial}{o:02d}"
    with open(filename, "w") as f:
        f.write(result)
    return result


class _Records(dict[bytes, list[IEncodableRecord]]):
    """
    A zone's owner name -> records dict that tells its authority when owner
    names are added or removed, so indexes built from it are rebuilt.
    """

    __slots__ = ("_changed",)

    def __init__(self, data: Any, changed: Any) -> None:
        super().__init__(data)
        self._changed = changed

    def __setitem__(self, key: bytes, value: list[IEncodableRecord]) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: bytes) -> None:
        super().__delitem__(key)
        self._changed()

    def pop(self, *args: Any) -> Any:
        r = super().pop(*args)
        self._changed()
        return r

    def popitem(self) -> Any:
        r = super().popitem()
        self._changed()
        return r

    def clear(self) -> None:
        super().clear()
        self._changed()

    def update(self, *args: Any, **kw: Any) -> None:
        super().update(*args, **kw)
        self._changed()

    def __ior__(self, other: Any) -> _Records:  # type: ignore[override,misc]
        self.update(other)
        return self

    def setdefault(self, key: bytes, default: Any = None) -> Any:
        r = super().setdefault(key, default)
        self._changed()
        return r


class FileAuthority(ResolverBase):
    """
    An authority for one zone held in memory.

    As in Twisted, a subclass may set :attr:`soa` and :attr:`records` itself
    without calling ``__init__``. Assigning either, :meth:`setData`, adding
    or removing owner names and :meth:`zoneChanged` bump :attr:`version`;
    servers drop what they derived from the zone when it changes. Record
    lists changed in place are seen by servers within
    :attr:`~glisten.names.server.DNSServerFactory.answerCacheLifetime`
    (call :meth:`zoneChanged` to make it immediate).

    :ivar soa: ``(zone name, Record_SOA)``.
    :ivar records: lower-cased owner name -> list of records (each with its TTL).
    :ivar version: bumped each time the zone changes.
    """

    version = 0
    #: Whether a server may answer from :meth:`_wireAnswer` (this class's
    #: lookups, encoded) instead of calling :meth:`query`; ``False`` for a
    #: subclass that changes how lookups are answered.
    answersFromZone = True
    #: (version it was built for, (apex, owners, existing names, delegation points)).
    _index: tuple[int, tuple[bytes, set[bytes], set[bytes], set[bytes]]] | None = None
    _soa: tuple[bytes, Record_SOA]
    _records: _Records

    def __init__(self, filename: str | bytes | None = None) -> None:
        super().__init__()
        self.records = {}
        if filename is not None:
            self.loadFile(filename)

    @property
    def soa(self) -> tuple[bytes, Record_SOA]:
        return self._soa

    @soa.setter
    def soa(self, value: tuple[bytes | str, Record_SOA]) -> None:
        self._soa = (Name(value[0]).name.lower(), value[1])
        self.zoneChanged()

    @property
    def records(self) -> dict[bytes, list[IEncodableRecord]]:
        return self._records

    @records.setter
    def records(self, value: dict[bytes, list[IEncodableRecord]]) -> None:
        self._records = _Records(value, self.zoneChanged)
        self.zoneChanged()

    def zoneChanged(self) -> None:
        """Note that the zone changed (servers forget answers derived from it)."""
        self.version += 1
        for listener in self.__dict__.get("_changeListeners", ()):
            listener()

    def _addChangeListener(self, listener: Any) -> None:
        """Call ``listener()`` whenever the zone changes."""
        self.__dict__.setdefault("_changeListeners", []).append(listener)

    def loadFile(self, filename: str | bytes) -> None:
        """Load the zone (subclasses parse their own formats)."""
        raise NotImplementedError

    def setData(
        self, soa: tuple[bytes, Record_SOA], records: dict[bytes, list[IEncodableRecord]]
    ) -> None:
        """Replace the zone's contents."""
        self._soa = (Name(soa[0]).name.lower(), soa[1])
        self.records = {Name(k).name.lower(): list(v) for k, v in records.items()}

    def _hasZone(self) -> bool:
        """:return: whether a zone is loaded (a secondary may still be waiting for one)."""
        return "_soa" in self.__dict__ or isinstance(getattr(type(self), "soa", None), tuple)

    # -- lookups

    def _names(self) -> tuple[bytes, set[bytes], set[bytes], set[bytes]]:
        """
        :return: (apex, owner names, owner names and every ancestor inside
            the zone, delegation points), rebuilt when :attr:`version` changes.
        """
        index = self._index
        if index is not None and index[0] == self.version:
            return index[1]
        records = self.records
        owners = set(records)
        apex = Name(self.soa[0]).name.lower()
        existing = set(owners)
        for n in owners:
            while n and n != apex:
                n = n.split(b".", 1)[1] if b"." in n else b""
                existing.add(n)
        cuts = {n for n in owners if n != apex and any(r.TYPE == C.NS for r in records[n])}
        built = (apex, owners, existing, cuts)
        self._index = (self.version, built)
        return built

    def _ttl(self, rec: IEncodableRecord) -> int:
        return rec.ttl if rec.ttl is not None else self.soa[1].minimum

    def _rrs(
        self, owner: bytes | Name, recs: list[IEncodableRecord], auth: bool = True
    ) -> list[RRHeader]:
        name = owner if isinstance(owner, Name) else Name(owner)
        minimum = self.soa[1].minimum
        return [_makeRR(name, r.TYPE, minimum if r.ttl is None else r.ttl, r, auth) for r in recs]

    def _soaRR(self) -> RRHeader:
        name = self._names()[0]
        soa = self.soa[1]
        ttl = min(self._ttl(soa), soa.minimum)
        return RRHeader(name, C.SOA, C.IN, ttl, soa, auth=True)

    def _lookup(self, name: bytes, cls: int, type: int, timeout: Timeout) -> defer.Deferred[Result]:
        try:
            return defer.succeed(self._answer(name, cls, type))
        except (error.DomainError, error.AuthoritativeDomainError) as e:
            return defer.fail(e)

    def query(self, query: Query, timeout: Timeout = None) -> defer.Deferred[Result]:
        """Answer ``query`` from the zone (every type, without per-type dispatch)."""
        if not self._hasZone():
            return defer.fail(error.DomainError(query.name.name))
        try:
            return defer.succeed(self._answer(query.name, query.cls, query.type))
        except (error.DomainError, error.AuthoritativeDomainError) as e:
            return defer.fail(e)

    def _answer(self, name: bytes | Name, cls: int, type: int) -> Result:
        apex = self._names()[0]
        qname = name if isinstance(name, Name) else Name(name)
        name = qname.name
        if not qname.isSubdomainOf(apex) or cls not in (C.IN, C.ANY):
            raise error.DomainError(name)
        if type == C.AXFR:
            return self._axfr(qname)
        answers: list[RRHeader] = []
        additional: list[RRHeader] = []
        key = qname._key
        seen: set[bytes] = set()
        for _ in range(MAX_CNAME_CHAIN + 1):
            ref = self._referral(key)
            if ref is not None:
                ns, glue = ref
                return answers, ns, glue
            recs = self._recordsFor(key)
            if recs is None:
                if answers:
                    # A CNAME inside the zone points at a name that does not exist.
                    raise NameNotInZone(name, answers, [self._soaRR()])
                raise NameNotInZone(name, [], [self._soaRR()])
            owner = qname
            if type == C.ALL_RECORDS:
                matching = recs
            else:
                matching = [r for r in recs if r.TYPE == type]
            if matching:
                answers += self._rrs(owner, matching)
                self._additional(matching, additional)
                return answers, [], additional
            cnames = [r for r in recs if r.TYPE == C.CNAME]
            if cnames and type != C.CNAME:
                answers += self._rrs(owner, cnames[:1])
                target: Name = cnames[0].name  # type: ignore[attr-defined]
                seen.add(key)
                if not target.isSubdomainOf(apex) or target._key in seen:
                    return answers, [], additional
                qname, key = target, target._key
                continue
            return answers, [self._soaRR()], additional
        return answers, [], additional

    def _wireAnswer(self, key: bytes, cls: int, type: int) -> WireAnswer | tuple[()] | None:
        """
        The answer to a question, encoded (for :class:`~glisten.names._wire._zones.Zones`).

        The octets are what the server would send after a question for
        ``key`` at offset 12 (see :func:`~glisten.names._wire._query.encodeSections`),
        with the response code and AA bit it would set.

        :param key: the lower-cased name asked about.
        :return: the encoded answer; :data:`NOT_OURS` when the name is not in
            this zone; :data:`SLOW` when the answer must be made the long way.
        """
        if not self._hasZone():
            return NOT_OURS
        return self._encodeAnswer(key, cls, type)

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "answersFromZone" not in cls.__dict__ and any(
            m in cls.__dict__ for m in ("query", "_lookup", "_answer")
        ):
            cls.answersFromZone = False

    def _encodeAnswer(self, key: bytes, cls: int, type: int) -> WireAnswer | tuple[()] | None:
        qname = Name.__new__(Name)
        qname.name = key
        qname._key = key
        try:
            ans, auth, add = self._answer(qname, cls, type)
            rCode = C.OK
            aa = int(bool(ans or auth) and all(x.auth for x in ans) and all(x.auth for x in auth))
        except NameNotInZone as e:
            ans, auth, add = e.answers, e.authority, []
            rCode = C.ENAME
            aa = 1
        except error.AuthoritativeDomainError:
            return SLOW
        except error.DomainError:
            return NOT_OURS
        except Exception:
            return SLOW
        try:
            body = encodeSections(key, type, cls, [*ans, *auth, *add])
        except ValueError:
            return SLOW
        return rCode, aa, (len(ans), len(auth), len(add)), body

    def _recordsFor(self, key: bytes) -> list[IEncodableRecord] | None:
        """
        :return: the records at ``key`` (synthesised from a wildcard when
            needed), ``[]`` for an existing name with none, ``None`` for NXDOMAIN.
        """
        recs = self.records.get(key)
        if recs is not None:
            return recs
        apex, _, existing, _ = self._names()
        if key in existing:
            return []
        # Closest encloser, then its wildcard (RFC 4592).
        n = key
        while n != apex:
            n = n.split(b".", 1)[1] if b"." in n else b""
            if n in existing:
                wild = self.records.get(b"*." + n if n else b"*")
                return wild
        return None

    def _referral(self, key: bytes) -> tuple[list[RRHeader], list[RRHeader]] | None:
        """
        :return: (NS records, glue) when ``key`` lies at or below a delegation
            point other than the apex, else ``None``.
        """
        apex, _, _, cuts = self._names()
        if not cuts:
            return None
        labels = key.split(b".") if key else []
        apexLen = len(apex.split(b".")) if apex else 0
        # Walk down from just below the apex towards the name.
        for i in range(len(labels) - apexLen - 1, -1, -1):
            cut = b".".join(labels[i:])
            if cut not in cuts:
                continue
            recs = self.records.get(cut)
            if not recs:
                continue
            ns = [r for r in recs if r.TYPE == C.NS]
            if ns:
                glue: list[RRHeader] = []
                for r in ns:
                    target: Name = r.name  # type: ignore[attr-defined]
                    if target.isSubdomainOf(apex):
                        for g in self.records.get(target._key, []):
                            if g.TYPE in (C.A, C.AAAA):
                                glue += self._rrs(target, [g], auth=False)
                return self._rrs(cut, ns, auth=False), glue
        return None

    def _additional(self, recs: list[IEncodableRecord], additional: list[RRHeader]) -> None:
        """Add in-zone addresses of MX, NS and SRV targets (RFC 1035 3.3.9...)."""
        apex = self._names()[0]
        for r in recs:
            if r.TYPE in (C.MX, C.NS):
                target: Name = r.name  # type: ignore[attr-defined]
            elif r.TYPE == C.SRV:
                target = r.target  # type: ignore[attr-defined]
            else:
                continue
            if not target.isSubdomainOf(apex):
                continue
            for g in self.records.get(target._key, []):
                if g.TYPE in (C.A, C.AAAA):
                    additional += self._rrs(target, [g])

    def _axfr(self, qname: Name) -> Result:
        if qname._key != self._names()[0]:
            raise error.DomainError(qname.name)
        soa = self._soaRR()
        soa.ttl = self._ttl(self.soa[1])
        out = [soa]
        for owner, recs in self.records.items():
            out += self._rrs(owner, [r for r in recs if r.TYPE != C.SOA])
        out.append(soa)
        return out, [], []

    def lookupZone(self, name: bytes | str, timeout: Timeout = None) -> defer.Deferred[Result]:
        """:return: every record of the zone, between two copies of the SOA."""
        return self._lookupName(name, C.AXFR, timeout)


def _fromTriples(
    auth: FileAuthority, triples: list[tuple[bytes, int, IEncodableRecord]], source: str
) -> None:
    soa: tuple[bytes, Record_SOA] | None = None
    records: dict[bytes, list[IEncodableRecord]] = {}
    for owner, _, rec in triples:
        if isinstance(rec, Record_SOA):
            if soa is not None:
                raise ZoneFileError(f"{source}: more than one SOA record")
            soa = (owner, rec)
        records.setdefault(owner.lower(), []).append(rec)
    if soa is None:
        raise ZoneFileError(f"{source}: no SOA record")
    auth.setData(soa, records)


class BindAuthority(FileAuthority):
    """
    A zone read from an RFC 1035 master file (BIND format).

    :param filenames: a file name or a list of them (Twisted takes one; all
        the files must belong to one zone).
    :param origin: the initial ``$ORIGIN``; when not given the file must set it.
    :raises ZoneFileError: for a file that cannot be parsed.
    """

    def __init__(
        self, filenames: str | bytes | list[str | bytes], origin: bytes | str | None = None
    ) -> None:
        self._origin = origin
        super().__init__()
        one = isinstance(filenames, str | bytes)
        names = [os.fsdecode(filenames)] if one else [os.fsdecode(f) for f in filenames]  # type: ignore[arg-type]
        triples: list[tuple[bytes, int, IEncodableRecord]] = []
        for fn in names:
            triples += parseZone(path=fn, origin=origin)
        _fromTriples(self, triples, ", ".join(names))

    @classmethod
    def fromText(cls, text: str, origin: bytes | str | None = None) -> BindAuthority:
        """:return: an authority for a zone given as master-file text."""
        self = cls.__new__(cls)
        FileAuthority.__init__(self)
        self._origin = origin
        _fromTriples(self, parseZone(text=text, origin=origin), "<text>")
        return self


class PySourceAuthority(FileAuthority):
    """
    A zone written as Python: the file sets ``zone`` to a list of
    ``(name, record)`` pairs made with helpers named after record types::

        zone = [
            SOA("example.com", mname="ns1.example.com", rname="root.example.com",
                serial=1, refresh="1h", retry="10m", expire="1w", minimum="1h"),
            A("example.com", "192.0.2.1"),
            MX("example.com", 10, "mail.example.com"),
        ]

    The file is executed: load only files you trust, as with Twisted.
    """

    def loadFile(self, filename: str | bytes) -> None:
        filename = os.fsdecode(filename)
        with open(filename, encoding="utf-8") as f:
            source = f.read()
        ns = self.setupConfigNamespace()
        exec(compile(source, filename, "exec"), ns)
        zone = ns.get("zone")
        if not isinstance(zone, list | tuple):
            raise ZoneFileError(f"{filename}: does not set 'zone' to a list")
        triples = [(Name(n).name, r.TYPE, r) for n, r in zone]
        _fromTriples(self, triples, filename)

    @staticmethod
    def wrapRecord(
        cls: type[IEncodableRecord],
    ) -> Callable[..., tuple[bytes | str, IEncodableRecord]]:
        """:return: a helper making ``(name, cls(*args, **kw))``."""
        return lambda name, *args, **kw: (name, cls(*args, **kw))

    def setupConfigNamespace(self) -> dict[str, object]:
        """:return: the globals a zone file runs with (one helper per record type)."""
        from glisten.names import dns

        ns: dict[str, Any] = {}
        for attr in dir(dns):
            if attr.startswith("Record_"):
                ns[attr[len("Record_") :]] = self.wrapRecord(getattr(dns, attr))
        return ns
