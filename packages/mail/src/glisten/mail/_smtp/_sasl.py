"""SASL pieces of SMTP AUTH (RFC 4954): PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time

#: Mechanisms in the order a client prefers them.
CLIENT_PREFERENCE = ("CRAM-MD5", "PLAIN", "LOGIN")
MECHANISMS = frozenset(CLIENT_PREFERENCE)


def b64decode(data: bytes) -> bytes | None:
    """Strict base64 (no stray characters); ``None`` if malformed."""
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def b64encode(data: bytes) -> bytes:
    return base64.b64encode(data)


def parsePlain(data: bytes) -> tuple[bytes, bytes] | None:
    """``authzid NUL authcid NUL passwd`` -> ``(authcid, passwd)``; an authorization identity
    other than the authentication one is refused (no impersonation)."""
    parts = data.split(b"\x00")
    if len(parts) != 3 or not parts[1]:
        return None
    authzid, authcid, password = parts
    if authzid and authzid != authcid:
        return None
    return authcid, password


def cramChallenge(hostname: bytes) -> bytes:
    """A fresh RFC 2195 challenge: ``<random.time@hostname>``."""
    return b"<%d.%d@%s>" % (int.from_bytes(os.urandom(8), "big"), int(time.time()), hostname)


def cramResponse(username: bytes, password: bytes, challenge: bytes) -> bytes:
    """The client's answer to a CRAM-MD5 challenge: ``username SP hex-hmac-md5``."""
    digest = hmac.new(password, challenge, hashlib.md5).hexdigest().encode("ascii")
    return username + b" " + digest


def cramVerify(password: bytes, challenge: bytes, response: bytes) -> bool:
    """Check a CRAM-MD5 digest in constant time."""
    expected = hmac.new(password, challenge, hashlib.md5).hexdigest().encode("ascii")
    return hmac.compare_digest(expected, response.lower())
