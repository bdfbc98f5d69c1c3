"""The ``glisten words`` command: an IRC chat server, as ``twist words``.

``glisten words --irc-port tcp:6667 --group lobby`` serves IRC; anyone can register any free
nickname unless ``--passwd FILE`` is given, whose ``name:password`` lines (passwords in clear
or as ``$scrypt$...`` hashes from :func:`glisten.cred.checkers.scryptHash`) are then the only
accounts, used as nicknames (server password or SASL PLAIN). With ``--group``, only those
channels exist; without, joining a channel creates it. ``--oper-passwd FILE`` (the same
format) names the IRC operators (``OPER name password``: ``KILL``, channel modes and kicks in
any channel).

SASL EXTERNAL (logging in with a TLS client certificate): ``--irc-tls-port tcp:6697
--certificate server.pem --client-ca ca.pem --certfp FILE`` serves IRC over TLS, asks clients
for a certificate (not requiring one), verifies it against the ``--client-ca`` authorities,
and logs its holder in as the account that ``--certfp``'s ``account:fingerprint`` lines give
its SHA-256 fingerprint (hex, colons allowed, as ``openssl x509 -fingerprint -sha256``
prints it).
"""

from __future__ import annotations

import argparse
import hmac
import socket
from typing import Any

from zope.interface import implementer

from glisten.application.internet import StreamServerEndpointService
from glisten.application.service import IService, IServiceMaker, MultiService
from glisten.cred import credentials, error
from glisten.cred.checkers import (
    FilePasswordDB,
    ICredentialsChecker,
    scryptHash,
    scryptVerify,
)
from glisten.cred.portal import Portal
from glisten.internet.defer import Deferred, fail, succeed
from glisten.internet.main import getReactor
from glisten.internet.ssl import Certificate, CertificateOptions, PrivateCertificate
from glisten.words import service

__all__ = ["PasswordFileChecker", "WordsServiceMaker", "makeService", "serviceMaker"]

_DUMMY = scryptHash(b"", salt=b"\x00" * 16)


@implementer(ICredentialsChecker)
class PasswordFileChecker:
    """Checks names and passwords against a ``name:password`` file, each password in clear
    or as a ``$scrypt$`` hash; compared in constant time, unknown names cost the same.

    :param filename: the file (re-read when it changes).
    """

    credentialInterfaces = (credentials.IUsernamePassword,)

    def __init__(self, filename: str) -> None:
        self._db = FilePasswordDB(filename, cache=True, caseSensitive=False)

    def requestAvatarId(self, creds: Any) -> Deferred[Any]:
        name = creds.username if isinstance(creds.username, bytes) else creds.username.encode()
        password = creds.password if isinstance(creds.password, bytes) else creds.password.encode()
        try:
            username, stored = self._db.getUser(name)
        except KeyError:
            scryptVerify(password, _DUMMY)
            return fail(error.UnauthorizedLogin("Invalid credentials"))
        except error.UnauthorizedLogin as e:
            return fail(e)
        if stored.startswith(b"$scrypt$"):
            ok = scryptVerify(password, stored)
        else:
            ok = hmac.compare_digest(password, stored)
        if ok:
            return succeed(name.decode("utf-8", "replace"))
        return fail(error.UnauthorizedLogin("Invalid credentials"))


def _readFile(option: str, path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"{option}: cannot read {path!r}: {e.strerror}") from None


_PEM_END = b"-----END CERTIFICATE-----"


def _readAuthorities(path: str) -> list[Certificate]:
    """The certificates in a PEM file (``--client-ca``).

    :raises ValueError: the file cannot be read or holds no certificate.
    """
    data = _readFile("--client-ca", path)
    authorities = []
    for block in data.split(_PEM_END)[:-1]:
        try:
            authorities.append(Certificate.loadPEM(block + _PEM_END + b"\n"))
        except ValueError as e:
            raise ValueError(f"--client-ca: {path!r}: {e}") from None
    if not authorities:
        raise ValueError(f"--client-ca: no certificate in {path!r}")
    return authorities


def _readFingerprints(path: str) -> dict[str, str]:
    """``account:fingerprint`` lines (``#`` comments and blank lines skipped) as
    :class:`~glisten.words.service.CertificateFingerprintChecker` takes them.

    :raises ValueError: the file cannot be read or a line is not of that form.
    """
    fingerprints: dict[str, str] = {}
    text = _readFile("--certfp", path).decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        account, _, fingerprint = line.partition(":")
        digits = fingerprint.replace(":", "").strip().lower()
        if not account.strip() or len(digits) != 64 or digits.strip("0123456789abcdef"):
            raise ValueError(
                f"--certfp: line {number} of {path!r} is not account:SHA-256-fingerprint"
            )
        fingerprints[digits] = account.strip()
    return fingerprints


