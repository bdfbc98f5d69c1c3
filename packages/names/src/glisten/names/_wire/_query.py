"""The common query shape: one question, nothing else but an OPT record.

A stub resolver's query is almost always 12 octets of header, one
uncompressed question and at most an EDNS(0) OPT record. :func:`parseQuery`
recognises exactly that shape and returns ``None`` for anything else, so the
caller hands the datagram to the full decoder (:meth:`Message.fromBytes`),
which accepts or rejects it: this module never decides that a message is
malformed, it only declines to handle it.

:func:`encodeSections` encodes an authority's answer (answer, authority and
additional sections) as it would follow a question for the given name at
offset 12; compression offsets depend only on the question name's label
lengths, so the octets are the same whatever letter case the client used and
can be reused by an authority (see ``FileAuthority._wireAnswer``).
:func:`buildResponse` puts header, the client's own question, those octets
and the OPT record together exactly as :meth:`Message.toStr` would.
"""

from __future__ import annotations

from collections.abc import Iterable

from glisten.names._wire._message import _HEADER, _QFIXED, MAX_EDNS_OPTIONS, RRHeader
from glisten.names._wire._name import MAX_LABEL_LENGTH, MAX_NAME_LENGTH, Writer

__all__ = ["SimpleQuery", "buildResponse", "encodeSections", "parseQuery"]

#: qdcount 1, ancount 0, nscount 0, arcount 0 / 1.
_COUNTS_PLAIN = b"\x00\x01\x00\x00\x00\x00\x00\x00"
_COUNTS_OPT = b"\x00\x01\x00\x00\x00\x00\x00\x01"

#: (flags, end of the question, lower-cased name key, qtype, qclass,
#: answer size limit, DO bit set or ``None`` without EDNS).
SimpleQuery = tuple[int, int, bytes, int, int, int, bool | None]


#: Wire form of a question name -> its lower-cased key, for names seen lately.
_KEYS: dict[bytes, bytes] = {}
_MAX_KEYS = 4096


def _nameKey(wire: bytes) -> bytes | None:
    """
    :param wire: the octets of a question name, root label included.
    :return: the name's lower-cased key when ``wire`` is exactly one
        uncompressed name of at most 255 octets with no label holding ``.``
        or ``\\``; ``None`` otherwise.
    """
    key = _KEYS.get(wire)
    if key is not None:
        return key
    n = len(wire)
    if not 0 < n <= MAX_NAME_LENGTH or wire[-1] != 0:
        return None
    off = 0
    labels = []
    while True:
        ln = wire[off]
        if ln == 0:
            break
        if ln > MAX_LABEL_LENGTH:
            return None
        s = off + 1
        off = s + ln
        if off >= n:
            return None
        labels.append(wire[s:off])
    if off != n - 1:
        return None
    name = b".".join(labels)
    if b"\\" in name or name.count(b".") != len(labels) - 1 and labels:
        return None
    if len(_KEYS) >= _MAX_KEYS:
        _KEYS.clear()
    key = _KEYS[wire] = name.lower()
    return key


def _nameEnd(data: bytes) -> int:
    """:return: the offset just past the question name at 12 (or past ``data``)."""
    off = 12
    n = len(data)
    while off < n:
        ln = data[off]
        if ln == 0:
            return off + 1
        if ln > MAX_LABEL_LENGTH:
            return n + 1
        off += ln + 1
    return n + 1


