"""
TLS for glisten, on the standard library's ``ssl`` module (no pyOpenSSL).

Use :func:`optionsForClientTLS` for clients (it verifies the server's certificate chain against
the platform's authorities and its host name) and :class:`CertificateOptions` or
:meth:`PrivateCertificate.options` for servers; hand either to ``reactor.connectSSL``,
``reactor.listenSSL``, ``transport.startTLS`` or :class:`glisten.protocols.tls.TLSMemoryBIOFactory`.
"""

from __future__ import annotations

import ssl as _stdlib_ssl
from typing import Any

from zope.interface import implementer

from glisten.internet._sslder import signatureAlgorithm
from glisten.internet._sslverify import (
    DN,
    FILETYPE_ASN1,
    FILETYPE_PEM,
    Certificate,
    CertificateOptions,
    CertificateRequest,
    ClientTLSOptions,
    DistinguishedName,
    IOpenSSLClientConnectionCreator,
    IOpenSSLContextFactory,
    IOpenSSLServerConnectionCreator,
    IOpenSSLTrustRoot,
    KeyPair,
    OpenSSLAcceptableCiphers,
    OpenSSLCertificateAuthorities,
    OpenSSLDefaultPaths,
    PrivateCertificate,
    ProtocolNegotiationSupport,
    TLSVersion,
    VerifyError,
    optionsForClientTLS,
    platformTrust,
    protocolNegotiationMechanisms,
    trustRootFromCertificates,
)

__all__ = [
    "FILETYPE_ASN1",
    "FILETYPE_PEM",
    "Certificate",
    "CertificateOptions",
    "CertificateRequest",
    "ClientContextFactory",
    "ClientTLSOptions",
    "DN",
    "ContextFactory",
    "DefaultOpenSSLContextFactory",
    "DistinguishedName",
    "IOpenSSLClientConnectionCreator",
    "IOpenSSLContextFactory",
    "IOpenSSLServerConnectionCreator",
    "IOpenSSLTrustRoot",
    "KeyPair",
    "signatureAlgorithm",
    "OpenSSLAcceptableCiphers",
    "OpenSSLCertificateAuthorities",
    "OpenSSLDefaultPaths",
    "PrivateCertificate",
    "ProtocolNegotiationSupport",
    "SSLObject",
    "TLSVersion",
    "VerifyError",
    "optionsForClientTLS",
    "platformTrust",
    "protocolNegotiationMechanisms",
    "trustRootFromCertificates",
]

#: Twisted's name for a TLS connection object; in glisten it is :class:`ssl.SSLObject`.
SSLObject = _stdlib_ssl.SSLObject


@implementer(IOpenSSLContextFactory)
class ContextFactory:
    """
    Base class for server context factories: subclasses override :meth:`getContext`.
    """

    isClient = 0

    def getContext(self) -> _stdlib_ssl.SSLContext:
        raise NotImplementedError(f"{type(self).__name__} must implement getContext")


class DefaultOpenSSLContextFactory(ContextFactory):
    """
    A server context from a private key file and a certificate (chain) file.
    """

    def __init__(self, privateKeyFileName: str, certificateFileName: str) -> None:
        """
        :param privateKeyFileName: PEM private key file.
        :param certificateFileName: PEM certificate file, optionally followed by intermediates.
        :raises ssl.SSLError: if the files cannot be loaded or do not match.
        """
        self.privateKeyFileName = privateKeyFileName
        self.certificateFileName = certificateFileName
        ctx = _stdlib_ssl.SSLContext(_stdlib_ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = TLSVersion.TLSv1_2
        ctx.load_cert_chain(certificateFileName, privateKeyFileName)
        self._context = ctx

    def getContext(self) -> _stdlib_ssl.SSLContext:
        return self._context


@implementer(IOpenSSLClientConnectionCreator)
class ClientContextFactory:
    """
    A client context that does NOT verify the server. Kept for ported code; prefer
    :func:`optionsForClientTLS`, which does.
    """

    isClient = 1

    def __init__(self) -> None:
        self._options = CertificateOptions()

    def getContext(self) -> _stdlib_ssl.SSLContext:
        return self._options.getClientContext()

    def clientConnectionForTLS(self, tlsProtocol: Any) -> _stdlib_ssl.SSLObject:
        return self._options.clientConnectionForTLS(tlsProtocol)
