"""OpenSSH certificates against OpenSSH: ``ssh-keygen -s`` certificates read and verified by
glisten (and glisten's read by ``ssh-keygen -L``), ``ssh`` logging into ``glisten ssh`` with a
user certificate and checking its host certificate, and glisten's client endpoint logging into
``sshd`` with a user certificate and checking sshd's host certificate."""

from __future__ import annotations

import base64
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import AuthenticationFailed, SSHCommandClientEndpoint
from glisten.conch.error import UserRejectedKey
from glisten.conch.ssh.keys import CERT_HOST, CERT_USER, Key
from glisten.internet.protocol import Factory

from .conftest import (
    freePort,
    glistenSsh,
    requireBinary,
    runSshd,
    sshKeygen,
    stopProcess,
    waitForPort,
)
from .test_agent_interop import sshAgent
from .test_forwarding_interop import _Echo, _roundTrip, _TCPEcho, echo
from .test_openssh_server import _Collect, _run

pytestmark = pytest.mark.interop

#: The echo server fixture of the forwarding tests, the ssh-agent one of the agent tests.
__all__ = ["echo", "sshAgent"]


def _sign(tmp: Path, ca: Path, key: Path, *args: str, name: str | None = None) -> tuple[Path, Key]:
    """``ssh-keygen -s CA ARGS KEY.pub``; the certificate file and the key glisten reads."""
    pub = Path(str(key) + ".pub")
    if name is not None:
        copy = tmp / f"{name}.pub"
        copy.write_bytes(pub.read_bytes())
        pub = copy
    subprocess.run(
        [requireBinary("ssh-keygen"), "-q", "-s", str(ca), *args, str(pub)],
        check=True,
        capture_output=True,
    )
    certPath = Path(str(pub)[: -len(".pub")] + "-cert.pub")
    return certPath, Key.fromFile(certPath)


@pytest.mark.parametrize(
    "caKind,caBits,caArgs",
    [
        ("ed25519", None, []),
        ("ecdsa", 384, []),
        ("rsa", 2048, []),
        ("rsa", 2048, ["-t", "rsa-sha2-256"]),
    ],
)
@pytest.mark.parametrize(
    "keyKind,keyBits",
    [("ed25519", None), ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521), ("rsa", 2048)],
)
def test_sshKeygenCertificatesVerify(
    tmp_path: Path,
    caKind: str,
    caBits: int | None,
    caArgs: list[str],
    keyKind: str,
    keyBits: int | None,
) -> None:
    ca = sshKeygen(tmp_path / "ca", caKind, caBits)
    key = sshKeygen(tmp_path / "key", keyKind, keyBits)
    userPath, user = _sign(
        tmp_path,
        ca,
        key,
        *caArgs,
        "-I",
        "user@example",
        "-n",
        "alice,deploy",
        "-V",
        "-5m:+1h",
        "-z",
        "42",
        "-O",
        "force-command=uptime",
        "-O",
        "source-address=127.0.0.0/8,::1",
        "-O",
        "no-port-forwarding",
    )
    cert = user.certificate
    assert cert is not None
    assert cert.type == CERT_USER and cert.keyId == b"user@example" and cert.serial == 42
    assert cert.principals == (b"alice", b"deploy")
    assert cert.key == Key.fromFile(Path(str(key) + ".pub"))
    assert cert.signatureKey == Key.fromFile(Path(str(ca) + ".pub"))
    assert cert.criticalOption(b"force-command") == b"uptime"
    assert cert.criticalOption(b"source-address") == b"127.0.0.0/8,::1"
    assert b"permit-pty" in cert.extensions and b"permit-port-forwarding" not in cert.extensions
    cert.checkAuthority(CERT_USER, b"alice")
    # The public line glisten writes is the one ssh-keygen wrote (without its comment).
    written = userPath.read_bytes().split()
    assert user.toString("openssh").split() == written[:2]
    assert base64.b64decode(written[1]) == user.blob()
    _, host = _sign(tmp_path, ca, key, *caArgs, "-h", "-I", "host", "-n", "h.example", name="h")
    assert host.certificate is not None and host.certificate.type == CERT_HOST
    host.certificate.checkAuthority(CERT_HOST, b"h.example")
    caAlgorithm = cert.signature[4 : 4 + int.from_bytes(cert.signature[:4], "big")]
    expected = {"ed25519": b"ssh-ed25519", "ecdsa": b"ecdsa-sha2-nistp384"}.get(caKind)
    assert caAlgorithm == (expected or (b"rsa-sha2-256" if caArgs else b"rsa-sha2-512"))


