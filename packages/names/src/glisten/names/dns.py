"""
DNS wire format and protocols (Twisted's ``twisted.names.dns``).

The codec is sans-IO and strict: :meth:`Message.fromStr` either returns a
well-formed message or raises :class:`DNSDecodeError` (a
:class:`~glisten.names.error.DNSFormatError`), whatever the input.
"""

from __future__ import annotations

from glisten.names._protocol import DNSDatagramProtocol, DNSMixin, DNSProtocol
from glisten.names._wire._constants import *  # noqa: F403
from glisten.names._wire._constants import (
    EXT_QUERIES,
    OP_QUERY,
    QUERY_CLASSES,
    QUERY_TYPES,
    REV_CLASSES,
    REV_TYPES,
)
from glisten.names._wire._message import (
    MAX_UDP_PAYLOAD,
    Message,
    OPTHeader,
    OPTVariableOption,
    Query,
    RRHeader,
    lookupRecordType,
)
from glisten.names._wire._name import DNSDecodeError, Name, readName
from glisten.names._wire._records import (
    RECORD_TYPES,
    SVC_PARAM_KEYS,
    IEncodableRecord,
    Record_A,
    Record_A6,
    Record_AAAA,
    Record_AFSDB,
    Record_CAA,
    Record_CNAME,
    Record_DNAME,
    Record_HINFO,
    Record_HTTPS,
    Record_MB,
    Record_MD,
    Record_MF,
    Record_MG,
    Record_MINFO,
    Record_MR,
    Record_MX,
    Record_NAPTR,
    Record_NS,
    Record_NULL,
    Record_PTR,
    Record_RP,
    Record_SOA,
    Record_SPF,
    Record_SRV,
    Record_SSHFP,
    Record_SVCB,
    Record_TLSA,
    Record_TXT,
    Record_WKS,
    UnknownRecord,
    str2time,
)
from glisten.names.error import AuthoritativeDomainError, DomainError
from glisten.names.interfaces import IEncodable, IRecord


def domainString(domain: str | bytes) -> bytes:
    """:return: ``domain`` as the bytes glisten.names uses (IDNA for non-ASCII)."""
    return Name(domain).name


#: Twisted's private names for the EDNS(0) pieces, kept for ported code.
_OPTHeader = OPTHeader
_OPTVariableOption = OPTVariableOption


class _EDNSMessage(Message):
    """
    Twisted's ``_EDNSMessage``: a :class:`Message` with EDNS(0) on by default
    and sections given to the constructor (keyword order as in Twisted).
    """

    __slots__ = ()

    def __init__(
        self,
        id: int = 0,
        answer: bool = False,
        opCode: int = OP_QUERY,
        auth: bool = False,
        trunc: bool = False,
        recDes: bool = False,
        recAv: bool = False,
        rCode: int = 0,
        ednsVersion: int | None = 0,
        dnssecOK: bool = False,
        authenticData: bool = False,
        checkingDisabled: bool = False,
        maxSize: int = 512,
        queries: list[Query] | None = None,
        answers: list[RRHeader] | None = None,
        authority: list[RRHeader] | None = None,
        additional: list[RRHeader] | None = None,
    ) -> None:
        super().__init__(
            id,
            answer,
            opCode,
            recDes,
            recAv,
            auth,
            rCode,
            trunc,
            maxSize,
            authenticData,
            checkingDisabled,
            ednsVersion=ednsVersion,
            dnssecOK=dnssecOK,
        )
        self.queries = list(queries or [])
        self.answers = list(answers or [])
        self.authority = list(authority or [])
        self.additional = list(additional or [])


__all__ = [
    "EXT_QUERIES",
    "AuthoritativeDomainError",
    "DomainError",
    "MAX_UDP_PAYLOAD",
    "QUERY_CLASSES",
    "QUERY_TYPES",
    "RECORD_TYPES",
    "REV_CLASSES",
    "REV_TYPES",
    "SVC_PARAM_KEYS",
    "DNSDatagramProtocol",
    "DNSDecodeError",
    "DNSMixin",
    "DNSProtocol",
    "IEncodable",
    "IEncodableRecord",
    "IRecord",
    "Message",
    "Name",
    "OPTHeader",
    "OPTVariableOption",
    "Query",
    "RRHeader",
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
    "domainString",
    "lookupRecordType",
    "readName",
    "str2time",
]
