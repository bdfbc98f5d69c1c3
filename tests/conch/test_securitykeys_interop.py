"""
Security-key (``sk-*``) keys against OpenSSH: ``ssh-keygen`` reads the public keys glisten
writes and certifies them; OpenSSH's ``sshd``, ``glisten ssh`` and an asyncssh server all
accept glisten's client endpoint signing with an authenticator emulated in software
(``Key.emulateSecurityKey``: the ``PROTOCOL.u2f`` message signed with an ordinary key), under
the same ``authorized_keys`` options ``no-touch-required`` and ``verify-required``.
"""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import AuthenticationFailed, SSHCommandClientEndpoint
from glisten.conch.ssh.keys import (
    CERT_USER,
    DEFAULT_USER_EXTENSIONS,
    SK_USER_PRESENT,
    SK_USER_VERIFIED,
    Key,
)
from glisten.internet.protocol import Factory

from .conftest import glistenSsh, pythonServer, requireBinary, runSshd, sshKeygen
from .test_openssh_server import _Collect, _run, _YesUI

pytestmark = pytest.mark.interop

#: The authenticators, each an ordinary private key standing in for the hardware.
SECRETS = {
    "touch": Key.generate("ed25519"),
    "noTouch": Key.generate("ed25519"),
    "verify": Key.generate("ecdsa", 256),
    "ecdsa": Key.generate("ecdsa", 256),
}
OPTIONS = {
    "touch": b"",
    "noTouch": b"no-touch-required ",
    "verify": b"verify-required ",
    "ecdsa": b"",
}


def _public(name: str) -> Key:
    return SECRETS[name].emulateSecurityKey().public()


def _authorizedKeys(path: Path, ca: Key | None = None) -> Path:
    lines = [OPTIONS[name] + _public(name).toString("openssh") + b"\n" for name in SECRETS]
    if ca is not None:
        lines.append(b"cert-authority " + ca.public().toString("openssh") + b"\n")
    path.write_bytes(b"".join(lines))
    return path


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa"])
def test_sshKeygenReadsOurKeys(tmp_path: Path, kind: str) -> None:
    key = Key.generate(kind).emulateSecurityKey(application=b"ssh:glisten").public()
    path = tmp_path / "id_sk.pub"
    path.write_bytes(key.toString("openssh", comment=b"made-by-glisten") + b"\n")
    keygen = requireBinary("ssh-keygen")
    listed = subprocess.run([keygen, "-l", "-f", str(path)], capture_output=True, check=True)
    fields = listed.stdout.split()
    assert fields[1] == b"SHA256:" + key.fingerprint("sha256-base64").encode()
    assert fields[-1] == (b"(ED25519-SK)" if kind == "ed25519" else b"(ECDSA-SK)")
    exported = subprocess.run([keygen, "-e", "-f", str(path)], capture_output=True, check=True)
    assert Key.fromString(exported.stdout) == key
    assert Key.fromString(exported.stdout).securityKeyApplication() == b"ssh:glisten"


def test_sshKeygenCertifiesOurKeys(tmp_path: Path) -> None:
    ca = sshKeygen(tmp_path / "ca", "ed25519")
    key = Key.generate("ecdsa", 256).emulateSecurityKey(application=b"ssh:x").public()
    path = tmp_path / "id_sk.pub"
    path.write_bytes(key.toString("openssh") + b"\n")
    subprocess.run(
        [requireBinary("ssh-keygen"), "-q", "-s", str(ca), "-I", "sk", "-n", "alice"]
        + ["-O", "verify-required", "-O", "no-touch-required", str(path)],
        check=True,
    )
    certified = Key.fromFile(tmp_path / "id_sk-cert.pub")
    cert = certified.certificate
    assert cert is not None and cert.key == key
    assert certified.sshType() == b"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
    assert cert.criticalOption(b"verify-required") == b""
    assert b"no-touch-required" in cert.extensions
    cert.checkAuthority(CERT_USER, b"alice")
    # ssh-keygen reads back what glisten issues for such a key.
    ours = Key.fromFile(ca).signCertificate(key, CERT_USER, "glisten", [b"bob"])
    (tmp_path / "ours-cert.pub").write_bytes(ours.toString("openssh") + b"\n")
    shown = subprocess.run(
        [requireBinary("ssh-keygen"), "-L", "-f", str(tmp_path / "ours-cert.pub")],
        capture_output=True,
        check=True,
    )
    assert b"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate" in shown.stdout


def _login(port: int, user: bytes, key: Key, tmp: Path) -> bytes:
    async def main(reactor: Any) -> bytes:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"echo sk-ok",
            user,
            b"127.0.0.1",
            port,
            keys=[key],
            knownHosts=KnownHostsFile.fromPath(tmp / "known_hosts"),
            ui=_YesUI(),
        )
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    return bytes(_run(main))


#: (authenticator, flags, accepted)
CASES = [
    ("touch", SK_USER_PRESENT, True),
    ("touch", 0, False),
    ("noTouch", 0, True),
    ("verify", SK_USER_PRESENT, False),
    ("verify", SK_USER_PRESENT | SK_USER_VERIFIED, True),
    ("ecdsa", SK_USER_PRESENT, True),
]


