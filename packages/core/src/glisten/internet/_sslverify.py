"""
Certificates, keys, trust roots and TLS options built on the standard library's ``ssl``.

glisten's TLS needs no pyOpenSSL and no ``cryptography``: certificates and keys are kept as
PEM/DER bytes, loaded into :class:`ssl.SSLContext` objects (through an anonymous memory file,
since ``SSLContext.load_cert_chain`` only reads paths), and connections are
:class:`ssl.SSLObject` instances on memory BIOs (see :mod:`glisten.protocols.tls`).

Unlike Twisted's ``CertificateOptions`` defaults of old, client connections made with
:func:`optionsForClientTLS` always verify the chain and the host name.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import enum
import hashlib
import ipaddress
import os
import re
import ssl
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import idna
from zope.interface import Interface, implementer

from glisten.internet._sslder import NAME_OIDS, parseCertificate

if TYPE_CHECKING:
    from glisten.protocols.tls import TLSMemoryBIOProtocol

__all__ = [
    "VerifyError",
    "FILETYPE_ASN1",
    "FILETYPE_PEM",
    "Certificate",
    "CertificateOptions",
    "CertificateRequest",
    "ClientTLSOptions",
    "DN",
    "DistinguishedName",
    "IOpenSSLClientConnectionCreator",
    "IOpenSSLContextFactory",
    "IOpenSSLServerConnectionCreator",
    "IOpenSSLTrustRoot",
    "KeyPair",
    "OpenSSLAcceptableCiphers",
    "OpenSSLCertificateAuthorities",
    "OpenSSLDefaultPaths",
    "PrivateCertificate",
    "ProtocolNegotiationSupport",
    "TLSVersion",
    "optionsForClientTLS",
    "platformTrust",
    "protocolNegotiationMechanisms",
    "trustRootFromCertificates",
]

#: Encoding selectors, with pyOpenSSL's values so ported code passing them keeps working.
FILETYPE_PEM = 1
FILETYPE_ASN1 = 2

#: TLS protocol versions; the member names match Twisted's ``TLSVersion`` constants.
TLSVersion = ssl.TLSVersion

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----\r?\n(.*?)-----END \1-----", re.DOTALL)
_MAX_PEM = 1 << 20
_KNOWN_NAMES = frozenset(NAME_OIDS.values())


# ---------------------------------------------------------------------------------------------
# Interfaces. (Twisted keeps these in twisted.internet.interfaces; glisten's take an
# ssl.SSLObject-based shape, so they live next to the code that provides them.)


class IOpenSSLContextFactory(Interface):
    """
    Something that can build an :class:`ssl.SSLContext` for server-side TLS.
    """

    def getContext() -> ssl.SSLContext:
        """
        :return: the server-side context.
        """


class IOpenSSLServerConnectionCreator(Interface):
    """
    Builds the server side of one TLS connection.
    """

    def serverConnectionForTLS(tlsProtocol: TLSMemoryBIOProtocol) -> ssl.SSLObject:
        """
        :param tlsProtocol: the protocol whose ``incomingBIO``/``outgoingBIO`` the connection
            must use (``context.wrap_bio(tlsProtocol.incomingBIO, tlsProtocol.outgoingBIO,
            server_side=True)``).
        :return: the TLS connection.
        """


class IOpenSSLClientConnectionCreator(Interface):
    """
    Builds the client side of one TLS connection.
    """

    def clientConnectionForTLS(tlsProtocol: TLSMemoryBIOProtocol) -> ssl.SSLObject:
        """
        :param tlsProtocol: the protocol whose ``incomingBIO``/``outgoingBIO`` the connection
            must use.
        :return: the TLS connection.
        """


class IOpenSSLTrustRoot(Interface):
    """
    A set of certificate authorities that can be added to a context.
    """

    def _addCACertsToContext(context: ssl.SSLContext) -> None:
        """
        Make ``context`` trust these authorities.
        """


# ---------------------------------------------------------------------------------------------
# PEM helpers


def _pemBlocks(data: bytes) -> Iterator[tuple[str, bytes]]:
    """
    Yield ``(label, der)`` for every PEM block in ``data``.

    :raises ValueError: on undecodable base64 or oversized input.
    """
    if len(data) > _MAX_PEM:
        raise ValueError("PEM data is too large")
    for match in _PEM_RE.finditer(data):
        body = b"".join(match.group(2).split())
        try:
            der = base64.b64decode(body, validate=True)
        except binascii.Error as e:
            raise ValueError(f"bad base64 in PEM {match.group(1).decode()} block: {e}") from None
        yield match.group(1).decode("ascii"), der


def _toPEM(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        f"-----BEGIN {label}-----\n".encode()
        + b"\n".join(lines)
        + f"\n-----END {label}-----\n".encode()
    )


def _asBytes(data: bytes | str) -> bytes:
    return data.encode("ascii") if isinstance(data, str) else data


@contextlib.contextmanager
def _memoryFile(data: bytes) -> Iterator[str]:
    """
    Give ``data`` a path for the duration of the block, without leaving key material on disk.

    ``SSLContext.load_cert_chain`` only reads files; a Linux ``memfd`` keeps the private key in
    memory. Elsewhere a file in a fresh 0700 directory is used and removed at once.
    """
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None and os.path.isdir("/proc/self/fd"):
        fd = memfd("glisten-tls", getattr(os, "MFD_CLOEXEC", 0))
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "chain.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        yield path


# ---------------------------------------------------------------------------------------------
# Certificates and keys


class DistinguishedName:
    """
    An X.509 name: attribute access by long name (``commonName``) or OpenSSL short name
    (``CN``), as Twisted's ``DistinguishedName``. Values are ``bytes`` (UTF-8), as in
    Twisted; ``str`` values given to the constructor are encoded.
    """

    _SHORT = {
        "CN": "commonName",
        "O": "organizationName",
        "OU": "organizationalUnitName",
        "L": "localityName",
        "ST": "stateOrProvinceName",
        "C": "countryName",
        "emailAddress": "emailAddress",
    }

    def __init__(self, pairs: Iterable[tuple[str, str | bytes]] = (), **kw: str | bytes) -> None:
        """
        :param pairs: ``(name, value)`` pairs in certificate order.
        :param kw: attributes by long or short name, as Twisted's ``DN(CN="x", O="y")``.
        """
        extra = tuple((self._SHORT.get(k, k), v) for k, v in kw.items())
        for name, _ in extra:
            if name not in _KNOWN_NAMES:
                raise TypeError(f"unknown distinguished name attribute {name!r}")
        self._pairs = tuple(
            (name, value.encode("utf-8") if isinstance(value, str) else bytes(value))
            for name, value in tuple(pairs) + extra
        )

    def __getattr__(self, name: str) -> bytes | None:
        name = self._SHORT.get(name, name)
        if name not in _KNOWN_NAMES and not any(key == name for key, _ in self._pairs):
            raise AttributeError(name)
        for key, value in self._pairs:
            if key == name:
                return value
        return None

    def __getitem__(self, name: str) -> bytes:
        value = self.__getattr__(name) if name in _KNOWN_NAMES or name in self._SHORT else None
        if value is None:
            raise KeyError(name)
        return value

    def items(self) -> tuple[tuple[str, bytes], ...]:
        """
        :return: the attributes as ``(name, value)`` pairs in certificate order.
        """
        return self._pairs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DistinguishedName):
            return NotImplemented
        return self._pairs == other._pairs

    def __hash__(self) -> int:
        return hash(self._pairs)

    def inspect(self) -> str:
        """
        :return: a readable multi-line rendering.
        """
        return "\n".join(f"{k}: {v.decode('utf-8', 'replace')}" for k, v in self._pairs)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._pairs)
        return f"<DN {inner}>"


#: Twisted's short name.
DN = DistinguishedName


class ProtocolNegotiationSupport(enum.Flag):
    """
    Which ways of negotiating an application protocol TLS offers here.
    """

    NOSUPPORT = 0
    NPN = 1
    ALPN = 2


def protocolNegotiationMechanisms() -> ProtocolNegotiationSupport:
    """
    :return: ``ALPN`` when the ssl module supports it (NPN is obsolete and never offered).
    """
    if ssl.HAS_ALPN:
        return ProtocolNegotiationSupport.ALPN
    return ProtocolNegotiationSupport.NOSUPPORT


@attrs.frozen
class OpenSSLAcceptableCiphers:
    """
    A cipher list for TLS 1.2 and below, as an OpenSSL cipher string. (TLS 1.3 suites are
    OpenSSL's defaults; the ssl module cannot change them.)
    """

    cipherString: str

    @classmethod
    def fromOpenSSLCipherString(cls, cipherString: str) -> OpenSSLAcceptableCiphers:
        """
        :raises ValueError: if OpenSSL selects no cipher from ``cipherString``.
        """
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).set_ciphers(cipherString)
        except ssl.SSLError as e:
            raise ValueError(f"no usable cipher in {cipherString!r}: {e}") from None
        return cls(cipherString)


class Certificate:
    """
    An X.509 certificate, held as its DER bytes.

    :ivar original: the DER encoding (Twisted kept a pyOpenSSL ``X509`` here).
    """

    def __init__(self, original: bytes) -> None:
        """
        :param original: the DER encoding.
        :raises ValueError: if it is not a certificate OpenSSL accepts.
        """
        self.original = bytes(original)
        self._fields = parseCertificate(self.original)
        check = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            check.load_verify_locations(cadata=self.original)
        except ssl.SSLError as e:
            raise ValueError(f"not a usable certificate: {e}") from None

    @classmethod
    def load(cls, requestData: bytes, format: int = FILETYPE_ASN1) -> Certificate:
        """
        :param requestData: the certificate in ``format``.
        :param format: :data:`FILETYPE_ASN1` (DER) or :data:`FILETYPE_PEM`.
        :raises ValueError: if ``requestData`` is not a certificate.
        """
        if format == FILETYPE_PEM:
            return cls.loadPEM(requestData)
        if format != FILETYPE_ASN1:
            raise ValueError(f"unknown certificate format {format!r}")
        return cls(requestData)

    @classmethod
    def loadPEM(cls, data: bytes | str) -> Certificate:
        """
        Load the first certificate found in PEM ``data``.

        :raises ValueError: if there is none.
        """
        for label, der in _pemBlocks(_asBytes(data)):
            if label in ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"):
                return cls(der)
        raise ValueError("no PEM CERTIFICATE block found")

    @classmethod
    def peerFromTransport(cls, transport: Any) -> Certificate | None:
        """
        :return: the certificate the peer of a TLS ``transport`` presented, or None.
        """
        cert: Certificate | None = transport.getPeerCertificate()
        return cert

    def dump(self, format: int = FILETYPE_ASN1) -> bytes:
        """
        :return: the certificate in ``format``.
        """
        if format == FILETYPE_PEM:
            return self.dumpPEM()
        return self.original

    def dumpPEM(self) -> bytes:
        """
        :return: the certificate as a PEM block.
        """
        return _toPEM("CERTIFICATE", self.original)

    def getSubject(self) -> DistinguishedName:
        """
        :return: the subject name.
        """
        return DistinguishedName(self._fields.subject)

    def getIssuer(self) -> DistinguishedName:
        """
        :return: the issuer name.
        """
        return DistinguishedName(self._fields.issuer)

    def serialNumber(self) -> int:
        """
        :return: the serial number.
        """
        return self._fields.serialNumber

    def notBefore(self) -> datetime.datetime:
        """
        :return: the start of the validity period (UTC).
        """
        return self._fields.notBefore

    def notAfter(self) -> datetime.datetime:
        """
        :return: the end of the validity period (UTC).
        """
        return self._fields.notAfter

    def digest(self, method: str = "sha256") -> bytes:
        """
        :param method: a :mod:`hashlib` algorithm name. (Twisted's default was MD5; glisten's
            is SHA-256 because MD5 fingerprints can be forged.)
        :return: the fingerprint as colon-separated upper-case hex, as OpenSSL prints it.
        """
        h = hashlib.new(method, self.original).hexdigest().upper()
        return ":".join(h[i : i + 2] for i in range(0, len(h), 2)).encode("ascii")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Certificate):
            return NotImplemented
        return self.original == other.original

    def __hash__(self) -> int:
        return hash(self.original)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} Subject={self.getSubject().commonName!r}>"


class VerifyError(Exception):
    """A certificate request was refused by the ``verifyDNCallback``."""


class CertificateRequest:
    """
    A certificate signing request (PKCS#10), held as DER; parsing needs ``glisten-core[tls]``.
    """

    def __init__(self, original: bytes) -> None:
        self.original = original

    @classmethod
    def load(cls, requestData: bytes, requestFormat: int = FILETYPE_ASN1) -> CertificateRequest:
        """
        :raises ValueError: the request is malformed or its signature does not verify.
        """
        from glisten.internet import _sslgen

        csr = _sslgen.loadRequest(requestData, pem=requestFormat == FILETYPE_PEM)
        from cryptography.hazmat.primitives import serialization

        request = cls(bytes(csr.public_bytes(serialization.Encoding.DER)))
        request._csr = csr
        return request

    def _parsed(self) -> Any:
        csr = getattr(self, "_csr", None)
        if csr is None:
            from glisten.internet import _sslgen

            csr = self._csr = _sslgen.loadRequest(self.original, pem=False)
        return csr

    def getSubject(self) -> DistinguishedName:
        """
        :return: the subject asked for.
        """
        from glisten.internet import _sslgen

        return DistinguishedName(_sslgen.requestSubject(self._parsed()))

    def dump(self, format: int = FILETYPE_ASN1) -> bytes:
        """
        :return: the request as DER (or PEM with :data:`FILETYPE_PEM`).
        """
        if format == FILETYPE_PEM:
            return _toPEM("CERTIFICATE REQUEST", self.original)
        return self.original


class KeyPair:
    """
    A private key, held as PEM.

    Loading and serving need nothing beyond the standard library. Making keys, requests and
    certificates (:meth:`generate`, :meth:`certificateRequest`, :meth:`signCertificateRequest`,
    :meth:`selfSignedCert`) needs the ``cryptography`` package: ``pip install
    'glisten-core[tls]'``; without it they raise an ImportError that says so.

    :ivar original: the PEM encoding.
    """

    _LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")

    def __init__(self, original: bytes) -> None:
        """
        :param original: one PEM private key block.
        :raises ValueError: if ``original`` holds no private key.
        """
        for label, der in _pemBlocks(original):
            if label in self._LABELS:
                self.original = _toPEM(label, der)
                self.encrypted = label == "ENCRYPTED PRIVATE KEY"
                return
        raise ValueError("no PEM private key block found")

    @classmethod
    def load(cls, data: bytes | str, format: int = FILETYPE_PEM) -> KeyPair:
        """
        :param data: the key; PEM, or PKCS#8 DER with :data:`FILETYPE_ASN1`.
        """
        if format == FILETYPE_ASN1:
            return cls(_toPEM("PRIVATE KEY", _asBytes(data)))
        return cls(_asBytes(data))

    def dump(self, format: int = FILETYPE_PEM) -> bytes:
        """
        :return: the key as PEM (the only format kept).
        """
        if format != FILETYPE_PEM:
            raise ValueError("keys can only be dumped as PEM")
        return self.original

    def __repr__(self) -> str:
        return "<KeyPair>"

    @classmethod
    def generate(cls, kind: int = 6, size: int = 2048) -> KeyPair:
        """
        Make a new private key.

        :param kind: ``TYPE_RSA`` (6, the default), ``TYPE_DSA`` (116) or ``TYPE_EC`` (408,
            P-256) from :mod:`glisten.internet._sslgen`.
        :param size: the key size in bits (RSA, DSA).
        :raises ImportError: ``glisten-core[tls]`` (cryptography) is not installed.
        """
        from glisten.internet import _sslgen

        return cls(_sslgen.generateKey(kind, size))

    def certificateRequest(
        self,
        distinguishedName: DistinguishedName,
        format: int = FILETYPE_ASN1,
        digestAlgorithm: str = "sha256",
    ) -> bytes:
        """
        A certificate signing request for this key.

        :param distinguishedName: the subject to ask for.
        :return: the request in ``format`` (DER by default).
        """
        from glisten.internet import _sslgen

        der = _sslgen.makeRequest(self.original, distinguishedName.items(), digestAlgorithm)
        return CertificateRequest(der).dump(format)

    def signCertificateRequest(
        self,
        issuerDistinguishedName: DistinguishedName,
        requestData: bytes,
        verifyDNCallback: Any,
        serialNumber: int,
        requestFormat: int = FILETYPE_ASN1,
        certificateFormat: int = FILETYPE_ASN1,
        secondsToExpiry: int = 60 * 60 * 24 * 365,
        digestAlgorithm: str = "sha256",
    ) -> Any:
        """
        Issue a certificate for a request, signed with this key as ``issuerDistinguishedName``.

        :param verifyDNCallback: called with the requested subject; a false answer (or a
            Deferred firing with one) refuses the request with :class:`VerifyError`.
        :return: the certificate in ``certificateFormat``, or a Deferred for it when
            ``verifyDNCallback`` returned a Deferred.
        :raises ValueError: the request is malformed or its signature does not verify.
        """
        from glisten.internet import _sslgen
        from glisten.internet.defer import Deferred

        request = CertificateRequest.load(requestData, requestFormat)
        dn = request.getSubject()
        answer = verifyDNCallback(dn)

        def verified(ok: Any) -> bytes:
            if not ok:
                raise VerifyError(f"DN callback {verifyDNCallback!r} rejected request DN {dn!r}")
            der = _sslgen.signRequest(
                self.original,
                issuerDistinguishedName.items(),
                request._parsed(),
                serialNumber,
                secondsToExpiry,
                digestAlgorithm,
            )
            return Certificate(der).dump(certificateFormat)

        if isinstance(answer, Deferred):
            return answer.addCallback(verified)
        return verified(answer)

    def newCertificate(self, newCertData: bytes, format: int = FILETYPE_ASN1) -> PrivateCertificate:
        """
        :return: the certificate ``newCertData`` (issued for this key) paired with this key.
        """
        return PrivateCertificate.load(newCertData, self, format)

    def selfSignedCert(self, serialNumber: int, **kw: str) -> PrivateCertificate:
        """
        A certificate for this key signed by itself, its subject and issuer ``DN(**kw)``.
        """
        dn = DistinguishedName([(DistinguishedName._SHORT.get(k, k), v) for k, v in kw.items()])
        request = self.certificateRequest(dn)
        der = self.signCertificateRequest(dn, request, lambda _: True, serialNumber)
        return self.newCertificate(der)


class PrivateCertificate(Certificate):
    """
    A certificate together with its private key.
    """

    privateKey: KeyPair

    def _setPrivateKey(self, privateKey: KeyPair) -> PrivateCertificate:
        self.privateKey = privateKey
        if not privateKey.encrypted:
            # Fail now, with a clear message, when the key does not belong to the certificate.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                _loadChain(ctx, self, privateKey, ())
            except ssl.SSLError as e:
                raise ValueError(f"private key does not match the certificate: {e}") from None
        return self

    @classmethod
    def loadPEM(cls, data: bytes | str) -> PrivateCertificate:
        """
        Load a certificate and its private key, both in PEM ``data``.

        :raises ValueError: if either is missing or they do not match.
        """
        raw = _asBytes(data)
        cert = cls(Certificate.loadPEM(raw).original)
        return cert._setPrivateKey(KeyPair(raw))

    @classmethod
    def load(  # type: ignore[override]
        cls, data: bytes, privateKey: KeyPair, format: int = FILETYPE_ASN1
    ) -> PrivateCertificate:
        """
        :param data: the certificate in ``format``.
        :param privateKey: its key.
        """
        return cls(Certificate.load(data, format).original)._setPrivateKey(privateKey)

    @classmethod
    def fromCertificateAndKeyPair(
        cls, certificateInstance: Certificate, privateKey: KeyPair
    ) -> PrivateCertificate:
        """
        :return: ``certificateInstance`` paired with ``privateKey``.
        """
        return cls(certificateInstance.original)._setPrivateKey(privateKey)

    def dumpPEM(self) -> bytes:
        """
        :return: the key followed by the certificate, both PEM.
        """
        return self.privateKey.dump(FILETYPE_PEM) + Certificate.dumpPEM(self)

    def options(self, *authorities: Certificate) -> CertificateOptions:
        """
        Server options presenting this certificate.

        :param authorities: if given, clients must present a certificate signed by one of them.
        """
        if authorities:
            return CertificateOptions(
                privateKey=self.privateKey,
                certificate=self,
                trustRoot=trustRootFromCertificates(authorities),
            )
        return CertificateOptions(privateKey=self.privateKey, certificate=self)


def _loadChain(
    ctx: ssl.SSLContext,
    certificate: Certificate,
    privateKey: KeyPair,
    extraCertChain: Sequence[Certificate],
    password: bytes | None = None,
) -> None:
    pem = certificate.dumpPEM() + b"".join(c.dumpPEM() for c in extraCertChain)
    with _memoryFile(pem + privateKey.original) as path:
        ctx.load_cert_chain(path, password=password)


# ---------------------------------------------------------------------------------------------
# Trust roots


@implementer(IOpenSSLTrustRoot)
class OpenSSLDefaultPaths:
    """
    Trust the platform's certificate authorities (OpenSSL's default store).
    """

    def _addCACertsToContext(self, context: ssl.SSLContext) -> None:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if not context.cert_store_stats().get("x509_ca"):
            context.set_default_verify_paths()


@implementer(IOpenSSLTrustRoot)
class OpenSSLCertificateAuthorities:
    """
    Trust exactly the given certificate authorities.
    """

    def __init__(self, caCerts: Sequence[Certificate]) -> None:
        self._caCerts = list(caCerts)

    def _addCACertsToContext(self, context: ssl.SSLContext) -> None:
        if self._caCerts:
            context.load_verify_locations(cadata=b"".join(c.original for c in self._caCerts))


def platformTrust() -> OpenSSLDefaultPaths:
    """
    :return: a trust root holding the platform's certificate authorities.
    """
    return OpenSSLDefaultPaths()


def trustRootFromCertificates(certificates: Iterable[Certificate]) -> OpenSSLCertificateAuthorities:
    """
    :param certificates: authorities (or self-signed leaves) to trust.
    :return: a trust root holding exactly these.
    :raises TypeError: if an element is not a :class:`Certificate`.
    """
    certs = list(certificates)
    for c in certs:
        if not isinstance(c, Certificate):
            raise TypeError(f"trustRootFromCertificates takes Certificates, not {c!r}")
    return OpenSSLCertificateAuthorities(certs)


def _asTrustRoot(trustRoot: object) -> Any:
    if trustRoot is None:
        return platformTrust()
    if isinstance(trustRoot, Certificate):
        return trustRootFromCertificates([trustRoot])
    if IOpenSSLTrustRoot.providedBy(trustRoot):
        return trustRoot
    raise TypeError(f"{trustRoot!r} is not a trust root (use trustRootFromCertificates)")


# ---------------------------------------------------------------------------------------------
# Options


@implementer(
    IOpenSSLContextFactory, IOpenSSLServerConnectionCreator, IOpenSSLClientConnectionCreator
)
class CertificateOptions:
    """
    TLS settings for servers and (unverified or custom-verified) clients.

    Defaults: TLS 1.2 minimum, the ``ssl`` module's secure cipher list, no session tickets,
    no client certificates requested.
    """

    def __init__(
        self,
        privateKey: KeyPair | None = None,
        certificate: Certificate | None = None,
        verify: bool = False,
        caCerts: Sequence[Certificate] | None = None,
        verifyDepth: int = 9,
        requireCertificate: bool = True,
        extraCertChain: Sequence[Certificate] | None = None,
        acceptableCiphers: str | OpenSSLAcceptableCiphers | None = None,
        trustRoot: object = None,
        acceptableProtocols: Sequence[bytes] | None = None,
        raiseMinimumTo: ssl.TLSVersion | None = None,
        insecurelyLowerMinimumTo: ssl.TLSVersion | None = None,
        lowerMaximumSecurityTo: ssl.TLSVersion | None = None,
        enableSessionTickets: bool = False,
        *,
        sniCertificates: Mapping[str, PrivateCertificate] | None = None,
    ) -> None:
        """
        :param privateKey: the key for ``certificate``.
        :param certificate: the certificate this side presents.
        :param verify: verify the peer's certificate (for a server: request one from clients).
            Implied by ``trustRoot``.
        :param caCerts: authorities to verify against when ``verify`` is set.
        :param requireCertificate: a server with ``verify`` rejects clients presenting none.
        :param extraCertChain: intermediate certificates sent after ``certificate``.
        :param acceptableCiphers: ciphers for TLS 1.2 and below (an OpenSSL cipher string or
            :class:`OpenSSLAcceptableCiphers`).
        :param trustRoot: an ``IOpenSSLTrustRoot`` (or a Certificate) to verify peers against.
        :param acceptableProtocols: ALPN protocol names, most preferred first.
        :param raiseMinimumTo: raise the minimum TLS version above TLS 1.2.
        :param insecurelyLowerMinimumTo: lower the minimum below TLS 1.2 (not recommended).
        :param lowerMaximumSecurityTo: cap the highest TLS version offered.
        :param enableSessionTickets: let servers issue session tickets.
        :param sniCertificates: for servers: a certificate (with key) per host name requested
            through server name indication; unknown or absent names get ``certificate``.
        :raises ValueError: on contradictory settings.
        """
        if (privateKey is None) != (certificate is None):
            raise ValueError("privateKey and certificate must be given together")
        if raiseMinimumTo is not None and insecurelyLowerMinimumTo is not None:
            raise ValueError("raiseMinimumTo and insecurelyLowerMinimumTo are exclusive")
        if trustRoot is not None:
            verify = True
            if caCerts:
                raise ValueError("give caCerts or trustRoot, not both")
        elif verify:
            trustRoot = trustRootFromCertificates(caCerts or ())
            if not caCerts:
                raise ValueError("verify=True needs caCerts or trustRoot")
        minimum = ssl.TLSVersion.TLSv1_2
        if raiseMinimumTo is not None:
            minimum = max(minimum, raiseMinimumTo)
        if insecurelyLowerMinimumTo is not None:
            minimum = insecurelyLowerMinimumTo
        if lowerMaximumSecurityTo is not None and lowerMaximumSecurityTo < minimum:
            raise ValueError("lowerMaximumSecurityTo is below the minimum version")
        for proto in acceptableProtocols or ():
            if not isinstance(proto, bytes) or not 0 < len(proto) < 256:
                raise ValueError(f"bad ALPN protocol name {proto!r}")
        self.privateKey = privateKey
        self.certificate = certificate
        self.verify = verify
        self.verifyDepth = verifyDepth
        self.requireCertificate = requireCertificate
        self.extraCertChain = list(extraCertChain or ())
        self.trustRoot = _asTrustRoot(trustRoot) if verify else None
        if isinstance(acceptableCiphers, OpenSSLAcceptableCiphers):
            acceptableCiphers = acceptableCiphers.cipherString
        self._acceptableCiphers = acceptableCiphers
        self._acceptableProtocols = list(acceptableProtocols or ())
        self._minimum = minimum
        self._maximum = lowerMaximumSecurityTo
        self._tickets = enableSessionTickets
        self._sni = {_normalizeHostname(k): v for k, v in (sniCertificates or {}).items()}
        self._serverContext: ssl.SSLContext | None = None
        self._clientContext: ssl.SSLContext | None = None

    def _configure(self, ctx: ssl.SSLContext) -> None:
        ctx.minimum_version = self._minimum
        if self._maximum is not None:
            ctx.maximum_version = self._maximum
        if self._acceptableCiphers is not None:
            ctx.set_ciphers(self._acceptableCiphers)
        if self._acceptableProtocols:
            ctx.set_alpn_protocols([p.decode("latin-1") for p in self._acceptableProtocols])
        if self.trustRoot is not None:
            self.trustRoot._addCACertsToContext(ctx)

    def _buildServerContext(self, certificate: Certificate | None, key: KeyPair | None) -> Any:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._configure(ctx)
        if not self._tickets:
            ctx.options |= ssl.OP_NO_TICKET
            ctx.num_tickets = 0
        if self.verify:
            ctx.verify_mode = ssl.CERT_REQUIRED if self.requireCertificate else ssl.CERT_OPTIONAL
        if certificate is not None and key is not None:
            _loadChain(ctx, certificate, key, self.extraCertChain)
        return ctx

    def getContext(self) -> ssl.SSLContext:
        """
        :return: the server-side context, built once and shared by every connection.
        """
        if self._serverContext is None:
            ctx = self._buildServerContext(self.certificate, self.privateKey)
            if self._sni:
                perName = {
                    name: self._buildServerContext(cert, cert.privateKey)
                    for name, cert in self._sni.items()
                }
                ctx.sni_callback = _sniCallback(perName)
            self._serverContext = ctx
        return self._serverContext

    def getClientContext(self) -> ssl.SSLContext:
        """
        :return: the client-side context (peer verification only if ``verify``; no host name
            check, which :func:`optionsForClientTLS` adds).
        """
        if self._clientContext is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_REQUIRED if self.verify else ssl.CERT_NONE
            self._configure(ctx)
            if self.certificate is not None and self.privateKey is not None:
                _loadChain(ctx, self.certificate, self.privateKey, self.extraCertChain)
            self._clientContext = ctx
        return self._clientContext

    def serverConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> ssl.SSLObject:
        return self.getContext().wrap_bio(
            tlsProtocol.incomingBIO, tlsProtocol.outgoingBIO, server_side=True
        )

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> ssl.SSLObject:
        return self.getClientContext().wrap_bio(
            tlsProtocol.incomingBIO, tlsProtocol.outgoingBIO, server_side=False
        )


def _sniCallback(
    perName: Mapping[str, ssl.SSLContext],
) -> Callable[[ssl.SSLObject, str | None, ssl.SSLContext], None]:
    def choose(obj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        if name is not None:
            chosen = perName.get(name.lower().rstrip("."))
            if chosen is not None:
                obj.context = chosen

    return choose


def _normalizeHostname(hostname: str) -> str:
    """
    :return: the ASCII (A-label) form of ``hostname`` (IDNA 2008 with UTS #46 mapping), or the
        address itself for IP literals.
    :raises ValueError: for names IDNA rejects.
    """
    if not isinstance(hostname, str):
        raise TypeError(f"host name must be str, not {type(hostname).__name__}")
    stripped = hostname.strip("[]")
    try:
        return str(ipaddress.ip_address(stripped))
    except ValueError:
        pass
    try:
        return idna.encode(hostname.rstrip("."), uts46=True).decode("ascii").lower()
    except idna.IDNAError as e:
        raise ValueError(f"invalid host name {hostname!r}: {e}") from None


@implementer(IOpenSSLClientConnectionCreator)
class ClientTLSOptions:
    """
    Client settings that verify the server's chain and host name (RFC 6125), with SNI.
    """

    def __init__(self, hostname: str, ctx: ssl.SSLContext) -> None:
        """
        :param hostname: the name (or IP address) the server must prove.
        :param ctx: a client context with ``check_hostname`` on.
        """
        self._hostname = _normalizeHostname(hostname)
        self._ctx = ctx

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> ssl.SSLObject:
        return self._ctx.wrap_bio(
            tlsProtocol.incomingBIO,
            tlsProtocol.outgoingBIO,
            server_side=False,
            server_hostname=self._hostname,
        )

    def getContext(self) -> ssl.SSLContext:
        """
        :return: the client context (shared; changing it affects every connection).
        """
        return self._ctx


def optionsForClientTLS(
    hostname: str,
    trustRoot: object = None,
    clientCertificate: PrivateCertificate | None = None,
    acceptableProtocols: Sequence[bytes] | None = None,
    *,
    extraCertificateOptions: Mapping[str, Any] | None = None,
) -> ClientTLSOptions:
    """
    Client TLS options that verify the server.

    :param hostname: the server's name (unicode; IDNA-encoded here) or IP address.
    :param trustRoot: authorities to trust; the platform store by default.
    :param clientCertificate: a certificate with key to present if the server asks.
    :param acceptableProtocols: ALPN protocol names, most preferred first.
    :param extraCertificateOptions: more :class:`CertificateOptions` keyword arguments.
    :raises TypeError: if ``hostname`` is bytes (Twisted's rule: the name must be text).
    """
    if not isinstance(hostname, str):
        raise TypeError(f"optionsForClientTLS requires text for host names, not {hostname!r}")
    extra = dict(extraCertificateOptions or {})
    for forbidden in ("trustRoot", "privateKey", "certificate", "acceptableProtocols"):
        if forbidden in extra:
            raise TypeError(f"pass {forbidden} as an argument, not in extraCertificateOptions")
    if clientCertificate is not None:
        extra["privateKey"] = clientCertificate.privateKey
        extra["certificate"] = clientCertificate
    options = CertificateOptions(
        trustRoot=_asTrustRoot(trustRoot), acceptableProtocols=acceptableProtocols, **extra
    )
    ctx = options.getClientContext()
    ctx.check_hostname = True
    return ClientTLSOptions(hostname, ctx)