@pytest.mark.parametrize("caKind,caBits", [("ed25519", None), ("rsa", 3072)])
def test_byteExactReissue(tmp_path: Path, caKind: str, caBits: int | None) -> None:
    """Deterministic CA signatures: the same fields signed by glisten give ssh-keygen's bytes."""
    ca = sshKeygen(tmp_path / "ca", caKind, caBits)
    key = sshKeygen(tmp_path / "key", "ecdsa", 256)
    _, theirs = _sign(
        tmp_path,
        ca,
        key,
        "-I",
        "id",
        "-n",
        "a,b",
        "-V",
        "20300101:20310101",
        "-z",
        "9",
        "-O",
        "clear",
        "-O",
        "permit-pty",
        "-O",
        "force-command=/bin/true",
        "-O",
        "critical:verify-required",
    )
    c = theirs.certificate
    assert c is not None
    ours = Key.fromFile(ca).signCertificate(
        c.key,
        c.type,
        c.keyId,
        c.principals,
        c.validAfter,
        c.validBefore,
        {name: c.criticalOption(name) or b"" for name in c.criticalOptions},
        {name: b"" for name in c.extensions},
        c.serial,
        c.nonce,
    )
    assert ours.blob() == theirs.blob()


def test_sshKeygenReadsOurCertificates(tmp_path: Path) -> None:
    ca = Key.generate("ecdsa", 384)
    key = Key.generate("ed25519")
    cert = ca.signCertificate(
        key,
        CERT_USER,
        "glisten-made",
        [b"alice", b"bob"],
        validAfter=1_900_000_000,
        validBefore=2_000_000_000,
        criticalOptions={"force-command": "echo hi", "source-address": "10.0.0.0/8"},
        extensions={"permit-pty": ""},
        serial=77,
    )
    path = tmp_path / "id-cert.pub"
    path.write_bytes(cert.toString("openssh") + b"\n")
    out = subprocess.run(
        [requireBinary("ssh-keygen"), "-L", "-f", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "ssh-ed25519-cert-v01@openssh.com user certificate" in out
    assert 'Key ID: "glisten-made"' in out
    assert "Serial: 77" in out
    assert "force-command echo hi" in out
    assert "source-address 10.0.0.0/8" in out
    assert "permit-pty" in out and "permit-port-forwarding" not in out
    assert "alice" in out and "bob" in out


# ---------------------------------------------------------------- ssh -> glisten ssh


def _ssh(port: int, key: Path, *args: str, knownHosts: Path | None = None) -> Any:
    hostChecking = (
        ["-o", f"UserKnownHostsFile={knownHosts}", "-o", "StrictHostKeyChecking=yes"]
        if knownHosts is not None
        else ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"]
    )
    return subprocess.run(
        [
            requireBinary("ssh"),
            "-p",
            str(port),
            "-i",
            str(key),
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            *hostChecking,
            *args,
        ],
        capture_output=True,
        timeout=30,
    )


def assertLogin(result: Any, expected: bytes | None) -> None:
    """``ssh`` ran the command and printed output starting with ``expected``, or (``None``)
    was refused."""
    if expected is None:
        assert result.returncode == 255
        assert b"Permission denied" in result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(expected)


@pytest.fixture(scope="module")
def certServer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("glisten-ssh-certs")
    lineCA = sshKeygen(tmp / "line_ca", "ed25519")
    trustedCA = sshKeygen(tmp / "trusted_ca", "ecdsa", 256)
    hostCA = sshKeygen(tmp / "host_ca", "rsa", 2048)
    (tmp / "authorized_keys").write_bytes(
        b'cert-authority,principals="deploy" ' + Path(str(lineCA) + ".pub").read_bytes()
    )
    (tmp / "trusted").write_bytes(Path(str(trustedCA) + ".pub").read_bytes())
    # Host keys first (glisten ssh makes them), then their certificate.
    hostKeys = tmp / "hostkeys"
    from glisten.conch.tap import loadHostKeys

    loadHostKeys(str(hostKeys))
    args = ["--authorized-keys", str(tmp / "authorized_keys")]
    args += ["--trusted-user-ca-keys", str(tmp / "trusted")]
    revokedKey = sshKeygen(tmp / "revoked_user", "ed25519")
    (tmp / "revoked").write_bytes(Path(str(revokedKey) + ".pub").read_bytes())
    args += ["--revoked-keys", str(tmp / "revoked")]
    for name in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key"):
        hostCert, _ = _sign(tmp, hostCA, hostKeys / name, "-h", "-I", "host", "-n", "127.0.0.1")
        args += ["--host-certificate", str(hostCert)]
    with glistenSsh(tmp, *args) as port:
        yield {
            "port": port,
            "tmp": tmp,
            "lineCA": lineCA,
            "trustedCA": trustedCA,
            "hostCA": hostCA,
            "revokedKey": revokedKey,
            "log": tmp / "server.log",
        }


def _userCert(server: dict[str, Any], ca: str, name: str, *args: str) -> Path:
    key = sshKeygen(server["tmp"] / name, "ed25519")
    _sign(server["tmp"], server[ca], key, "-I", name, *args)
    return key


@pytest.mark.parametrize(
    "ca,principals,user,validity,ok",
    [
        ("lineCA", "deploy", "anyone", "+1h", True),
        ("lineCA", "alice", "alice", "+1h", False),  # principals= wants deploy
        ("lineCA", "deploy", "anyone", "20200101:20200102", False),
        ("trustedCA", "alice", "alice", "+1h", True),
        ("trustedCA", "alice", "bob", "+1h", False),
        ("trustedCA", "alice", "alice", "20200101:20200102", False),
    ],
)
def test_sshLogsInWithUserCertificates(
    certServer: dict[str, Any], ca: str, principals: str, user: str, validity: str, ok: bool
) -> None:
    name = f"u_{ca}_{principals}_{user}_{validity.replace(':', '_').replace('+', 'p')}"
    key = _userCert(certServer, ca, name, "-n", principals, "-V", validity)
    result = _ssh(certServer["port"], key, "-l", user, "127.0.0.1", "echo in")
    assertLogin(result, b"in\n" if ok else None)
    assert not ok or result.stdout == b"in\n"
    assert b"Traceback" not in Path(certServer["log"]).read_bytes()


def test_certificateForceCommandAndSourceAddress(certServer: dict[str, Any]) -> None:
    forced = _userCert(
        certServer, "trustedCA", "forced", "-n", "alice", "-O", "force-command=echo forced"
    )
    result = _ssh(certServer["port"], forced, "-l", "alice", "127.0.0.1", "echo mine")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"forced\n"
    elsewhere = _userCert(
        certServer, "trustedCA", "elsewhere", "-n", "alice", "-O", "source-address=10.0.0.0/8"
    )
    result = _ssh(certServer["port"], elsewhere, "-l", "alice", "127.0.0.1", "echo no")
    assert result.returncode == 255
    here = _userCert(
        certServer, "trustedCA", "here", "-n", "alice", "-O", "source-address=127.0.0.0/8"
    )
    result = _ssh(certServer["port"], here, "-l", "alice", "127.0.0.1", "echo yes")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "algorithm",
    ["ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com", "default"],
)
def test_sshChecksGlistensHostCertificate(certServer: dict[str, Any], algorithm: str) -> None:
    key = _userCert(certServer, "trustedCA", f"hostcheck-{algorithm}", "-n", "alice")
    knownHosts = certServer["tmp"] / "known_hosts_ca"
    knownHosts.write_bytes(
        b"@cert-authority [127.0.0.1]:%d " % certServer["port"]
        + Path(str(certServer["hostCA"]) + ".pub").read_bytes()
    )
    forced = [] if algorithm == "default" else ["-o", f"HostKeyAlgorithms={algorithm}"]
    result = _ssh(
        certServer["port"],
        key,
        *forced,
        "-l",
        "alice",
        "127.0.0.1",
        "echo ok",
        knownHosts=knownHosts,
    )
    assert result.returncode == 0, result.stderr
    # Another CA: ssh refuses the host (no plain key on record either).
    wrong = certServer["tmp"] / "known_hosts_wrong"
    wrong.write_bytes(b"@cert-authority * " + Path(str(certServer["lineCA"]) + ".pub").read_bytes())
    result = _ssh(certServer["port"], key, "-l", "alice", "127.0.0.1", "echo ok", knownHosts=wrong)
    assert result.returncode == 255
    assert b"Host key verification failed" in result.stderr


# ---------------------------------------------------------------- glisten client -> sshd


@pytest.fixture(scope="module")
def certSshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    requireBinary("sshd")
    tmp = tmp_path_factory.mktemp("sshd-certs")
    userCA = sshKeygen(tmp / "user_ca", "ed25519")
    hostCA = sshKeygen(tmp / "host_ca", "ecdsa", 384)
    hostLines = []
    for kind, bits in (("ed25519", None), ("ecdsa", 521), ("rsa", 2048)):
        hostKey = sshKeygen(tmp / f"host_{kind}", kind, bits)
        hostCert, _ = _sign(tmp, hostCA, hostKey, "-h", "-I", "sshd", "-n", "127.0.0.1")
        hostLines += [f"HostKey {hostKey}", f"HostCertificate {hostCert}"]
    with runSshd(
        tmp,
        *hostLines,
        f"TrustedUserCAKeys {userCA}.pub",
        "AuthorizedKeysFile none",
        "PasswordAuthentication no",
    ) as port:
        yield {"port": port, "tmp": tmp, "userCA": userCA, "hostCA": hostCA}


def _endpointRun(server: dict[str, Any], key: Key, knownHosts: KnownHostsFile) -> bytes:
    async def main(reactor: Any) -> bytes:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"echo certified",
            b"root",
            b"127.0.0.1",
            server["port"],
            keys=[key],
            knownHosts=knownHosts,
        )
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    result: bytes = _run(main)
    return result


