"""DNS numbers: record types, classes, opcodes and response codes (Twisted's names)."""

from __future__ import annotations

PORT = 53

# Record types (RFC 1035, 3596, 2782, 3403, 4255, 6698, 6844, 9460, 6891).
A = 1
NS = 2
MD = 3
MF = 4
CNAME = 5
SOA = 6
MB = 7
MG = 8
MR = 9
NULL = 10
WKS = 11
PTR = 12
HINFO = 13
MINFO = 14
MX = 15
TXT = 16
RP = 17
AFSDB = 18
AAAA = 28
SRV = 33
NAPTR = 35
A6 = 38
DNAME = 39
OPT = 41
DS = 43
SSHFP = 44
RRSIG = 46
NSEC = 47
DNSKEY = 48
TLSA = 52
SVCB = 64
HTTPS = 65
SPF = 99
CAA = 257

# Query-only types.
IXFR = 251
AXFR = 252
MAILB = 253
MAILA = 254
ALL_RECORDS = 255

QUERY_TYPES: dict[int, str] = {
    A: "A",
    NS: "NS",
    MD: "MD",
    MF: "MF",
    CNAME: "CNAME",
    SOA: "SOA",
    MB: "MB",
    MG: "MG",
    MR: "MR",
    NULL: "NULL",
    WKS: "WKS",
    PTR: "PTR",
    HINFO: "HINFO",
    MINFO: "MINFO",
    MX: "MX",
    TXT: "TXT",
    RP: "RP",
    AFSDB: "AFSDB",
    AAAA: "AAAA",
    SRV: "SRV",
    NAPTR: "NAPTR",
    A6: "A6",
    DNAME: "DNAME",
    OPT: "OPT",
    DS: "DS",
    SSHFP: "SSHFP",
    RRSIG: "RRSIG",
    NSEC: "NSEC",
    DNSKEY: "DNSKEY",
    TLSA: "TLSA",
    SVCB: "SVCB",
    HTTPS: "HTTPS",
    SPF: "SPF",
    CAA: "CAA",
}

EXT_QUERIES: dict[int, str] = {
    IXFR: "IXFR",
    AXFR: "AXFR",
    MAILB: "MAILB",
    MAILA: "MAILA",
    ALL_RECORDS: "ALL_RECORDS",
}

REV_TYPES: dict[str, int] = {v: k for k, v in {**QUERY_TYPES, **EXT_QUERIES}.items()}

# Classes.
IN = 1
CS = 2
CH = 3
HS = 4
NONE = 254
ANY = 255

QUERY_CLASSES: dict[int, str] = {IN: "IN", CS: "CS", CH: "CH", HS: "HS", ANY: "ANY"}
REV_CLASSES: dict[str, int] = {v: k for k, v in QUERY_CLASSES.items()}

# Opcodes.
OP_QUERY = 0
OP_INVERSE = 1
OP_STATUS = 2
OP_NOTIFY = 4
OP_UPDATE = 5

# Response codes.
OK = 0
EFORMAT = 1
ESERVER = 2
ENAME = 3
ENOTIMP = 4
EREFUSED = 5
EBADVERSION = 16
