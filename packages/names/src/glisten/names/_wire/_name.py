"""Domain names and the low-level wire helpers every DNS codec part shares.

Reading works on a whole message (``bytes``) and an offset, so compression
pointers can be followed without seeking a file; writing appends to a
:class:`Writer` that remembers where each name suffix was written, for
compression (RFC 1035 section 4.1.4).
"""

from __future__ import annotations

from typing import IO

from glisten.names._wire._errors import DNSFormatError

__all__ = ["MAX_NAME_LENGTH", "DNSDecodeError", "Name", "Writer", "readName"]

#: The longest name on the wire, length octets and root label included (RFC 1035 2.3.4).
MAX_NAME_LENGTH = 255
#: The longest label (RFC 1035 2.3.4).
MAX_LABEL_LENGTH = 63
#: More compression pointer hops than this in one name is an attack, not a name.
MAX_POINTER_HOPS = 64


class DNSDecodeError(DNSFormatError, EOFError):
    """
    Bytes that are not a well-formed DNS message (or part of one).

    This is the only exception the decoders raise for bad input; a server
    answers it with FORMERR (or drops the datagram when not even the header
    could be read). It derives from :class:`EOFError` because Twisted's decoders
    raise that for truncated input and callers catch it.
    """


def _escapeLabel(label: bytes) -> bytes:
    return label.replace(b"\\", b"\\\\").replace(b".", b"\\.")


def _splitEscaped(name: bytes) -> list[bytes]:
    """Split a presentation name holding ``\\.`` or ``\\\\`` escapes into labels."""
    labels: list[bytes] = []
    cur = bytearray()
    i = 0
    n = len(name)
    while i < n:
        c = name[i]
        if c == 0x5C:  # backslash
            if i + 1 >= n:
                raise ValueError(f"dangling escape in name {name!r}")
            nxt = name[i + 1 : i + 4]
            if len(nxt) == 3 and nxt.isdigit():
                v = int(nxt)
                if v > 255:
                    raise ValueError(f"bad escape in name {name!r}")
                cur.append(v)
                i += 4
                continue
            cur.append(name[i + 1])
            i += 2
        elif c == 0x2E:  # dot
            labels.append(bytes(cur))
            cur = bytearray()
            i += 1
        else:
            cur.append(c)
            i += 1
    labels.append(bytes(cur))
    return labels


def nameToLabels(name: bytes) -> list[bytes]:
    """
    Split a name (``b"www.example.com"``, trailing dot optional) into labels.

    :raises ValueError: for empty labels, labels over 63 octets or names over 255.
    """
    if not name or name == b".":
        return []
    if b"\\" in name:
        labels = _splitEscaped(name)
    else:
        labels = name.split(b".")
    if not labels[-1]:
        labels.pop()
    total = 1
    for label in labels:
        ln = len(label)
        if ln == 0:
            raise ValueError(f"empty label in name {name!r}")
        if ln > MAX_LABEL_LENGTH:
            raise ValueError(f"label longer than 63 octets in name {name!r}")
        total += ln + 1
    if total > MAX_NAME_LENGTH:
        raise ValueError(f"name longer than 255 octets: {name!r}")
    return labels


def _toBytes(name: str | bytes) -> bytes:
    if isinstance(name, bytes):
        return name
    try:
        return name.encode("ascii")
    except UnicodeEncodeError:
        import idna

        return b".".join(
            idna.encode(label, uts46=True) if label else b"" for label in name.split(".")
        )


class Name:
    """
    A domain name, compared and hashed case-insensitively.

    :ivar name: the name in presentation form without the trailing dot
        (``b"www.example.com"``; ``b""`` is the root). Labels holding a dot or a
        backslash are escaped (``\\.``, ``\\\\``) so every wire name round-trips.
    """

    __slots__ = ("_key", "name")

    name: bytes
    _key: bytes

    def __init__(self, name: bytes | str | Name = b"") -> None:
        if isinstance(name, Name):
            self.name = name.name
            self._key = name._key
            return
        b = _toBytes(name)
        if b.endswith(b".") and not b.endswith(b"\\."):
            b = b[:-1]
        self.name = b
        self._key = b.lower()

    def encode(self, strio: IO[bytes], compDict: dict[bytes, int] | None = None) -> None:
        """
        Write this name to a file, compressing against ``compDict`` when given.

        :param strio: where to write; its ``tell()`` is the offset in the message.
        :param compDict: name suffix -> offset of names already in the message.
        """
        w = Writer(strio.tell(), compDict, compDict is not None)
        w.writeName(self.name)
        strio.write(bytes(w.buf))

    def decode(self, strio: IO[bytes], length: int | None = None) -> None:
        """
        Read a name from a file holding the whole message (for pointers).

        :raises DNSDecodeError: for a malformed name.
        """
        buf, off = _fileView(strio)
        name, end = readName(buf, off)
        strio.seek(end)
        self.name = name
        self._key = name.lower()

    def isSubdomainOf(self, other: bytes | str | Name) -> bool:
        """
        :return: whether this name equals ``other`` or lies below it.
        """
        if isinstance(other, Name):
            o = other._key
        elif isinstance(other, bytes) and not other.endswith(b"."):
            o = other.lower()
        else:
            o = Name(other)._key
        if not o:
            return True
        k = self._key
        return k == o or (k.endswith(o) and k[-len(o) - 1 : -len(o)] == b".")

    def labels(self) -> list[bytes]:
        """:return: the labels, unescaped, most specific first."""
        return nameToLabels(self.name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Name):
            return self._key == other._key
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Name):
            return self._key != other._key
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key)

    def __str__(self) -> str:
        return self.name.decode("ascii", "backslashreplace")

    def __bytes__(self) -> bytes:
        return self.name

    def __repr__(self) -> str:
        return f"Name({self.name!r})"

    def __len__(self) -> int:
        return len(self.name)


