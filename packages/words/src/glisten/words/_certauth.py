"""Logging in with a TLS client certificate (SASL EXTERNAL on the IRC server): the
credentials and a checker that maps certificate fingerprints to accounts. Re-exported by
:mod:`glisten.words.service`."""

from __future__ import annotations

from typing import Any

import attrs
from zope.interface import implementer

from glisten.cred.checkers import ICredentialsChecker
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.defer import Deferred, fail, succeed
from glisten.words import iwords

__all__ = ["CertificateFingerprintChecker", "ClientCertificate", "certificateFingerprint"]


def certificateFingerprint(certificate: Any) -> str:
    """A certificate's SHA-256 fingerprint as :class:`CertificateFingerprintChecker` keys it:
    lower-case hex without colons (``openssl x509 -fingerprint -sha256`` output also works
    as a key: it is normalised the same way)."""
    return _normalFingerprint(certificate.digest("sha256").decode("ascii"))


def _normalFingerprint(text: str) -> str:
    return text.replace(":", "").strip().lower()


@implementer(iwords.IClientCertificate)
@attrs.frozen
class ClientCertificate:
    """Credentials from a verified TLS client certificate (SASL EXTERNAL).

    :ivar certificate: the peer's certificate.
    :ivar authzid: the account asked for, or None.
    """

    certificate: Any
    authzid: str | None = None

    @property
    def fingerprint(self) -> str:
        return certificateFingerprint(self.certificate)


@implementer(ICredentialsChecker)
class CertificateFingerprintChecker:
    """Maps client certificate fingerprints (SHA-256) to account names, for SASL EXTERNAL.

    :param fingerprints: fingerprint to account name; fingerprints in any case, with or
        without colons.
    """

    credentialInterfaces = (iwords.IClientCertificate,)

    def __init__(self, fingerprints: dict[str, str]) -> None:
        self.fingerprints = {_normalFingerprint(f): name for f, name in fingerprints.items()}

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        """The account whose certificate the client showed.

        :return: a Deferred firing with the account name; it fails with ``UnauthorizedLogin``
            for an unknown certificate or an ``authzid`` naming another account.
        """
        name = self.fingerprints.get(credentials.fingerprint)
        if name is None or credentials.authzid not in (None, "", name):
            return fail(UnauthorizedLogin())
        return succeed(name)
