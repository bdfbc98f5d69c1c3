"""A parser for RFC 1035 master (zone) files.

Handles ``$ORIGIN``, ``$TTL``, ``$INCLUDE``, ``@``, relative names, blank
owners, parentheses spanning lines, quoted strings, comments, TTL units
(``1h``), ``TYPEnnn`` and the RFC 3597 ``\\# len hex`` generic form, and
presentation formats for every record type glisten knows.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
from collections.abc import Iterator

from glisten.names._wire import _constants as C
from glisten.names._wire import _records as R
from glisten.names._wire._name import Name, nameToLabels

__all__ = ["ZoneFileError", "parseZone"]

#: Deepest nesting of ``$INCLUDE`` before the file is refused.
MAX_INCLUDE_DEPTH = 8
#: Most records one zone (with its includes) may hold.
MAX_RECORDS = 1_000_000


class ZoneFileError(ValueError):
    """A zone file that cannot be parsed; the message names the file and line."""


Token = tuple[str, bool]  # (text, wasQuoted)


def _tokenize(text: str, filename: str) -> Iterator[tuple[int, bool, list[Token]]]:
    """
    Yield logical lines: (line number, starts with blank, tokens).

    Parentheses join physical lines; ``;`` starts a comment outside quotes.
    """
    tokens: list[Token] = []
    depth = 0
    startLine = 0
    blankStart = False
    i = 0
    n = len(text)
    line = 1
    atLineStart = True
    while i < n:
        ch = text[i]
        if atLineStart and depth == 0:
            startLine = line
            blankStart = ch in " \t"
            atLineStart = False
        if ch == "\n":
            line += 1
            if depth == 0:
                if tokens:
                    yield startLine, blankStart, tokens
                tokens = []
                atLineStart = True
            i += 1
        elif ch in " \t\r":
            i += 1
        elif ch == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif ch == "(":
            depth += 1
            i += 1
        elif ch == ")":
            if depth == 0:
                raise ZoneFileError(f"{filename}:{line}: unbalanced ')'")
            depth -= 1
            i += 1
        elif ch == '"':
            i += 1
            buf = []
            while True:
                if i >= n:
                    raise ZoneFileError(f"{filename}:{line}: unterminated string")
                c = text[i]
                if c == "\\" and i + 1 < n:
                    buf.append(text[i : i + 2])
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                if c == "\n":
                    line += 1
                buf.append(c)
                i += 1
            tokens.append(("".join(buf), True))
        else:
            s = i
            while i < n and text[i] not in ' \t\r\n;()"':
                if text[i] == "\\" and i + 1 < n:
                    i += 2
                else:
                    i += 1
            tokens.append((text[s:i], False))
    if depth:
        raise ZoneFileError(f"{filename}: unbalanced '(' at end of file")
    if tokens:
        yield startLine, blankStart, tokens


def _unescape(s: str) -> bytes:
    """Turn a presentation string with ``\\X`` and ``\\DDD`` escapes into octets."""
    out = bytearray()
    b = s.encode("utf-8")
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            d = b[i + 1 : i + 4]
            if len(d) == 3 and d.isdigit():
                v = int(d)
                if v > 255:
                    raise ValueError(f"bad escape in {s!r}")
                out.append(v)
                i += 4
            else:
                out.append(b[i + 1])
                i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def _isTTL(tok: str) -> bool:
    return bool(tok) and tok[0].isdigit()


def _ttl(tok: str) -> int:
    v = R.str2time(tok)
    if v is None or not 0 <= v <= 0x7FFFFFFF:
        raise ValueError(f"bad TTL {tok!r}")
    return v


def _typeNumber(tok: str) -> int | None:
    u = tok.upper()
    if u in C.REV_TYPES and u not in ("AXFR", "IXFR", "MAILA", "MAILB", "ALL_RECORDS"):
        return C.REV_TYPES[u]
    if u.startswith("TYPE") and u[4:].isdigit():
        return int(u[4:])
    return None


def _classNumber(tok: str) -> int | None:
    u = tok.upper()
    if u in ("IN", "CH", "HS", "CS"):
        return C.REV_CLASSES[u]
    if u.startswith("CLASS") and u[5:].isdigit():
        return int(u[5:])
    return None


class _Parser:
    def __init__(self, origin: bytes | None, defaultTTL: int | None) -> None:
        self.origin = origin
        self.ttl = defaultTTL
        self.lastOwner: bytes | None = None
        self.lastTTL: int | None = None
        self.records: list[tuple[bytes, int, R.IEncodableRecord]] = []

    def name(self, tok: str) -> bytes:
        if tok == "@":
            if self.origin is None:
                raise ValueError("'@' used with no $ORIGIN")
            return self.origin
        if tok.endswith(".") and not tok.endswith("\\."):
            full = tok[:-1].encode("utf-8") if tok != "." else b""
        else:
            if self.origin is None:
                raise ValueError(f"relative name {tok!r} with no $ORIGIN")
            rel = tok.encode("utf-8")
            full = rel + b"." + self.origin if self.origin else rel
        nameToLabels(full)  # validates
        return Name(full).name

    def parseFile(self, path: str, depth: int = 0) -> None:
        if depth > MAX_INCLUDE_DEPTH:
            raise ZoneFileError(f"{path}: $INCLUDE nested too deeply")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ZoneFileError(f"{path}: {e.strerror}") from e
        self.parseText(text, path, depth)

    def parseText(self, text: str, filename: str = "<zone>", depth: int = 0) -> None:
        for lineno, blank, tokens in _tokenize(text, filename):
            try:
                self._line(blank, tokens, filename, depth)
            except ZoneFileError:
                raise
            except (ValueError, OSError, struct.error, IndexError) as e:
                raise ZoneFileError(f"{filename}:{lineno}: {e}") from e
            if len(self.records) > MAX_RECORDS:
                raise ZoneFileError(f"{filename}: more than {MAX_RECORDS} records")

    def _line(self, blank: bool, tokens: list[Token], filename: str, depth: int) -> None:
        first = tokens[0][0]
        if not blank and not tokens[0][1] and first.startswith("$"):
            d = first.upper()
            if d == "$ORIGIN":
                self.origin = self.name(tokens[1][0])
            elif d == "$TTL":
                self.ttl = _ttl(tokens[1][0])
            elif d == "$INCLUDE":
                path = tokens[1][0]
                if not os.path.isabs(path):
                    path = os.path.join(os.path.dirname(os.path.abspath(filename)), path)
                saved = self.origin, self.lastOwner
                if len(tokens) > 2:
                    self.origin = self.name(tokens[2][0])
                self.parseFile(path, depth + 1)
                self.origin, self.lastOwner = saved
            else:
                raise ValueError(f"unsupported directive {first}")
            return
        idx = 0
        if blank:
            if self.lastOwner is None:
                raise ValueError("record with no owner name")
            owner = self.lastOwner
        else:
            owner = self.name(first)
            idx = 1
        ttl: int | None = None
        cls = C.IN
        rtype: int | None = None
        # [ttl] [class] type  or  [class] [ttl] type
        for _ in range(3):
            tok = tokens[idx][0]
            if tokens[idx][1]:
                break
            if _isTTL(tok) and ttl is None:
                ttl = _ttl(tok)
                idx += 1
                continue
            c = _classNumber(tok)
            if c is not None:
                cls = c
                idx += 1
                continue
            break
        rtype = _typeNumber(tokens[idx][0])
        if rtype is None:
            raise ValueError(f"unknown record type {tokens[idx][0]!r}")
        idx += 1
        if cls != C.IN:
            raise ValueError("only class IN zones are supported")
        rdata = tokens[idx:]
        record = self._rdata(rtype, rdata)
        if ttl is None:
            if rtype == C.SOA and self.ttl is None:
                ttl = record.minimum  # type: ignore[attr-defined]
            elif self.ttl is not None:
                ttl = self.ttl
            elif self.lastTTL is not None:
                ttl = self.lastTTL
            else:
                raise ValueError("no TTL for record and no $TTL")
        if rtype == C.SOA and self.ttl is None:
            self.ttl = record.minimum  # type: ignore[attr-defined]
        object.__setattr__(record, "ttl", ttl)
        self.lastOwner = owner
        self.lastTTL = ttl
        self.records.append((owner, rtype, record))

    def _rdata(self, rtype: int, toks: list[Token]) -> R.IEncodableRecord:
        t = [x[0] for x in toks]
        if t and t[0] == "\\#" and not toks[0][1]:
            length = int(t[1])
            data = bytes.fromhex("".join(t[2:]))
            if len(data) != length:
                raise ValueError("generic RDATA length does not match its data")
            from glisten.names._wire._message import lookupRecordType

            cls = lookupRecordType(rtype)
            rec = cls._fromWire(data, 0, len(data), None)
            if isinstance(rec, R.UnknownRecord):
                object.__setattr__(rec, "rtype", rtype)
            return rec
        n = self.name
        if rtype == C.A:
            return R.Record_A(t[0])
        if rtype == C.AAAA:
            return R.Record_AAAA(t[0])
        if rtype in (C.NS, C.CNAME, C.PTR, C.DNAME, C.MB, C.MD, C.MF, C.MG, C.MR):
            cls = R.RECORD_TYPES[rtype]
            return cls(n(t[0]))  # type: ignore[call-arg]
        if rtype == C.SOA:
            return R.Record_SOA(n(t[0]), n(t[1]), int(t[2]), t[3], t[4], t[5], t[6])
        if rtype == C.MX:
            return R.Record_MX(int(t[0]), n(t[1]))
        if rtype in (C.TXT, C.SPF):
            strings = [_unescape(x) for x in t]
            return R.Record_TXT(*strings) if rtype == C.TXT else R.Record_SPF(*strings)
        if rtype == C.HINFO:
            return R.Record_HINFO(_unescape(t[0]), _unescape(t[1]))
        if rtype == C.MINFO:
            return R.Record_MINFO(n(t[0]), n(t[1]))
        if rtype == C.RP:
            return R.Record_RP(n(t[0]), n(t[1]))
        if rtype == C.AFSDB:
            return R.Record_AFSDB(int(t[0]), n(t[1]))
        if rtype == C.SRV:
            return R.Record_SRV(int(t[0]), int(t[1]), int(t[2]), n(t[3]))
        if rtype == C.NAPTR:
            return R.Record_NAPTR(
                int(t[0]), int(t[1]), _unescape(t[2]), _unescape(t[3]), _unescape(t[4]), n(t[5])
            )
        if rtype == C.SSHFP:
            return R.Record_SSHFP(int(t[0]), int(t[1]), bytes.fromhex("".join(t[2:])))
        if rtype == C.TLSA:
            return R.Record_TLSA(int(t[0]), int(t[1]), int(t[2]), bytes.fromhex("".join(t[3:])))
        if rtype == C.CAA:
            return R.Record_CAA(int(t[0]), t[1].encode("ascii"), _unescape(t[2]))
        if rtype in (C.SVCB, C.HTTPS):
            params = _svcParams(t[2:])
            cls = R.Record_SVCB if rtype == C.SVCB else R.Record_HTTPS
            return cls(int(t[0]), n(t[1]), params)
        if rtype == C.NULL:
            raise ValueError("NULL records need the generic \\# form")
        raise ValueError(f"no presentation format for type {rtype}; use \\# form")


def _svcParams(tokens: list[str]) -> dict[int, bytes]:
    """Parse SVCB ``key=value`` parameters into wire values (RFC 9460 section 7)."""
    out: dict[int, bytes] = {}
    merged: list[str] = []
    for tok in tokens:
        # key="quoted value" arrives as two tokens: "key=" and the string.
        if merged and merged[-1].endswith("=") and merged[-1].count("=") == 1:
            merged[-1] += tok
        else:
            merged.append(tok)
    for tok in merged:
        key, _, value = tok.partition("=")
        key = key.lower()
        if key in R.SVC_PARAM_KEYS:
            k = R.SVC_PARAM_KEYS[key]
        elif key.startswith("key") and key[3:].isdigit():
            k = int(key[3:])
        else:
            raise ValueError(f"unknown SvcParamKey {key!r}")
        if k in out:
            raise ValueError(f"SvcParamKey {key!r} given twice")
        if k == 0:
            keys = []
            for item in value.split(","):
                item = item.lower()
                keys.append(R.SVC_PARAM_KEYS[item] if item in R.SVC_PARAM_KEYS else int(item[3:]))
            out[k] = b"".join(struct.pack("!H", x) for x in sorted(keys))
        elif k == 1:
            ids = [_unescape(x) for x in value.split(",")]
            out[k] = b"".join(bytes([len(x)]) + x for x in ids)
        elif k == 2:
            if value:
                raise ValueError("no-default-alpn takes no value")
            out[k] = b""
        elif k == 3:
            out[k] = struct.pack("!H", int(value))
        elif k == 4:
            out[k] = b"".join(socket.inet_pton(socket.AF_INET, a) for a in value.split(","))
        elif k == 5:
            out[k] = base64.b64decode(value, validate=True)
        elif k == 6:
            out[k] = b"".join(socket.inet_pton(socket.AF_INET6, a) for a in value.split(","))
        else:
            out[k] = _unescape(value)
    return out


def parseZone(
    path: str | None = None,
    text: str | None = None,
    origin: bytes | str | None = None,
    defaultTTL: int | None = None,
) -> list[tuple[bytes, int, R.IEncodableRecord]]:
    """
    Parse a zone from a file or a string.

    :param origin: the initial ``$ORIGIN`` (``None``: the file must set it).
    :return: (owner, type, record) triples in file order, each record's
        ``ttl`` set.
    :raises ZoneFileError: naming the file and line of the first problem.
    """
    o = None if origin is None else Name(origin).name
    p = _Parser(o, defaultTTL)
    if path is not None:
        p.parseFile(path)
    elif text is not None:
        p.parseText(text)
    return p.records