def _fileView(strio: IO[bytes]) -> tuple[bytes, int]:
    """Return the whole message behind ``strio`` and the current offset in it."""
    off = strio.tell()
    getvalue = getattr(strio, "getvalue", None)
    if getvalue is not None:
        return getvalue(), off
    strio.seek(0)
    data = strio.read()
    return data, off


def readName(buf: bytes, off: int) -> tuple[bytes, int]:
    """
    Read a possibly compressed name from a message.

    Every pointer must point before the start of the run of labels that holds
    it, so the offsets visited strictly decrease: loops are impossible and a
    chain ends within the message. Hops, label and name lengths are limited too.

    :param buf: the whole message.
    :param off: where the name starts.
    :return: the name (presentation form, no trailing dot) and the offset
        just past it in ``buf``.
    :raises DNSDecodeError: for any malformed name.
    """
    labels: list[bytes] = []
    total = 1
    end = -1
    blen = len(buf)
    segStart = off
    hops = 0
    while True:
        if off >= blen:
            raise DNSDecodeError("name runs past the end of the message")
        ln = buf[off]
        if ln == 0:
            off += 1
            break
        if ln <= MAX_LABEL_LENGTH:
            s = off + 1
            off = s + ln
            if off > blen:
                raise DNSDecodeError("label runs past the end of the message")
            total += ln + 1
            if total > MAX_NAME_LENGTH:
                raise DNSDecodeError("name longer than 255 octets")
            labels.append(buf[s:off])
        elif ln >= 0xC0:
            if off + 1 >= blen:
                raise DNSDecodeError("compression pointer runs past the end of the message")
            ptr = ((ln & 0x3F) << 8) | buf[off + 1]
            if end < 0:
                end = off + 2
            if ptr >= segStart:
                raise DNSDecodeError("compression pointer does not point backwards")
            hops += 1
            if hops > MAX_POINTER_HOPS:
                raise DNSDecodeError("too many compression pointers in one name")
            off = segStart = ptr
        else:
            raise DNSDecodeError(f"unsupported label type 0x{ln:02x}")
    if end < 0:
        end = off
    name = b".".join(labels)
    if b"\\" in name or name.count(b".") != len(labels) - 1 and labels:
        name = b".".join(_escapeLabel(label) for label in labels)
    return name, end


#: name -> (lower-cased suffix keys, wire form of each label), for names seen lately.
_PLANS: dict[bytes, tuple[tuple[bytes, ...], tuple[bytes, ...]]] = {}
_MAX_PLANS = 4096


def _plan(name: bytes) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """
    :return: the compression keys of every suffix of ``name`` and its labels
        in wire form, validated once and remembered.
    :raises ValueError: for a name that is not valid on the wire.
    """
    plan = _PLANS.get(name)
    if plan is not None:
        return plan
    labels = nameToLabels(name)
    escaped = [_escapeLabel(x) for x in labels]
    keys = tuple(b".".join(escaped[i:]).lower() for i in range(len(labels)))
    wire = tuple(bytes((len(x),)) + x for x in labels)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    plan = _PLANS[name] = (keys, wire)
    return plan


class Writer:
    """
    An output buffer for one message, with its compression table.

    :ivar buf: the bytes written so far.
    :ivar base: offset of ``buf[0]`` within the message (non-zero only when
        Twisted-style ``encode(strio, compDict)`` writes into the middle of one).
    :ivar comp: lower-cased name suffix -> offset where it was written.
    """

    __slots__ = ("base", "buf", "comp", "compress")

    def __init__(
        self, base: int = 0, comp: dict[bytes, int] | None = None, compress: bool = True
    ) -> None:
        self.buf = bytearray()
        self.base = base
        self.comp: dict[bytes, int] = {} if comp is None else comp
        #: False: never write pointers (standalone RDATA, Twisted's compDict=None).
        self.compress = compress

    def writeName(self, name: bytes, compress: bool = True) -> None:
        """
        Append a name, using compression pointers when ``compress``.

        Suffixes are recorded either way, so later names may point here.

        :raises ValueError: for a name that is not valid on the wire.
        """
        buf = self.buf
        if not name:
            buf.append(0)
            return
        comp = self.comp
        compress = compress and self.compress
        keys, wire = _plan(name)
        base = self.base
        for i, key in enumerate(keys):
            if compress:
                ptr = comp.get(key)
                if ptr is not None:
                    buf += (0xC000 | ptr).to_bytes(2, "big")
                    return
            pos = base + len(buf)
            if pos < 0x4000 and key not in comp:
                comp[key] = pos
            buf += wire[i]
        buf.append(0)