def _caKnownHosts(server: dict[str, Any], ca: Path) -> KnownHostsFile:
    path = server["tmp"] / f"known_hosts_{ca.name}"
    path.write_bytes(
        b"@cert-authority [127.0.0.1]:%d " % server["port"] + Path(str(ca) + ".pub").read_bytes()
    )
    return KnownHostsFile.fromPath(path)


@pytest.mark.parametrize("kind,bits", [("ed25519", None), ("rsa", 2048), ("ecdsa", 256)])
def test_endpointLogsIntoSshdWithCertificates(
    certSshd: dict[str, Any], kind: str, bits: int | None
) -> None:
    keyPath = sshKeygen(certSshd["tmp"] / f"user_{kind}", kind, bits)
    certPath, _ = _sign(certSshd["tmp"], certSshd["userCA"], keyPath, "-I", "k", "-n", "root")
    key = Key.fromFile(keyPath).withCertificate(Key.fromFile(certPath))
    knownHosts = _caKnownHosts(certSshd, certSshd["hostCA"])
    assert _endpointRun(certSshd, key, knownHosts) == b"certified\n"


@pytest.mark.parametrize(
    "plain", ["ssh-ed25519", "ecdsa-sha2-nistp521", "rsa-sha2-256", "rsa-sha2-512"]
)
def test_endpointChecksEachHostCertificateAlgorithm(
    certSshd: dict[str, Any], plain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only a CA on record (and no UI), only a verified host certificate gets in."""
    from glisten.conch.ssh.transport import SSHClientTransport

    monkeypatch.setattr(SSHClientTransport, "supportedPublicKeys", [plain.encode()])
    keyPath = certSshd["tmp"] / "user_ed25519"
    if not keyPath.exists():
        sshKeygen(keyPath, "ed25519")
    certPath, _ = _sign(certSshd["tmp"], certSshd["userCA"], keyPath, "-I", "k", "-n", "root")
    key = Key.fromFile(keyPath).withCertificate(Key.fromFile(certPath))
    knownHosts = _caKnownHosts(certSshd, certSshd["hostCA"])
    assert _endpointRun(certSshd, key, knownHosts) == b"certified\n"


def test_endpointRefusals(certSshd: dict[str, Any]) -> None:
    tmp = certSshd["tmp"]
    keyPath = sshKeygen(tmp / "user_refused", "ed25519")
    knownHosts = _caKnownHosts(certSshd, certSshd["hostCA"])
    for name, args in [
        ("expired", ["-V", "20200101:20200102", "-n", "root"]),
        ("wrongname", ["-n", "alice"]),
    ]:
        certPath, _ = _sign(tmp, certSshd["userCA"], keyPath, "-I", name, *args, name=name)
        key = Key.fromFile(keyPath).withCertificate(Key.fromFile(certPath))
        with pytest.raises(AuthenticationFailed):
            _endpointRun(certSshd, key, knownHosts)
    # sshd's host certificate is signed by another CA than the one on record: refused.
    good, _ = _sign(tmp, certSshd["userCA"], keyPath, "-I", "ok", "-n", "root", name="ok")
    key = Key.fromFile(keyPath).withCertificate(Key.fromFile(good))
    with pytest.raises(UserRejectedKey):
        _endpointRun(certSshd, key, _caKnownHosts(certSshd, certSshd["userCA"]))


def test_ckeygenCertificateLogsIntoSshd(certSshd: dict[str, Any]) -> None:
    """``glisten-ckeygen -s`` issues a certificate sshd's TrustedUserCAKeys accepts."""
    from glisten.conch.scripts.ckeygen import run

    tmp = certSshd["tmp"]
    keyPath = sshKeygen(tmp / "user_ckeygen", "ecdsa", 384)
    argv = ["-s", str(certSshd["userCA"]), "-I", "ck", "-n", "root", "-V", "-1m:+1h", "-q"]
    assert run([*argv, str(keyPath) + ".pub"]) == 0
    key = Key.fromFile(keyPath).withCertificate(Key.fromFile(str(keyPath) + "-cert.pub"))
    knownHosts = _caKnownHosts(certSshd, certSshd["hostCA"])
    assert _endpointRun(certSshd, key, knownHosts) == b"certified\n"


def test_conchToolUsesTheCertificateBesideTheKey(certSshd: dict[str, Any]) -> None:
    """``glisten conch -i KEY`` offers ``KEY-cert.pub`` too, as ``ssh -i`` does."""
    import sys

    tmp = certSshd["tmp"]
    keyPath = sshKeygen(tmp / "user_conch", "ed25519")
    knownHosts = tmp / "known_hosts_conch"
    knownHosts.write_bytes(
        b"@cert-authority [127.0.0.1]:%d " % certSshd["port"]
        + Path(str(certSshd["hostCA"]) + ".pub").read_bytes()
    )
    command = [
        sys.executable,
        "-c",
        "import sys; from glisten.application import cli; cli.main()",
        "conch",
        "-a",
        "-p",
        str(certSshd["port"]),
        "-i",
        str(keyPath),
        "--known-hosts",
        str(knownHosts),
        "root@127.0.0.1",
        "echo via-cert",
    ]
    # Without the certificate sshd (no authorized_keys) refuses the key...
    refused = subprocess.run(command, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert refused.returncode == 255
    # ...and with it beside the key, the login works.
    _sign(tmp, certSshd["userCA"], keyPath, "-I", "conch", "-n", "root")
    result = subprocess.run(command, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"via-cert\n"


# ---------------------------------------------------------------- permitopen and certificates


@pytest.fixture(scope="module")
def permitServer(
    tmp_path_factory: pytest.TempPathFactory, echo: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """``glisten ssh`` allowing ``-L`` anywhere; keys and certificates narrow it."""
    tmp = tmp_path_factory.mktemp("glisten-ssh-permitopen")
    limited = sshKeygen(tmp / "id_limited", "ed25519")
    ca = sshKeygen(tmp / "ca", "ed25519")
    (tmp / "authorized_keys").write_bytes(
        b'permitopen="127.0.0.1:%d" ' % echo["port"]
        + Path(str(limited) + ".pub").read_bytes()
        + b"cert-authority "
        + Path(str(ca) + ".pub").read_bytes()
    )
    args = ["--authorized-keys", str(tmp / "authorized_keys"), "--permit-open", "*:0"]
    with glistenSsh(tmp, *args) as port:
        yield {"port": port, "tmp": tmp, "limited": limited, "ca": ca}


def _forwarded(server: dict[str, Any], key: Path, destination: int) -> bytes:
    local = freePort()
    proc = subprocess.Popen(
        [
            requireBinary("ssh"),
            "-N",
            "-L",
            f"127.0.0.1:{local}:127.0.0.1:{destination}",
            *("-p", str(server["port"]), "-i", str(key), "-o", "IdentitiesOnly=yes"),
            *("-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"),
            *("-o", "BatchMode=yes", "-o", "LogLevel=ERROR"),
            "root@127.0.0.1",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        waitForPort(local, proc)
        return _roundTrip(lambda: socket.create_connection(("127.0.0.1", local)), b"ping")
    finally:
        stopProcess(proc)


def test_permitOpenLimitsLocalForwards(permitServer: dict[str, Any], echo: dict[str, Any]) -> None:
    assert _forwarded(permitServer, permitServer["limited"], echo["port"]) == b"ping"
    # The server allows any destination, the key only the echo server.
    with _TCPEcho(("127.0.0.1", 0), _Echo) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        try:
            assert _forwarded(permitServer, permitServer["limited"], other.server_address[1]) == b""
        finally:
            other.shutdown()


def test_certificateExtensionsGovernForwarding(
    permitServer: dict[str, Any], echo: dict[str, Any]
) -> None:
    tmp = permitServer["tmp"]
    allowed = sshKeygen(tmp / "id_cert_fwd", "ed25519")
    _sign(tmp, permitServer["ca"], allowed, "-I", "fwd", "-n", "root")
    assert _forwarded(permitServer, allowed, echo["port"]) == b"ping"
    denied = sshKeygen(tmp / "id_cert_nofwd", "ed25519")
    _sign(tmp, permitServer["ca"], denied, "-I", "nofwd", "-n", "root", "-O", "no-port-forwarding")
    assert _forwarded(permitServer, denied, echo["port"]) == b""


def test_revokedKeysCertificateRefused(certServer: dict[str, Any]) -> None:
    key = certServer["revokedKey"]
    _sign(certServer["tmp"], certServer["trustedCA"], key, "-I", "revoked", "-n", "alice")
    result = _ssh(certServer["port"], key, "-l", "alice", "127.0.0.1", "echo no")
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr


# ---------------------------------------------------------------- asyncssh, a third implementation

ASYNCSSH_CLIENT = """
import asyncio, sys
import asyncssh

async def main():
    port, key, cert, knownHosts = sys.argv[1:5]
    async with asyncssh.connect(
        "127.0.0.1", int(port), username="alice",
        client_keys=[(key, cert)], known_hosts=knownHosts,
    ) as conn:
        result = await conn.run("echo asyncssh-" + conn.get_extra_info("username"))
        sys.stdout.write(result.stdout)

asyncio.run(main())
"""


def test_asyncsshWithGlistenIssuedCertificates(tmp_path: Path) -> None:
    """asyncssh accepts glisten's host certificate through ``@cert-authority`` and logs in with
    a user certificate glisten issued: both signed by ``Key.signCertificate``."""
    import sys

    userCA, hostCA = Key.generate("ecdsa", 256), Key.generate("ed25519")
    (tmp_path / "trusted").write_bytes(userCA.public().toString("openssh") + b"\n")
    from glisten.conch.tap import loadHostKeys

    hostKey = loadHostKeys(str(tmp_path / "hostkeys"))[b"ssh-ed25519"]
    hostCert = hostCA.signCertificate(hostKey, CERT_HOST, "host", [b"127.0.0.1"])
    (tmp_path / "host-cert.pub").write_bytes(hostCert.toString("openssh") + b"\n")
    user = Key.generate("rsa", 2048)
    (tmp_path / "id").write_bytes(user.toString("openssh"))
    (tmp_path / "id").chmod(0o600)
    userCert = userCA.signCertificate(user, CERT_USER, "alice-rsa", [b"alice"])
    (tmp_path / "id-cert.pub").write_bytes(userCert.toString("openssh") + b"\n")
    (tmp_path / "client.py").write_text(ASYNCSSH_CLIENT)
    args = ["--trusted-user-ca-keys", str(tmp_path / "trusted")]
    args += ["--host-certificate", str(tmp_path / "host-cert.pub")]
    with glistenSsh(tmp_path, *args) as port:
        known = tmp_path / "known_hosts"
        known.write_bytes(
            b"@cert-authority [127.0.0.1]:%d " % port + hostCA.public().toString("openssh")
        )
        result = subprocess.run(
            [
                sys.executable,
                str(tmp_path / "client.py"),
                str(port),
                str(tmp_path / "id"),
                str(tmp_path / "id-cert.pub"),
                str(known),
            ],
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout == b"asyncssh-alice\n"
        # The same client with a CA nobody trusts for host certificates is refused.
        known.write_bytes(
            b"@cert-authority [127.0.0.1]:%d " % port + userCA.public().toString("openssh")
        )
        refused = subprocess.run(
            [sys.executable, str(tmp_path / "client.py"), str(port), str(tmp_path / "id")]
            + [str(tmp_path / "id-cert.pub"), str(known)],
            capture_output=True,
            timeout=60,
        )
        assert refused.returncode != 0


@pytest.mark.parametrize("kind,bits", [("rsa", 2048), ("ed25519", None)])
def test_endpointUsesAnAgentsCertificate(
    certSshd: dict[str, Any], sshAgent: dict[str, Any], kind: str, bits: int | None
) -> None:
    """ssh-add loads KEY-cert.pub with KEY; the endpoint offers the agent's certificate and
    the agent signs (for RSA with the SHA-2 flag of the certificate's algorithm)."""
    from glisten.internet.endpoints import UNIXClientEndpoint

    tmp = certSshd["tmp"]
    keyPath = sshKeygen(tmp / f"agent_{kind}", kind, bits)
    _sign(tmp, certSshd["userCA"], keyPath, "-I", "agent", "-n", "root")
    subprocess.run(
        [requireBinary("ssh-add"), str(keyPath)],
        env=sshAgent["env"],
        check=True,
        capture_output=True,
    )
    knownHosts = _caKnownHosts(certSshd, certSshd["hostCA"])

    async def main(reactor: Any) -> bytes:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"echo from-agent",
            b"root",
            b"127.0.0.1",
            certSshd["port"],
            agentEndpoint=UNIXClientEndpoint(reactor, str(sshAgent["sock"])),
            knownHosts=knownHosts,
        )
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    assert _run(main) == b"from-agent\n"


def test_sshWithOnlyThePlainHostKeyOnRecord(certServer: dict[str, Any]) -> None:
    """OpenSSH asks for host certificates first; with no CA on record it checks the certified
    key as a plain key, so serving a certificate does not lock out existing clients."""
    key = _userCert(certServer, "trustedCA", "plainhost", "-n", "alice")
    hostKey = Path(certServer["tmp"] / "hostkeys" / "ssh_host_ed25519_key.pub").read_bytes()
    knownHosts = certServer["tmp"] / "known_hosts_plain"
    knownHosts.write_bytes(b"[127.0.0.1]:%d " % certServer["port"] + hostKey)
    result = _ssh(
        certServer["port"],
        key,
        "-o",
        "HostKeyAlgorithms=ssh-ed25519-cert-v01@openssh.com,ssh-ed25519",
        "-l",
        "alice",
        "127.0.0.1",
        "echo ok",
        knownHosts=knownHosts,
    )
    assert result.returncode == 0, result.stderr
