"""SASL mechanisms for XMPP clients: ANONYMOUS (RFC 4505), PLAIN (RFC 4616), and SCRAM-SHA-1 /
SCRAM-SHA-256 (RFC 5802, RFC 7677) with optional ``tls-server-end-point`` channel binding
(RFC 5929) as the ``-PLUS`` variants. Each is pure: bytes of the server's challenges in,
responses out; no I/O.

DIGEST-MD5 (RFC 2831, Twisted's default) is here for servers that offer nothing better; RFC
6331 moved it to Historic, so the initializer uses it only when asked to
(``SASLInitiatingInitializer.allowDigestMD5``), and after SCRAM. Unlike Twisted's, it checks
the server's ``rspauth`` (the server's proof that it knows the password).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from zope.interface import Attribute, Interface, implementer

from glisten.internet.ssl import signatureAlgorithm
from glisten.words.protocols.jabber._precis import PrecisError, prepareResource

__all__ = [
    "Anonymous",
    "DigestMD5",
    "ISASLMechanism",
    "Plain",
    "SASLMechanismError",
    "Scram",
    "ScramSHA1",
    "ScramSHA256",
    "tlsServerEndPoint",
]

#: Iteration counts above this are refused: a server must not make the client burn minutes.
MAX_SCRAM_ITERATIONS = 1_000_000


class SASLMechanismError(Exception):
    """The server's messages break the mechanism (or fail to prove the server knows the
    password); authentication must stop. The message never echoes the server's bytes."""


class ISASLMechanism(Interface):
    """A client-side SASL mechanism."""

    name = Attribute("the mechanism's registered name")

    def getInitialResponse() -> bytes | None:
        """:return: the initial response, or None when the mechanism has none."""

    def getResponse(challenge: bytes) -> bytes | None:
        """:return: the response to a server challenge."""


@implementer(ISASLMechanism)
class Anonymous:
    """ANONYMOUS: no credentials."""

    name = "ANONYMOUS"

    def getInitialResponse(self) -> bytes | None:
        return None

    def getResponse(self, challenge: bytes) -> bytes | None:
        return None


@implementer(ISASLMechanism)
class Plain:
    """PLAIN: the password in clear, so only ever over TLS (the initializer enforces it).

    :param authzid: the identity to act as (None: the authentication identity).
    :param authcid: the user name.
    :param password: the password.
    """

    name = "PLAIN"

    def __init__(self, authzid: str | None, authcid: str, password: str) -> None:
        self.authzid = authzid or ""
        self.authcid = authcid or ""
        self.password = password or ""

    def getInitialResponse(self) -> bytes:
        return b"\x00".join(s.encode("utf-8") for s in (self.authzid, self.authcid, self.password))

    def getResponse(self, challenge: bytes) -> bytes | None:
        return None


