"""The ``glisten words`` plugin: options, password file, service."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from glisten.cred.checkers import scryptHash
from glisten.cred.credentials import UsernamePassword
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.testing import MemoryReactor
from glisten.words import tap


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    tap.serviceMaker.addArguments(parser)
    return parser.parse_args(list(args))


def outcome(d: Any) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    return results[0]


def test_passwordFileClearAndHashed(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    hashed = scryptHash("wonderland", n=2**4).decode()
    passwd.write_text(f"# accounts\nalice:{hashed}\nbob:builder\n")
    checker = tap.PasswordFileChecker(str(passwd))
    assert outcome(checker.requestAvatarId(UsernamePassword(b"alice", b"wonderland"))) == "alice"
    assert outcome(checker.requestAvatarId(UsernamePassword(b"bob", b"builder"))) == "bob"
    for name, password in [(b"alice", b"nope"), (b"bob", b"x"), (b"carol", b"builder")]:
        failure = outcome(checker.requestAvatarId(UsernamePassword(name, password)))
        assert failure.check(UnauthorizedLogin)


def test_makeService(tmp_path: Path) -> None:
    motd = tmp_path / "motd"
    motd.write_text("hello\nworld\n")
    reactor = MemoryReactor()
    options = parse(
        "--irc-port", "tcp:0", "--group", "#lobby", "--motd", str(motd), "--hostname", "h"
    )
    svc = tap.makeService(options, reactor)
    svc.startService()
    assert len(reactor.tcpServers) == 1
    factory = svc.factory  # type: ignore[attr-defined]
    assert factory.motd == ["hello", "world"]
    assert set(factory.realm.groups) == {"lobby"}
    assert not factory.realm.createGroupOnRequest
    assert factory.nickChangeAllowed
    svc.stopService()


def test_openRegistrationWithoutGroups() -> None:
    svc = tap.makeService(parse("--irc-port", "tcp:0"), MemoryReactor())
    assert svc.factory.realm.createGroupOnRequest  # type: ignore[attr-defined]


def test_badFiles(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--passwd"):
        tap.makeService(parse("--passwd", str(tmp_path / "missing")), MemoryReactor())
    with pytest.raises(ValueError, match="--motd"):
        tap.makeService(parse("--motd", str(tmp_path / "missing")), MemoryReactor())


def test_operatorPasswords(tmp_path: Path) -> None:
    opers = tmp_path / "opers"
    opers.write_text(f"root:{scryptHash('sesame', n=2**4).decode()}\n")
    svc = tap.makeService(parse("--oper-passwd", str(opers)), MemoryReactor())
    checker = svc.factory.operatorChecker  # type: ignore[attr-defined]
    assert outcome(checker.requestAvatarId(UsernamePassword(b"root", b"sesame"))) == "root"
    assert outcome(checker.requestAvatarId(UsernamePassword(b"root", b"x"))).check(
        UnauthorizedLogin
    )
    assert tap.makeService(parse(), MemoryReactor()).factory.operatorChecker is None  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="--oper-passwd"):
        tap.makeService(parse("--oper-passwd", str(tmp_path / "missing")), MemoryReactor())


def _certificates(folder: Path) -> tuple[Path, Path, str]:
    """A server PEM (certificate and key) and a CA PEM file; the CA's fingerprint."""
    from glisten.internet.ssl import KeyPair

    server = KeyPair.generate(size=2048).selfSignedCert(1, commonName="localhost")
    ca = KeyPair.generate(size=2048).selfSignedCert(2, commonName="test CA")
    serverFile, caFile = folder / "server.pem", folder / "ca.pem"
    serverFile.write_bytes(server.dumpPEM())
    caFile.write_bytes(ca.dumpPEM() + server.dumpPEM())  # two certificates (and keys)
    return serverFile, caFile, ca.digest("sha256").decode()


def test_saslExternalOptions(tmp_path: Path) -> None:
    from glisten.protocols.tls import TLSMemoryBIOFactory
    from glisten.words import iwords

    serverFile, caFile, fingerprint = _certificates(tmp_path)
    certfp = tmp_path / "certfp"
    certfp.write_text(f"# account:fingerprint\n\ncarol:{fingerprint}\ndave:{'ab' * 32}\n")
    reactor = MemoryReactor()
    options = parse(
        "--irc-port", "tcp:0", "--irc-tls-port", "tcp:0", "--certificate", str(serverFile),
        "--client-ca", str(caFile), "--certfp", str(certfp),
    )  # fmt: skip
    svc = tap.makeService(options, reactor)
    svc.startService()
    assert len(reactor.tcpServers) == 2
    tlsFactory = reactor.tcpServers[1][1]
    assert isinstance(tlsFactory, TLSMemoryBIOFactory)
    assert tlsFactory.wrappedFactory is svc.factory  # type: ignore[attr-defined]
    tlsOptions = tlsFactory.contextFactory
    assert tlsOptions.verify and not tlsOptions.requireCertificate
    assert len(tap._readAuthorities(str(caFile))) == 2
    checkers = svc.factory.portal.checkers  # type: ignore[attr-defined]
    checker = checkers[iwords.IClientCertificate]
    assert checker.fingerprints == {
        fingerprint.replace(":", "").lower(): "carol",
        "ab" * 32: "dave",
    }
    svc.stopService()


def test_saslExternalOptionsRefused(tmp_path: Path) -> None:
    serverFile, caFile, fingerprint = _certificates(tmp_path)
    certfp = tmp_path / "certfp"
    certfp.write_text(f"carol:{fingerprint}\n")
    bad = tmp_path / "bad"
    bad.write_text("carol:not-a-fingerprint\n")
    tls = ("--irc-tls-port", "tcp:0", "--certificate", str(serverFile))
    cases = [
        (("--certfp", str(certfp), "--client-ca", str(caFile)), "need --irc-tls-port"),
        (("--irc-tls-port", "tcp:0"), "needs --certificate"),
        ((*tls, "--certfp", str(certfp)), "go together"),
        ((*tls, "--client-ca", str(caFile)), "go together"),
        ((*tls, "--certfp", str(bad), "--client-ca", str(caFile)), "line 1 of"),
        ((*tls, "--certfp", str(certfp), "--client-ca", str(bad)), "no certificate"),
        ((*tls, "--certfp", str(tmp_path / "missing"), "--client-ca", str(caFile)), "--certfp"),
        (("--irc-tls-port", "tcp:0", "--certificate", str(bad)), "--certificate"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            tap.makeService(parse(*args), MemoryReactor())


def test_tlsWithoutClientCertificates(tmp_path: Path) -> None:
    serverFile, _, _ = _certificates(tmp_path)
    reactor = MemoryReactor()
    options = parse("--irc-tls-port", "tcp:0", "--certificate", str(serverFile))
    tap.makeService(options, reactor).startService()
    assert len(reactor.tcpServers) == 2  # the default tcp:6667 and the TLS one
    assert not reactor.tcpServers[1][1].contextFactory.verify
