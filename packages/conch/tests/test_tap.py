"""The ``glisten ssh`` plugin: host keys, options, the factory it builds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from glisten.conch import tap
from glisten.conch.ssh.keys import Key
from glisten.cred.checkers import scryptHash
from glisten.cred.credentials import ISSHPrivateKey, IUsernamePassword


def test_hostKeysMadeOnce(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    keys = tap.loadHostKeys(str(directory))
    assert set(keys) == {b"ssh-ed25519", b"ecdsa-sha2-nistp256"}
    for name in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key"):
        assert (directory / name).stat().st_mode & 0o777 == 0o600
    assert tap.loadHostKeys(str(directory)) == keys
    assert Key.fromFile(directory / "ssh_host_ed25519_key.pub") == keys[b"ssh-ed25519"].public()


def _options(tmp_path: Path, *args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    tap.serviceMaker.addArguments(parser)
    return parser.parse_args(["--host-keys", str(tmp_path / "keys"), *args])


def test_passwordsOffByDefault(tmp_path: Path) -> None:
    (tmp_path / "ak").write_bytes(b"")
    factory = tap.makeFactory(tap.loadHostKeys(str(tmp_path / "keys")), str(tmp_path / "ak"))
    interfaces = factory.portal.listCredentialsInterfaces()
    assert ISSHPrivateKey in interfaces
    assert IUsernamePassword not in interfaces


def test_passwordFileEnablesPasswords(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(b"alice:" + scryptHash(b"x", n=2**4) + b"\n")
    factory = tap.makeFactory(
        tap.loadHostKeys(str(tmp_path / "keys")), None, passwordFile=str(tmp_path / "pw")
    )
    assert IUsernamePassword in factory.portal.listCredentialsInterfaces()


def test_needsSomeWayIn(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        tap.serviceMaker.makeService(_options(tmp_path))


def test_makeService(tmp_path: Path) -> None:
    (tmp_path / "ak").write_bytes(b"")
    options = _options(
        tmp_path, "--authorized-keys", str(tmp_path / "ak"), "--listen", "tcp:0:interface=127.0.0.1"
    )
    service = tap.serviceMaker.makeService(options, reactor=object())
    assert len(list(service)) == 1


def test_sharedByWorkersOnceTheHostKeysExist(tmp_path: Path) -> None:
    from zope.interface.verify import verifyObject

    from glisten.application.service import IShareableServiceMaker

    assert verifyObject(IShareableServiceMaker, tap.serviceMaker)
    options = _options(tmp_path, "--authorized-keys", "ak")
    with pytest.raises(ValueError, match="run 'glisten ssh' once without --workers"):
        tap.serviceMaker.listeningEndpoints(options)
    assert not (tmp_path / "keys").exists()
    tap.loadHostKeys(str(tmp_path / "keys"))
    assert tap.serviceMaker.listeningEndpoints(options) == ["tcp:2222"]
    options = _options(tmp_path, "--listen", "tcp:22", "--listen", "unix:/s")
    assert tap.serviceMaker.listeningEndpoints(options) == ["tcp:22", "unix:/s"]


def test_certificateOptions(tmp_path: Path) -> None:
    from glisten.conch.ssh.keys import CERT_HOST

    ca = Key.generate("ed25519")
    (tmp_path / "cas").write_bytes(ca.public().toString("openssh") + b"\n")
    hostKeys = tap.loadHostKeys(str(tmp_path / "keys"))
    cert = ca.signCertificate(hostKeys[b"ssh-ed25519"], CERT_HOST, "h", [b"localhost"])
    (tmp_path / "host-cert.pub").write_bytes(cert.toString("openssh"))
    options = _options(
        tmp_path,
        "--trusted-user-ca-keys",
        str(tmp_path / "cas"),
        "--host-certificate",
        str(tmp_path / "host-cert.pub"),
        "--listen",
        "tcp:0:interface=127.0.0.1",
    )
    # A trusted CA is a way in by itself.
    service = tap.serviceMaker.makeService(options, reactor=object())
    factory = list(service)[0].factory
    assert ISSHPrivateKey in factory.portal.listCredentialsInterfaces()
    served = factory.privateKeys[b"ssh-ed25519-cert-v01@openssh.com"]
    assert served.certificate == cert.certificate and not served.isPublic()
    options.host_certificate = [str(tmp_path / "missing")]
    with pytest.raises(ValueError, match="host certificate"):
        tap.serviceMaker.makeService(options, reactor=object())


def test_unixPasswordsOnlyForTheServersUser(tmp_path: Path) -> None:
    import getpass

    from glisten.conch import checkers
    from glisten.cred.credentials import UsernamePassword
    from glisten.python.failure import Failure

    me = getpass.getuser()
    shadow = tmp_path / "shadow"
    md5 = "$1$saltsalt$ZliGyAN3DciDHEkDboonh/"  # "hunter2"
    shadow.write_text(f"{me}:{md5}:19000::::::\nsomeoneelse:{md5}:19000::::::\n")
    options = _options(
        tmp_path,
        "--unix-passwords",
        "--shadow-file",
        str(shadow),
        "--listen",
        "tcp:0:interface=127.0.0.1",
    )
    service = tap.serviceMaker.makeService(options, reactor=object())
    listener: Any = list(service)[0]
    checker = listener.factory.portal.checkers[IUsernamePassword]
    assert isinstance(checker, checkers.UNIXPasswordDatabase)
    results: list[object] = []
    for user in (me, "someoneelse"):
        checker.requestAvatarId(UsernamePassword(user, "hunter2")).addBoth(results.append)
    assert results[0] == me.encode()
    assert isinstance(results[1], Failure)


def test_unixPasswordsOffByDefault(tmp_path: Path) -> None:
    options = _options(tmp_path, "--authorized-keys", str(tmp_path / "ak"))
    assert not options.unix_passwords
    with pytest.raises(ValueError, match="--unix-passwords"):
        tap.serviceMaker.makeService(_options(tmp_path))


def test_unixPasswordsAndPasswordFileExclusive(tmp_path: Path) -> None:
    (tmp_path / "pw").write_bytes(b"")
    with pytest.raises(ValueError, match="not both"):
        tap.makeFactory(
            tap.loadHostKeys(str(tmp_path / "keys")),
            None,
            passwordFile=str(tmp_path / "pw"),
            unixPasswords=True,
        )