# Signature algorithms and the hash RFC 5929 section 4.1 says tls-server-end-point uses.
_SIGNATURE_HASHES = {
    "1.2.840.113549.1.1.4": "sha256",  # md5WithRSAEncryption: MD5 is replaced by SHA-256
    "1.2.840.113549.1.1.5": "sha256",  # sha1WithRSAEncryption: SHA-1 is replaced by SHA-256
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.10045.4.1": "sha256",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}


def tlsServerEndPoint(certificate: bytes) -> bytes | None:
    """The ``tls-server-end-point`` channel binding data of a server certificate (RFC 5929):
    its DER hashed with its signature's hash (SHA-256 for MD5 and SHA-1).

    :param certificate: the server certificate, DER.
    :return: the binding data, or None when the signature algorithm has no defined hash
        (RSASSA-PSS, EdDSA) or the certificate cannot be read.
    """
    try:
        oid = signatureAlgorithm(certificate)
    except ValueError:
        return None
    hashName = _SIGNATURE_HASHES.get(oid)
    if hashName is None:
        return None
    return hashlib.new(hashName, certificate).digest()


def _saslname(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _parseAttributes(message: bytes) -> dict[str, str]:
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise SASLMechanismError("the server's SCRAM message is not UTF-8") from None
    attributes: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if len(key) != 1 or not eq or key in attributes:
            raise SASLMechanismError("the server's SCRAM message is malformed")
        attributes[key] = value
    return attributes


@implementer(ISASLMechanism)
class Scram:
    """SCRAM (RFC 5802) with the given hash, optionally channel-bound.

    :param hashName: ``sha1`` or ``sha256``.
    :param authzid: the identity to act as (None: the authentication identity).
    :param authcid: the user name.
    :param password: the password (prepared with the OpaqueString profile).
    :param channelBinding: ``(type, data)`` to bind to (the ``-PLUS`` variant), or None.
    :param bindingSupported: without ``channelBinding``, whether this client could bind
        (``y`` in the GS2 header: the server offered no ``-PLUS`` mechanism it could use).
    :param nonce: the client nonce (random by default; tests set it).
    """

    def __init__(
        self,
        hashName: str,
        authzid: str | None,
        authcid: str,
        password: str,
        channelBinding: tuple[str, bytes] | None = None,
        bindingSupported: bool = False,
        nonce: str | None = None,
    ) -> None:
        if hashName not in ("sha1", "sha256"):
            raise ValueError("SCRAM uses sha1 or sha256")
        self.hashName = hashName
        base = "SCRAM-SHA-1" if hashName == "sha1" else "SCRAM-SHA-256"
        self.name = base + "-PLUS" if channelBinding else base
        try:
            self._password = prepareResource(password).encode("utf-8")
        except PrecisError:
            raise ValueError("the password contains characters SCRAM cannot use") from None
        if channelBinding is not None:
            flag = f"p={channelBinding[0]}"
            self._cbData = channelBinding[1]
        else:
            flag = "y" if bindingSupported else "n"
            self._cbData = b""
        authz = f"a={_saslname(authzid)}" if authzid else ""
        self._gs2 = f"{flag},{authz},".encode()
        self._nonce = nonce or base64.b64encode(secrets.token_bytes(24)).decode("ascii")
        self._firstBare = f"n={_saslname(authcid)},r={self._nonce}".encode()
        self._serverSignature: bytes | None = None
        self._verified = False
        self._step = 0

    def _hmac(self, key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, self.hashName).digest()

    def getInitialResponse(self) -> bytes:
        self._step = 1
        return self._gs2 + self._firstBare

    def getResponse(self, challenge: bytes) -> bytes | None:
        if self._step == 1:
            self._step = 2
            return self._clientFinal(challenge)
        if self._step == 2:
            # Some servers send the server-final message as a challenge.
            self.verifySuccess(challenge)
            self._step = 3
            return b""
        raise SASLMechanismError("unexpected SCRAM challenge")

    def _clientFinal(self, serverFirst: bytes) -> bytes:
        attributes = _parseAttributes(serverFirst)
        if "m" in attributes:
            raise SASLMechanismError("the server asks for a SCRAM extension")
        nonce = attributes.get("r", "")
        if not nonce.startswith(self._nonce) or len(nonce) == len(self._nonce):
            raise SASLMechanismError("the server's SCRAM nonce does not extend the client's")
        try:
            salt = base64.b64decode(attributes.get("s", ""), validate=True)
            iterations = int(attributes.get("i", ""))
        except ValueError:
            raise SASLMechanismError(
                "the server's SCRAM salt or iteration count is invalid"
            ) from None
        if not salt or not 0 < iterations <= MAX_SCRAM_ITERATIONS:
            raise SASLMechanismError("the server's SCRAM salt or iteration count is invalid")
        binding = base64.b64encode(self._gs2 + self._cbData).decode("ascii")
        withoutProof = f"c={binding},r={nonce}".encode()
        salted = hashlib.pbkdf2_hmac(self.hashName, self._password, salt, iterations)
        clientKey = self._hmac(salted, b"Client Key")
        storedKey = hashlib.new(self.hashName, clientKey).digest()
        authMessage = self._firstBare + b"," + serverFirst + b"," + withoutProof
        signature = self._hmac(storedKey, authMessage)
        proof = bytes(a ^ b for a, b in zip(clientKey, signature, strict=True))
        self._serverSignature = self._hmac(self._hmac(salted, b"Server Key"), authMessage)
        return withoutProof + b",p=" + base64.b64encode(proof)

    def verifySuccess(self, data: bytes | None) -> None:
        """Check the server-final message (sent with ``<success/>`` or as a last challenge):
        the server must prove it knows the password too.

        :raises SASLMechanismError: the proof is missing or wrong, or the server reports an
            error.
        """
        if self._verified and not data:
            return
        if self._serverSignature is None or not data:
            raise SASLMechanismError("the server did not prove it knows the password")
        attributes = _parseAttributes(data)
        if "e" in attributes:
            raise SASLMechanismError("the server reported a SCRAM error")
        try:
            verifier = base64.b64decode(attributes.get("v", ""), validate=True)
        except ValueError:
            raise SASLMechanismError("the server's SCRAM verifier is invalid") from None
        if not hmac.compare_digest(verifier, self._serverSignature):
            raise SASLMechanismError("the server's SCRAM signature is wrong")
        self._verified = True


class ScramSHA1(Scram):
    """SCRAM-SHA-1 (and -PLUS with ``channelBinding``)."""

    def __init__(self, authzid: str | None, authcid: str, password: str, **kwargs: object):
        Scram.__init__(self, "sha1", authzid, authcid, password, **kwargs)  # type: ignore[arg-type]


class ScramSHA256(Scram):
    """SCRAM-SHA-256 (and -PLUS with ``channelBinding``)."""

    def __init__(self, authzid: str | None, authcid: str, password: str, **kwargs: object):
        Scram.__init__(self, "sha256", authzid, authcid, password, **kwargs)  # type: ignore[arg-type]


#: Bounds on a DIGEST-MD5 challenge: its directives and the length of each value.
_MAX_DIGEST_DIRECTIVES = 32
_MAX_DIGEST_VALUE = 1024


def _parseDirectives(challenge: bytes) -> dict[str, list[str]]:
    """Parse RFC 2831 ``name=value`` / ``name="quoted\\ value"`` directives separated by
    commas (and optional white space); a name may repeat (``realm``)."""
    try:
        text = challenge.decode("utf-8")
    except UnicodeDecodeError:
        raise SASLMechanismError("the server's DIGEST-MD5 challenge is not UTF-8") from None
    directives: dict[str, list[str]] = {}
    pos, end, count = 0, len(text), 0
    while pos < end:
        while pos < end and text[pos] in " \t,":
            pos += 1
        if pos == end:
            break
        eq = text.find("=", pos)
        if eq < 0:
            raise SASLMechanismError("the server's DIGEST-MD5 challenge is malformed")
        name = text[pos:eq].strip().lower()
        pos = eq + 1
        if pos < end and text[pos] == '"':
            pos += 1
            value: list[str] = []
            while True:
                if pos >= end:
                    raise SASLMechanismError("the server's DIGEST-MD5 challenge is malformed")
                char = text[pos]
                if char == "\\" and pos + 1 < end:
                    value.append(text[pos + 1])
                    pos += 2
                elif char == '"':
                    pos += 1
                    break
                else:
                    value.append(char)
                    pos += 1
            item = "".join(value)
        else:
            comma = text.find(",", pos)
            comma = end if comma < 0 else comma
            item = text[pos:comma].strip()
            pos = comma
        count += 1
        if not name or count > _MAX_DIGEST_DIRECTIVES or len(item) > _MAX_DIGEST_VALUE:
            raise SASLMechanismError("the server's DIGEST-MD5 challenge is malformed")
        directives.setdefault(name, []).append(item)
    return directives


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@implementer(ISASLMechanism)
class DigestMD5:
    """DIGEST-MD5 (RFC 2831) with ``qop=auth``: the password never crosses the wire, but the
    server must keep it (or an MD5 of it) in a form that logs anyone in, which is why RFC 6331
    retired it. Twisted's signature.

    :param serv_type: the service, ``xmpp``.
    :param host: the server's host name, for ``digest-uri``.
    :param serv_name: the service name when it differs from ``host`` (None: the same).
    :param username: the user name (the JID's localpart).
    :param password: the password.
    :param cnonce: the client nonce (random by default; tests set it).
    """

    name = "DIGEST-MD5"

    def __init__(
        self,
        serv_type: str,
        host: str,
        serv_name: str | None,
        username: str,
        password: str,
        cnonce: str | None = None,
    ) -> None:
        self.defaultRealm = host
        self.digestURI = f"{serv_type}/{host}"
        if serv_name is not None and serv_name != host:
            self.digestURI += f"/{serv_name}"
        self.username = username
        self.password = password
        self._cnonce = cnonce or secrets.token_hex(16)
        self._expected: bytes | None = None
        self._verified = False

    def getInitialResponse(self) -> None:
        return None

    def _hex(self, a1: bytes, nonce: str, qop: str, a2: str) -> bytes:
        ha1 = hashlib.md5(a1).hexdigest()
        ha2 = hashlib.md5(a2.encode("utf-8")).hexdigest()
        kd = f"{ha1}:{nonce}:00000001:{self._cnonce}:{qop}:{ha2}"
        return hashlib.md5(kd.encode("utf-8")).hexdigest().encode("ascii")

    def getResponse(self, challenge: bytes) -> bytes:
        directives = _parseDirectives(challenge)
        if "rspauth" in directives:
            self.verifySuccess(challenge)
            return b""
        if self._expected is not None:
            raise SASLMechanismError("unexpected DIGEST-MD5 challenge")
        nonce = directives.get("nonce", [""])
        if len(nonce) != 1 or not nonce[0]:
            raise SASLMechanismError("the server's DIGEST-MD5 challenge has no single nonce")
        qops = {q.strip() for v in directives.get("qop", ["auth"]) for q in v.split(",")}
        if "auth" not in qops:
            raise SASLMechanismError("the server offers no DIGEST-MD5 quality of protection")
        if directives.get("algorithm") != ["md5-sess"]:
            raise SASLMechanismError("the server's DIGEST-MD5 algorithm is not md5-sess")
        realm = directives.get("realm", [self.defaultRealm])[0]
        utf8 = directives.get("charset") == ["utf-8"]
        encoding = "utf-8" if utf8 else "iso-8859-1"
        try:
            secret = f"{self.username}:{realm}:{self.password}".encode(encoding)
        except UnicodeEncodeError:
            raise SASLMechanismError(
                "the credentials need UTF-8, which the server does not offer"
            ) from None
        a1 = hashlib.md5(secret).digest() + f":{nonce[0]}:{self._cnonce}".encode()
        response = self._hex(a1, nonce[0], "auth", f"AUTHENTICATE:{self.digestURI}")
        self._expected = self._hex(a1, nonce[0], "auth", f":{self.digestURI}")
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(realm)}",
            f"nonce={_quote(nonce[0])}",
            f"cnonce={_quote(self._cnonce)}",
            "nc=00000001",
            "qop=auth",
            f"digest-uri={_quote(self.digestURI)}",
            "response=" + response.decode("ascii"),
        ]
        if utf8:
            parts.append("charset=utf-8")
        return ",".join(parts).encode(encoding)

    def verifySuccess(self, data: bytes | None) -> None:
        """Check the server's ``rspauth`` (sent as a last challenge or with ``<success/>``).

        :raises SASLMechanismError: it is missing or wrong.
        """
        if self._verified and not data:
            return
        if self._expected is None or not data:
            raise SASLMechanismError("the server did not prove it knows the password")
        rspauth = _parseDirectives(data).get("rspauth", [""])
        if len(rspauth) != 1 or not hmac.compare_digest(
            rspauth[0].encode("utf-8", "replace"), self._expected
        ):
            raise SASLMechanismError("the server's DIGEST-MD5 rspauth is wrong")
        self._verified = True
