"""HTTP Digest authentication (RFC 7616): :class:`DigestCredentialFactory` and the
:class:`DigestedCredentials` it makes.

The server keeps no state per challenge: the ``opaque`` value carries the nonce, the client's
address and the time, authenticated with a per-factory secret key, so a response is accepted
only for a challenge this factory issued to that address within
:attr:`DigestCredentialFactory.CHALLENGE_LIFETIME_SECS`. Every comparison of secrets is
constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Callable

from zope.interface import Attribute, implementer

from glisten.cred import credentials, error
from glisten.web._auth._challenge import AuthHeaderError, parseParams
from glisten.web.iweb import ICredentialFactory, IRequest

_HASHES: dict[bytes, Callable[[bytes], bytes]] = {
    b"md5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest().encode("ascii"),
    b"sha-256": lambda data: hashlib.sha256(data).hexdigest().encode("ascii"),
}


def _algorithm(name: bytes) -> tuple[Callable[[bytes], bytes], bool]:
    """The hash of an RFC 7616 algorithm name and whether it is a ``-sess`` variant."""
    name = name.lower()
    sess = name.endswith(b"-sess")
    base = name[: -len(b"-sess")] if sess else name
    if base not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {name!r}")
    return _HASHES[base], sess


def calcHA1(
    pszAlg: bytes,
    pszUserName: bytes,
    pszRealm: bytes,
    pszPassword: bytes | None,
    pszNonce: bytes,
    pszCNonce: bytes,
    preHA1: bytes | None = None,
) -> bytes:
    """HA1 of RFC 7616 section 3.4.2, from the password or an already computed
    ``H(user:realm:password)`` (``preHA1``)."""
    digest, sess = _algorithm(pszAlg)
    if preHA1 is None:
        if pszPassword is None:
            raise TypeError("give a password or preHA1")
        ha1 = digest(b":".join((pszUserName, pszRealm, pszPassword)))
    else:
        ha1 = preHA1
    if sess:
        ha1 = digest(b":".join((ha1, pszNonce, pszCNonce)))
    return ha1


def calcHA2(algo: bytes, pszMethod: bytes, pszDigestUri: bytes) -> bytes:
    """HA2 for ``qop=auth`` (or no qop): ``H(method:uri)``."""
    digest, _ = _algorithm(algo)
    return digest(pszMethod + b":" + pszDigestUri)


def calcResponse(
    HA1: bytes,
    HA2: bytes,
    algo: bytes,
    pszNonce: bytes,
    pszNonceCount: bytes | None,
    pszCNonce: bytes | None,
    pszQop: bytes | None,
) -> bytes:
    """The expected ``response`` value of RFC 7616 section 3.4.1."""
    digest, _ = _algorithm(algo)
    if pszQop:
        if pszNonceCount is None or pszCNonce is None:
            raise ValueError("qop needs nc and cnonce")
        return digest(b":".join((HA1, pszNonce, pszNonceCount, pszCNonce, pszQop, HA2)))
    return digest(b":".join((HA1, pszNonce, HA2)))


class IUsernameDigestHash(credentials.ICredentials):
    """Digest credentials that can also be checked against a stored
    ``H(username:realm:password)`` instead of the password."""

    username = Attribute("The username.")

    def checkHash(digestHash: bytes) -> bool:
        """Whether the response matches a user whose HA1 is ``digestHash``."""


@implementer(credentials.IUsernameHashedPassword, IUsernameDigestHash)
class DigestedCredentials:
    """The answer to a Digest challenge, checked against a password or an HA1.

    :param username: The user the client claims to be.
    :param method: The request method (part of what was hashed).
    :param realm: The realm of the challenge.
    :param fields: The parameters of the client's header.
    """

    def __init__(
        self, username: bytes, method: bytes, realm: bytes, fields: dict[bytes, bytes]
    ) -> None:
        self.username = username
        self.method = method
        self.realm = realm
        self.fields = fields

    def _expected(self, password: bytes | None, preHA1: bytes | None) -> bytes:
        fields = self.fields
        algo = fields.get(b"algorithm", b"md5")
        nonce = fields[b"nonce"]
        cnonce = fields.get(b"cnonce", b"")
        ha1 = calcHA1(algo, self.username, self.realm, password, nonce, cnonce, preHA1)
        ha2 = calcHA2(algo, self.method, fields[b"uri"])
        return calcResponse(
            ha1, ha2, algo, nonce, fields.get(b"nc"), fields.get(b"cnonce"), fields.get(b"qop")
        )

    def checkPassword(self, password: bytes | str) -> bool:
        """Whether the client's response was computed from ``password`` (constant-time)."""
        raw = password.encode("utf-8") if isinstance(password, str) else password
        return hmac.compare_digest(self._expected(raw, None), self.fields[b"response"].lower())

    def checkHash(self, digestHash: bytes) -> bool:
        """Whether the client's response matches the HA1 ``digestHash`` (constant-time)."""
        return hmac.compare_digest(
            self._expected(None, digestHash.lower()), self.fields[b"response"].lower()
        )


