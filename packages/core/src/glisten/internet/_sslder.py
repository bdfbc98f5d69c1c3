"""
A minimal DER reader for the few X.509 certificate fields glisten exposes.

The standard library's ``ssl`` module verifies certificates but only decodes a peer's
certificate after a handshake; :class:`glisten.internet.ssl.Certificate` also needs the subject,
issuer, serial number and validity of certificates loaded from files. This module reads just
those fields from the DER bytes (RFC 5280 section 4.1, X.690 DER) without any third-party
dependency. Everything malformed raises :class:`ValueError`; nothing else is raised.
"""

from __future__ import annotations

import datetime

import attrs

__all__ = ["NAME_OIDS", "TBSFields", "parseCertificate", "signatureAlgorithm"]

#: Short names (as used by OpenSSL and Twisted's DistinguishedName) of the RFC 5280 name OIDs.
NAME_OIDS: dict[str, str] = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.42": "givenName",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.25": "domainComponent",
}

_MAX_DEPTH = 16
_SEQUENCE = 0x30
_SET = 0x31
_INTEGER = 0x02
_OID = 0x06
_UTCTIME = 0x17
_GENERALIZEDTIME = 0x18


@attrs.frozen
class TBSFields:
    """
    The fields of a certificate's ``tbsCertificate`` that glisten reads.

    :ivar serialNumber: the serial number.
    :ivar issuer: the issuer name as ``(attribute name, value)`` pairs in order.
    :ivar subject: the subject name as ``(attribute name, value)`` pairs in order.
    :ivar notBefore: start of validity (UTC).
    :ivar notAfter: end of validity (UTC).
    """

    serialNumber: int
    issuer: tuple[tuple[str, str], ...]
    subject: tuple[tuple[str, str], ...]
    notBefore: datetime.datetime
    notAfter: datetime.datetime


def _readTLV(data: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """
    Read one DER tag and length.

    :return: ``(tag, contentStart, contentEnd)``.
    :raises ValueError: on truncated or non-DER encodings.
    """
    if offset + 2 > end:
        raise ValueError("truncated DER element")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tags are not used in certificates")
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ValueError("unsupported DER length")
        if offset + count > end:
            raise ValueError("truncated DER length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    if offset + length > end:
        raise ValueError("DER element longer than its container")
    return tag, offset, offset + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        tag, cstart, cend = _readTLV(data, start, end)
        out.append((tag, cstart, cend))
        start = cend
    return out


def _decodeOID(raw: bytes) -> str:
    if not raw:
        raise ValueError("empty OID")
    parts: list[int] = []
    value = 0
    for byte in raw:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    if raw[-1] & 0x80:
        raise ValueError("truncated OID")
    first = parts[0]
    head = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    return ".".join(str(p) for p in head + parts[1:])


def _decodeString(tag: int, raw: bytes) -> str:
    try:
        if tag in (0x0C,):  # UTF8String
            return raw.decode("utf-8")
        if tag in (0x13, 0x16, 0x12, 0x1A):  # Printable, IA5, Numeric, Visible
            return raw.decode("ascii")
        if tag == 0x14:  # T61String: treated as Latin-1, as OpenSSL does
            return raw.decode("latin-1")
        if tag == 0x1E:  # BMPString
            return raw.decode("utf-16-be")
        if tag == 0x1C:  # UniversalString
            return raw.decode("utf-32-be")
    except UnicodeDecodeError as e:
        raise ValueError(f"badly encoded name attribute: {e}") from None
    return raw.hex()


def _decodeName(data: bytes, start: int, end: int) -> tuple[tuple[str, str], ...]:
    out = []
    for tag, s, e in _children(data, start, end):
        if tag != _SET:
            raise ValueError("name component is not a SET")
        for atag, a, b in _children(data, s, e):
            if atag != _SEQUENCE:
                raise ValueError("name attribute is not a SEQUENCE")
            parts = _children(data, a, b)
            if len(parts) != 2 or parts[0][0] != _OID:
                raise ValueError("malformed name attribute")
            oid = _decodeOID(data[parts[0][1] : parts[0][2]])
            vtag, vs, ve = parts[1]
            out.append((NAME_OIDS.get(oid, oid), _decodeString(vtag, data[vs:ve])))
    return tuple(out)


def _decodeTime(tag: int, raw: bytes) -> datetime.datetime:
    try:
        text = raw.decode("ascii")
        if tag == _UTCTIME:
            parsed = datetime.datetime.strptime(text, "%y%m%d%H%M%SZ")
        elif tag == _GENERALIZEDTIME:
            parsed = datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ")
        else:
            raise ValueError("validity time has the wrong type")
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"bad validity time: {e}") from None
    return parsed.replace(tzinfo=datetime.UTC)


def parseCertificate(der: bytes) -> TBSFields:
    """
    Read serial number, issuer, subject and validity from a DER certificate.

    :param der: one DER-encoded X.509 certificate.
    :return: the fields.
    :raises ValueError: if ``der`` is not a well-formed certificate.
    """
    tag, start, end = _readTLV(der, 0, len(der))
    if tag != _SEQUENCE or end != len(der):
        raise ValueError("certificate is not one DER SEQUENCE")
    tbsTag, tbsStart, tbsEnd = _readTLV(der, start, end)
    if tbsTag != _SEQUENCE:
        raise ValueError("tbsCertificate is not a SEQUENCE")
    fields = _children(der, tbsStart, tbsEnd)
    if fields and fields[0][0] == 0xA0:  # [0] EXPLICIT version
        fields = fields[1:]
    if len(fields) < 5:
        raise ValueError("tbsCertificate is missing fields")
    (stag, ss, se), (_, _, _), (itag, is_, ie), (vtag, vs, ve), (subtag, subs, sube) = fields[:5]
    if stag != _INTEGER or itag != _SEQUENCE or vtag != _SEQUENCE or subtag != _SEQUENCE:
        raise ValueError("tbsCertificate fields have the wrong types")
    validity = _children(der, vs, ve)
    if len(validity) != 2:
        raise ValueError("validity must hold two times")
    return TBSFields(
        serialNumber=int.from_bytes(der[ss:se], "big", signed=True),
        issuer=_decodeName(der, is_, ie),
        subject=_decodeName(der, subs, sube),
        notBefore=_decodeTime(validity[0][0], der[validity[0][1] : validity[0][2]]),
        notAfter=_decodeTime(validity[1][0], der[validity[1][1] : validity[1][2]]),
    )


def signatureAlgorithm(der: bytes) -> str:
    """
    The OID of a certificate's signature algorithm (``signatureAlgorithm``, RFC 5280 section
    4.1.1.2), for channel bindings that hash the certificate with it (RFC 5929).

    :param der: one DER-encoded X.509 certificate.
    :return: the dotted OID, e.g. ``"1.2.840.113549.1.1.11"`` (sha256WithRSAEncryption).
    :raises ValueError: if ``der`` is not a well-formed certificate.
    """
    tag, start, end = _readTLV(der, 0, len(der))
    if tag != _SEQUENCE:
        raise ValueError("certificate is not a DER SEQUENCE")
    parts = _children(der, start, end)
    if len(parts) != 3 or parts[1][0] != _SEQUENCE:
        raise ValueError("certificate has no signature algorithm")
    _, algStart, algEnd = parts[1]
    tag, oidStart, oidEnd = _readTLV(der, algStart, algEnd)
    if tag != _OID:
        raise ValueError("signature algorithm is not an OID")
    return _decodeOID(der[oidStart:oidEnd])