def parseQuery(data: bytes) -> SimpleQuery | None:
    """
    Recognise a plain standard query.

    :return: the query's parts when ``data`` is a standard query (QR 0,
        opcode 0) with exactly one question whose name is uncompressed and
        has no label holding ``.`` or ``\\``, no answer or authority records
        and either no additional record or one well-formed EDNS version 0
        OPT record, ending exactly at the end of ``data``; ``None`` for
        anything else (which the full decoder must judge).
    """
    n = len(data)
    if n < 17 or data[2] & 0xF8:
        return None
    counts = data[4:12]
    if counts == _COUNTS_PLAIN:
        # Without an OPT record the question ends the message.
        qend = n
        key = _nameKey(data[12 : n - 4])
        if key is None:
            return None
        return (
            (data[2] << 8) | data[3],
            qend,
            key,
            data[n - 4] << 8 | data[n - 3],
            data[n - 2] << 8 | data[n - 1],
            512,
            None,
        )
    if counts != _COUNTS_OPT:
        return None
    if data[n - 11 : n - 8] == b"\x00\x00\x29" and data[n - 2] == 0 and data[n - 1] == 0:
        # The usual OPT record, without options, ends the message.
        off = n - 11
    else:
        off = _nameEnd(data) + 4
        if off + 11 > n or data[off] != 0 or data[off + 1] != 0 or data[off + 2] != 41:
            return None
    key = _nameKey(data[12 : off - 4])
    if key is None:
        return None
    qend = off
    # The OPT record: root owner, type 41, payload size, ext-rcode, version, flags, rdlen.
    if data[off + 6] != 0:
        return None  # EDNS version other than 0: BADVERS from the full path
    payload = (data[off + 3] << 8) | data[off + 4]
    do = bool(data[off + 7] & 0x80)
    rdlen = (data[off + 9] << 8) | data[off + 10]
    off += 11
    end = off + rdlen
    if end != n:
        return None
    options = 0
    while off < end:
        if end - off < 4:
            return None
        off += 4 + ((data[off + 2] << 8) | data[off + 3])
        if off > end:
            return None
        options += 1
        if options > MAX_EDNS_OPTIONS:
            return None
    limit = min(max(512, payload), 4096)
    return (
        (data[2] << 8) | data[3],
        qend,
        key,
        data[qend - 4] << 8 | data[qend - 3],
        data[qend - 2] << 8 | data[qend - 1],
        limit,
        do,
    )


def encodeSections(key: bytes, qtype: int, qcls: int, records: Iterable[RRHeader]) -> bytes:
    """
    :return: ``records`` encoded as they follow a question for ``key`` at
        offset 12, compressed against it and each other.
    :raises ValueError: for a record that cannot be encoded, or an answer
        larger than a message can hold.
    """
    w = Writer()
    buf = w.buf
    buf += b"\0" * 12
    w.writeName(key)
    buf += _QFIXED.pack(qtype, qcls)
    start = len(buf)
    for rr in records:
        rr._write(w)
    if len(buf) > 65535:
        raise ValueError("answer larger than a DNS message")
    return bytes(buf[start:])


def buildResponse(
    data: bytes,
    query: SimpleQuery,
    rCode: int,
    aa: int,
    ra: int,
    counts: tuple[int, int, int],
    body: bytes,
    maxSize: int | None = None,
) -> bytes | None:
    """
    :param data: the query datagram (its id and question are copied).
    :param query: what :func:`parseQuery` made of it.
    :param rCode: the response code (0..15).
    :param aa: the AA bit.
    :param ra: the RA bit.
    :param counts: answer, authority and additional record counts of ``body``.
    :param body: the sections, from :func:`encodeSections`.
    :param maxSize: the size limit when not the client's UDP limit (TCP: 65535).
    :return: the response, or ``None`` when it does not fit the limit (the
        full path then truncates it at record boundaries).
    """
    flags, qend, _, _, _, limit, do = query
    size = qend + len(body)
    if do is not None:
        size += 11
    if size > (limit if maxSize is None else maxSize):
        return None
    an, ns, ar = counts
    header = _HEADER.pack(
        (data[0] << 8) | data[1],
        0x8000 | aa << 10 | (flags & 0x100) | ra << 7 | (flags & 0x10) | rCode,
        1,
        an,
        ns,
        ar if do is None else ar + 1,
    )
    if do is None:
        return header + data[12:qend] + body
    return header + data[12:qend] + body + _opt(limit, do)


#: (payload size, DO bit) -> the OPT record answering with them (RFC 6891 6.1.3).
_OPTS: dict[tuple[int, bool], bytes] = {}


def _opt(limit: int, do: bool) -> bytes:
    rr = _OPTS.get((limit, do))
    if rr is None:
        flags = b"\x80\x00" if do else b"\x00\x00"
        rr = _OPTS[limit, do] = (
            b"\x00\x00\x29" + limit.to_bytes(2, "big") + b"\x00\x00" + flags + b"\x00\x00"
        )
    return rr