def _tlsOptions(options: argparse.Namespace) -> CertificateOptions | None:
    """The server TLS settings for ``--irc-tls-port``, or None without it."""
    if not options.irc_tls_port:
        if options.certfp or options.client_ca:
            raise ValueError("--certfp and --client-ca need --irc-tls-port")
        return None
    if not options.certificate:
        raise ValueError("--irc-tls-port needs --certificate")
    if bool(options.certfp) != bool(options.client_ca):
        raise ValueError("--certfp and --client-ca go together")
    try:
        server = PrivateCertificate.loadPEM(_readFile("--certificate", options.certificate))
    except ValueError as e:
        raise ValueError(f"--certificate: {options.certificate!r}: {e}") from None
    if not options.client_ca:
        return CertificateOptions(privateKey=server.privateKey, certificate=server)
    return CertificateOptions(
        privateKey=server.privateKey,
        certificate=server,
        verify=True,
        caCerts=_readAuthorities(options.client_ca),
        requireCertificate=False,
    )


def makeService(options: argparse.Namespace, reactor: Any = None) -> MultiService:
    """Build the chat service the options describe.

    :raises ValueError: with a message for the user.
    """
    from glisten.internet.endpoints import serverFromString

    # ``glisten`` has installed the reactor the user chose before calling this.
    reactor = getReactor(reactor)
    realm = service.InMemoryWordsRealm(options.hostname or socket.gethostname())
    realm.createUserOnRequest = True
    checker: Any
    if options.passwd:
        try:
            open(options.passwd, "rb").close()
        except OSError as e:
            raise ValueError(f"--passwd: cannot read {options.passwd!r}: {e.strerror}") from None
        checker = PasswordFileChecker(options.passwd)
    else:
        checker = service.OpenRegistrationChecker()
    tlsOptions = _tlsOptions(options)
    checkers = [checker]
    if options.certfp:
        checkers.append(service.CertificateFingerprintChecker(_readFingerprints(options.certfp)))
    portal = Portal(realm, checkers)
    factory = service.IRCFactory(realm, portal, reactor=reactor)
    factory.nickChangeAllowed = not options.passwd
    operPasswd = options.oper_passwd
    if operPasswd:
        try:
            open(operPasswd, "rb").close()
        except OSError as e:
            raise ValueError(f"--oper-passwd: cannot read {operPasswd!r}: {e.strerror}") from None
        factory.operatorChecker = PasswordFileChecker(operPasswd)
    if options.motd:
        try:
            with open(options.motd, encoding="utf-8", errors="replace") as f:
                factory.motd = [line.rstrip("\r\n")[:400] for line in f][:200]
        except OSError as e:
            raise ValueError(f"--motd: cannot read {options.motd!r}: {e.strerror}") from None
    groups = options.group or []
    realm.createGroupOnRequest = not groups
    for name in groups:
        realm.createGroup(name.lstrip("#"))
    top = MultiService()
    for description in options.irc_port or ["tcp:6667"]:
        endpoint = serverFromString(reactor, description)
        svc = StreamServerEndpointService(endpoint, factory)
        svc.setServiceParent(top)
    if tlsOptions is not None:
        from glisten.protocols.tls import TLSMemoryBIOFactory

        tlsFactory = TLSMemoryBIOFactory(tlsOptions, False, factory, reactor)
        for description in options.irc_tls_port:
            endpoint = serverFromString(reactor, description)
            StreamServerEndpointService(endpoint, tlsFactory).setServiceParent(top)
    top.factory = factory  # type: ignore[attr-defined]
    return top


@implementer(IServiceMaker)
class WordsServiceMaker:
    """The ``words`` plugin of the ``glisten`` command."""

    tapname = "words"
    description = "An IRC chat server."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--irc-port",
            action="append",
            metavar="ENDPOINT",
            help="where to serve IRC, as an endpoint string (repeatable; default tcp:6667)",
        )
        parser.add_argument(
            "--group",
            action="append",
            metavar="NAME",
            help="a channel to create (repeatable); with any, only these channels exist",
        )
        parser.add_argument(
            "--passwd",
            metavar="FILE",
            help="name:password accounts (clear or $scrypt$ hashes); without it anyone may "
            "register a free nick",
        )
        parser.add_argument(
            "--oper-passwd",
            metavar="FILE",
            help="name:password lines (clear or $scrypt$ hashes) for OPER; without it there "
            "are no IRC operators",
        )
        parser.add_argument(
            "--irc-tls-port",
            action="append",
            metavar="ENDPOINT",
            help="where to serve IRC over TLS, as an endpoint string such as tcp:6697 "
            "(repeatable; needs --certificate)",
        )
        parser.add_argument(
            "--certificate",
            metavar="FILE",
            help="PEM file with the server's certificate and key, for --irc-tls-port",
        )
        parser.add_argument(
            "--client-ca",
            metavar="FILE",
            help="PEM certificates of the authorities whose client certificates SASL "
            "EXTERNAL accepts (with --certfp)",
        )
        parser.add_argument(
            "--certfp",
            metavar="FILE",
            help="account:fingerprint lines (SHA-256): the accounts SASL EXTERNAL logs "
            "client certificates in as (with --client-ca)",
        )
        parser.add_argument("--hostname", metavar="NAME", help="the server name (default: host)")
        parser.add_argument("--motd", metavar="FILE", help="the message of the day")

    def makeService(self, options: argparse.Namespace, reactor: Any = None) -> IService:
        return makeService(options, reactor)


#: The object the ``glisten.plugins`` entry point ``words`` names.
serviceMaker = WordsServiceMaker()