#: A security-key CA that signs without a touch (OpenSSH checks none on a CA's signature).
SK_CA = Key.generate("ecdsa", 256).emulateSecurityKey(flags=0)


def _trustedCAs(path: Path, ca: Key) -> None:
    path.write_bytes(b"".join(k.public().toString("openssh") + b"\n" for k in (ca, SK_CA)))


@pytest.fixture(scope="module")
def skSshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("sk-sshd")
    ca = Key.generate("ed25519")
    _trustedCAs(tmp / "trusted_ca", ca)
    with runSshd(
        tmp,
        f"HostKey {sshKeygen(tmp / 'host_ed25519', 'ed25519')}",
        f"AuthorizedKeysFile {_authorizedKeys(tmp / 'authorized_keys')}",
        f"TrustedUserCAKeys {tmp / 'trusted_ca'}",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    ) as port:
        yield {"port": port, "tmp": tmp, "ca": ca}


@pytest.fixture(scope="module")
def skGlisten(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("sk-glisten")
    ca = Key.generate("ed25519")
    _trustedCAs(tmp / "trusted_ca", ca)
    authorized = _authorizedKeys(tmp / "authorized_keys")
    args = ["--authorized-keys", str(authorized), "--trusted-user-ca-keys", str(tmp / "trusted_ca")]
    with glistenSsh(tmp, *args) as port:
        yield {"port": port, "tmp": tmp, "ca": ca}


ASYNCSSH_SERVER = """
import asyncio, sys
import asyncssh

async def handle(process):
    process.stdout.write("sk-ok\\n")
    process.exit(0)

async def main():
    await asyncssh.create_server(
        asyncssh.SSHServer, "127.0.0.1", int(sys.argv[1]),
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        authorized_client_keys=sys.argv[2], process_factory=handle,
    )
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def skAsyncssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("sk-asyncssh")
    authorized = _authorizedKeys(tmp / "authorized_keys")
    with pythonServer(tmp, "server.py", ASYNCSSH_SERVER, str(authorized)) as port:
        yield {"port": port, "tmp": tmp}


@pytest.mark.parametrize(
    "server,name,flags,accepted",
    [
        (server, *case)
        for server in ("skSshd", "skGlisten", "skAsyncssh")
        for case in CASES
        # asyncssh (2.24) does not implement verify-required.
        if not (server == "skAsyncssh" and case[0] == "verify")
    ],
)
def test_login(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server: str,
    name: str,
    flags: int,
    accepted: bool,
) -> None:
    """The servers take or refuse the same signatures under the same options."""
    info = request.getfixturevalue(server)
    user = b"root" if server != "skGlisten" else getpass.getuser().encode()
    key = SECRETS[name].emulateSecurityKey(flags=flags)
    if accepted:
        assert _login(info["port"], user, key, tmp_path) == b"sk-ok\n"
    else:
        with pytest.raises(AuthenticationFailed):
            _login(info["port"], user, key, tmp_path)
    if server == "skGlisten":
        assert b"Traceback" not in (info["tmp"] / "server.log").read_bytes()


@pytest.mark.parametrize("server", ["skSshd", "skGlisten"])
@pytest.mark.parametrize(
    "critical,extensions,flags,accepted",
    [
        ({}, {}, SK_USER_PRESENT, True),
        ({}, {}, 0, False),
        ({"verify-required": ""}, {}, SK_USER_PRESENT, False),
        ({"verify-required": ""}, {}, SK_USER_PRESENT | SK_USER_VERIFIED, True),
        # No principals line: the certificate's extension alone waives the touch.
        ({}, {"no-touch-required": ""}, 0, True),
    ],
)
def test_certificateLogin(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    server: str,
    critical: dict[str, str],
    extensions: dict[str, str],
    flags: int,
    accepted: bool,
) -> None:
    """An ``sk-*-cert-v01@openssh.com`` certificate from a ``TrustedUserCAKeys`` CA."""
    info = request.getfixturevalue(server)
    user = b"root" if server == "skSshd" else getpass.getuser().encode()
    key = Key.generate("ed25519").emulateSecurityKey(flags=flags)
    cert = info["ca"].signCertificate(
        key.public(),
        CERT_USER,
        "sk-cert",
        [user],
        criticalOptions=critical,
        extensions={**DEFAULT_USER_EXTENSIONS, **extensions},
    )
    signer = key.withCertificate(cert)
    if accepted:
        assert _login(info["port"], user, signer, tmp_path) == b"sk-ok\n"
    else:
        with pytest.raises(AuthenticationFailed):
            _login(info["port"], user, signer, tmp_path)


@pytest.mark.parametrize("server", ["skSshd", "skGlisten"])
def test_securityKeyCA(request: pytest.FixtureRequest, tmp_path: Path, server: str) -> None:
    """A certificate signed by a security-key CA is accepted (default ``CASignatureAlgorithms``)."""
    info = request.getfixturevalue(server)
    user = b"root" if server == "skSshd" else getpass.getuser().encode()
    key = Key.generate("ed25519")
    cert = SK_CA.signCertificate(key.public(), CERT_USER, "by-sk-ca", [user])
    assert _login(info["port"], user, key.withCertificate(cert), tmp_path) == b"sk-ok\n"