@implementer(ICredentialFactory)
class DigestCredentialFactory:
    """Issues Digest challenges and checks the answers' freshness.

    :param algorithm: ``b"md5"``, ``b"md5-sess"``, ``b"sha-256"`` or ``b"sha-256-sess"``.
    :param authenticationRealm: The realm the challenge names.
    :param clock: The time source, for tests; :func:`time.time` by default.
    """

    scheme = b"digest"
    #: How long a challenge may be answered, in seconds.
    CHALLENGE_LIFETIME_SECS = 15 * 60

    def __init__(
        self,
        algorithm: bytes | str,
        authenticationRealm: bytes | str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.algorithm = algorithm.encode("ascii") if isinstance(algorithm, str) else algorithm
        _algorithm(self.algorithm)
        self.authenticationRealm = (
            authenticationRealm.encode("utf-8")
            if isinstance(authenticationRealm, str)
            else authenticationRealm
        )
        self.privateKey = os.urandom(32)
        self._clock = clock

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self.privateKey, payload, hashlib.sha256).hexdigest().encode("ascii")

    def _clientAddress(self, request: IRequest) -> bytes:
        return (request.getClientIP() or "").encode("ascii", "replace")

    def _generateOpaque(self, nonce: bytes, clientip: bytes) -> bytes:
        payload = b",".join((nonce, clientip, b"%d" % int(self._clock())))
        return base64.urlsafe_b64encode(payload) + b"-" + self._sign(payload)

    def getChallenge(self, request: IRequest) -> dict[str, bytes | str]:
        """A fresh challenge: nonce, opaque, realm, algorithm and ``qop="auth"``."""
        nonce = os.urandom(16).hex().encode("ascii")
        return {
            "realm": self.authenticationRealm,
            "nonce": nonce,
            "opaque": self._generateOpaque(nonce, self._clientAddress(request)),
            "qop": "auth",
            "algorithm": self.algorithm.upper(),
        }

    def _verifyOpaque(self, opaque: bytes, nonce: bytes, clientip: bytes) -> None:
        encoded, sep, signature = opaque.rpartition(b"-")
        if not sep:
            raise error.LoginFailed("Invalid response, invalid opaque value")
        try:
            payload = base64.urlsafe_b64decode(encoded)
        except (binascii.Error, ValueError):
            raise error.LoginFailed("Invalid response, invalid opaque value") from None
        if not hmac.compare_digest(self._sign(payload), signature):
            raise error.LoginFailed("Invalid response, invalid opaque value")
        parts = payload.split(b",")
        if len(parts) != 3:
            raise error.LoginFailed("Invalid response, invalid opaque value")
        if not hmac.compare_digest(parts[0], nonce):
            raise error.LoginFailed("Invalid response, incompatible opaque/nonce values")
        if parts[1] != clientip:
            raise error.LoginFailed("Invalid response, incompatible opaque/nonce values")
        try:
            issued = int(parts[2])
        except ValueError:
            raise error.LoginFailed("Invalid response, invalid opaque value") from None
        age = self._clock() - issued
        if age < 0 or age > self.CHALLENGE_LIFETIME_SECS:
            raise error.LoginFailed("Invalid response, incompatible opaque/nonce too old")

    def decode(self, response: bytes, request: IRequest) -> DigestedCredentials:
        """The credentials in ``response`` (what follows ``Digest``).

        :raises glisten.cred.error.LoginFailed: It is malformed, answers no challenge of this
            factory, answers it from another address or too late, names another realm,
            algorithm or request target, or asks for a protection this server does not offer.
        """
        try:
            fields = parseParams(response)
        except AuthHeaderError:
            raise error.LoginFailed("Invalid response, malformed parameters") from None
        for required in (b"username", b"realm", b"nonce", b"uri", b"response", b"opaque"):
            if required not in fields:
                raise error.LoginFailed(f"Invalid response, no {required.decode()} field")
        if fields[b"realm"] != self.authenticationRealm:
            raise error.LoginFailed("Invalid response, wrong realm")
        if fields.get(b"algorithm", b"md5").lower() != self.algorithm.lower():
            raise error.LoginFailed("Invalid response, wrong algorithm")
        qop = fields.get(b"qop")
        if qop is not None and (
            qop.lower() != b"auth" or b"nc" not in fields or b"cnonce" not in fields
        ):
            raise error.LoginFailed("Invalid response, unsupported qop")
        # The hashed target must be the one requested, or a response to one request could
        # be replayed for another (RFC 7616 section 3.4.6).
        if fields[b"uri"] != request.uri:
            raise error.LoginFailed("Invalid response, wrong uri")
        self._verifyOpaque(fields[b"opaque"], fields[b"nonce"], self._clientAddress(request))
        return DigestedCredentials(
            fields[b"username"], request.method, self.authenticationRealm, fields
        )
