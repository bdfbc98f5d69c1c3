"""
Test support shared by every folder of glisten-core's tests.

Test modules are imported with ``--import-mode=importlib``, so they cannot import a helper
module by name; what is shared here reaches them as fixtures (some of which return helper
functions or classes):

``runUntil``
    ``runUntil(reactor, d, limit=10.0)``: run a not-yet-running reactor until the Deferred
    ``d`` fires (or until what ``d()`` returns fires, for a function called once the reactor
    runs) and return its result (or raise its failure).
``wait``
    ``wait(d, limit=30.0)``: ``runUntil`` bound to the ``reactor`` fixture of the test.
``issueCertificate``
    ``issueCertificate(cn, names, issuer=None, *, ca=False, notBefore=None, notAfter=None)``:
    a fresh key and X.509 certificate (a CA, a leaf with subject alternative names, an expired
    or a self-signed one), see :func:`_issue`.

The ``reactor`` fixture is the glisten pytest plugin's (fresh per test, kind from
``GLISTEN_REACTOR``, installed while the test runs, checked for leftovers and logged errors);
this file does not override it. A folder that needs reactors the plugin does not give (the
reactor tests want every kind in one run) makes them with
:func:`glisten.trial._driver.makeReactor`, the plugin's own factory, never with a copy of it.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from glisten.internet.defer import Deferred, maybeDeferred
from glisten.python.failure import Failure

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec


class ReactorTimedOut(AssertionError):
    """
    The safety limit of ``runUntil`` passed before the Deferred fired.
    """


def _runUntil(reactor: Any, d: Deferred[Any] | Callable[[], Any], limit: float = 10.0) -> Any:
    """
    Run ``reactor`` until ``d`` fires and return its result (raising its failure).

    The reactor is run even when ``d`` has already fired (it is started and stopped at once),
    so one call per reactor: reactors do not restart.

    :param d: the Deferred; or a function to call once the reactor runs, whose result (a
        Deferred or a plain value, or the exception it raises) is waited for instead.
    :param limit: a safety net against hangs in seconds (the test fails with
        :class:`ReactorTimedOut`), not a wait.
    """
    if not isinstance(d, Deferred):
        work = d
        d = Deferred()
        started = d

        def start() -> None:
            maybeDeferred(work).chainDeferred(started)

        reactor.callWhenRunning(start)
    results: list[Any] = []
    stopping = [False]

    def stop() -> None:
        if not stopping[0]:
            stopping[0] = True
            reactor.stop()

    def done(result: Any) -> None:
        results.append(result)
        if reactor.running:
            stop()
        else:
            reactor.callWhenRunning(stop)

    d.addBoth(done)

    def timedOut() -> None:
        results.append(Failure(ReactorTimedOut(f"the Deferred did not fire within {limit}s")))
        stop()

    safety = reactor.callLater(limit, timedOut)
    reactor.run(installSignalHandlers=False)
    if safety.active():
        safety.cancel()
    assert results, "reactor stopped before the Deferred fired"
    result = results[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


@pytest.fixture(scope="session")
def runUntil() -> Callable[..., Any]:
    """
    ``runUntil(reactor, d, limit=10.0)``, see :func:`_runUntil`. Session-scoped (it holds no
    state) so that Hypothesis tests may use it too.
    """
    return _runUntil


@pytest.fixture
def wait(reactor: Any) -> Callable[..., Any]:
    """
    ``wait(d, limit=30.0)``: run the test's ``reactor`` until ``d`` fires (at most ``limit``
    seconds, a guard against hangs) and return its result or raise its failure. One call per
    test: reactors do not restart.
    """

    def wait(d: Deferred[Any], limit: float = 30.0) -> Any:
        return _runUntil(reactor, d, limit)

    return wait


_NOW = datetime.datetime.now(datetime.UTC)


@attrs.frozen
class Issued:
    """
    A certificate and its private key, in PEM.
    """

    certPEM: bytes
    keyPEM: bytes

    @property
    def bothPEM(self) -> bytes:
        return self.certPEM + self.keyPEM

    def writeTo(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """
        Write ``<stem>.key`` and ``<stem>.crt`` into ``directory``.

        :return: the key's path and the certificate's path.
        """
        keyPath = directory / f"{stem}.key"
        certPath = directory / f"{stem}.crt"
        keyPath.write_bytes(self.keyPEM)
        certPath.write_bytes(self.certPEM)
        return keyPath, certPath


def _issue(
    cn: str,
    names: list[str],
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool = False,
    notBefore: datetime.datetime | None = None,
    notAfter: datetime.datetime | None = None,
) -> tuple[Issued, x509.Certificate, ec.EllipticCurvePrivateKey]:
    """
    Make a P-256 key and a certificate for it (made at test time: nothing to expire in the
    repository).

    :param cn: the subject's common name (the organisation is always ``glisten tests``).
    :param names: subject alternative names; IP addresses become IP entries, the rest DNS
        entries. None: no extension.
    :param issuer: the issuing certificate and key; ``None`` makes it self-signed.
    :param ca: mark it as a certificate authority (basic constraints and key usage).
    :param notBefore: start of validity; default a day ago.
    :param notAfter: end of validity; default in 30 days (pass a past time for an expired one).
    :return: the PEM pair and the ``cryptography`` certificate and key (to issue others with).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "glisten tests"),
        ]
    )
    issuerName = issuer[0].subject if issuer else subject
    signer = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuerName)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(notBefore or _NOW - datetime.timedelta(days=1))
        .not_valid_after(notAfter or _NOW + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        sans: list[x509.GeneralName] = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    cert = builder.sign(signer, hashes.SHA256())
    pem = Issued(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    return pem, cert, key


@pytest.fixture(scope="session")
def issueCertificate() -> Callable[..., tuple[Issued, Any, Any]]:
    """
    The certificate factory :func:`_issue` (needs ``cryptography``, a test dependency).
    """
    return _issue
