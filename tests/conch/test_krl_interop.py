"""
Key revocation lists against OpenSSH: KRLs that ``ssh-keygen -k`` writes give glisten the
answers ``ssh-keygen -Q`` gives, ``ssh-keygen -Q`` reads the KRLs glisten writes, and
``glisten ssh --revoked-keys KRL`` refuses OpenSSH's ``ssh`` with a revoked key or certificate.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.ssh.keys import Key
from glisten.conch.ssh.krl import KeyRevocationList

from .conftest import glistenSsh, requireBinary, runSshd, sshKeygen
from .test_certificates_interop import _sign, _ssh, assertLogin

pytestmark = pytest.mark.interop


def _keygen(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([requireBinary("ssh-keygen"), *args], capture_output=True, timeout=60)


def _openSSHRevoked(krl: Path, pub: Path) -> bool:
    """What ``ssh-keygen -Q`` says of one key or certificate file."""
    result = _keygen("-Q", "-f", str(krl), str(pub))
    assert result.returncode in (0, 1), result.stderr
    if b": REVOKED" in result.stdout:
        assert result.returncode == 1
        return True
    assert b": ok" in result.stdout, result.stdout
    return False


def _pub(key: Path) -> Path:
    return Path(str(key) + ".pub")


@pytest.fixture(scope="module")
def keySet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """CAs, plain keys of each kind and certificates with chosen serials and key IDs."""
    tmp = tmp_path_factory.mktemp("krl")
    ca = sshKeygen(tmp / "ca", "ed25519")
    ca2 = sshKeygen(tmp / "ca2", "ecdsa", 256)
    badCA = sshKeygen(tmp / "bad_ca", "rsa", 2048)
    files: dict[str, Path] = {}
    for name, kind, bits in [
        ("explicit", "ed25519", None),
        ("bykeyfile", "ecdsa", 384),
        ("bysha256", "rsa", 2048),
        ("bysha1", "ed25519", None),
        ("byhash", "ecdsa", 256),
        ("fine", "ed25519", None),
        ("fine_rsa", "rsa", 2048),
    ]:
        files[name] = _pub(sshKeygen(tmp / name, kind, bits))
    for name, signer, serial, keyId in [
        ("c_serial5", ca, 5, "s5"),
        ("c_serial6", ca, 6, "s6"),
        ("c_range10", ca, 10, "r10"),
        ("c_range15", ca, 15, "r15"),
        ("c_range20", ca, 20, "r20"),
        ("c_range21", ca, 21, "r21"),
        ("c_bitmap102", ca, 102, "b102"),
        ("c_bitmap103", ca, 103, "b103"),
        ("c_bitmap160", ca, 160, "b160"),
        ("c_id", ca, 0, "stolen-laptop"),
        ("c_serial0", ca, 0, "zero"),
        ("c_ca2_serial5", ca2, 5, "s5"),
        ("c_ca2_wild", ca2, 77, "everywhere"),
        ("c_ca_wild", ca, 78, "everywhere"),
        ("c_badca", badCA, 1, "any"),
    ]:
        key = sshKeygen(tmp / name, "ed25519")
        files[name], _ = _sign(tmp, signer, key, "-I", keyId, "-n", "alice", "-z", str(serial))
    # A certificate of a key revoked as a plain key.
    files["c_of_explicit"], _ = _sign(
        tmp, ca, tmp / "explicit", "-I", "e", "-n", "alice", "-z", "900", name="explicit_copy"
    )
    return {"tmp": tmp, "ca": ca, "ca2": ca2, "badCA": badCA, "files": files}


def _openSSHKRL(keySet: dict[str, Any], tool: list[str] | None = None) -> Path:
    """The KRL ``ssh-keygen -k`` (or ``tool``, as ``glisten-ckeygen -k``) writes from the
    same specifications and key files."""
    tmp: Path = keySet["tmp"]
    files = keySet["files"]
    name = "openssh" if tool is None else "glisten"
    krl = tmp / f"{name}.krl"

    def keygen(*args: str) -> subprocess.CompletedProcess[bytes]:
        if tool is None:
            return _keygen(*args)
        return subprocess.run([*tool, *args], capture_output=True, timeout=60)

    spec = tmp / "spec"
    # Serials 100 to 200 in even steps: dense enough that ssh-keygen writes a bitmap.
    bitmap = "".join(f"serial: {n}\n" for n in range(100, 201, 2))
    spec.write_text(f"serial: 5\nserial: 10-20\n{bitmap}id: stolen-laptop\nid: everywhere\n")
    result = keygen("-k", "-f", str(krl), "-s", str(_pub(keySet["ca"])), str(spec))
    assert result.returncode == 0, result.stderr
    keysSpec = tmp / "keys-spec"
    fingerprint = _keygen("-l", "-E", "sha256", "-f", str(files["byhash"])).stdout.split()[1]
    keysSpec.write_text(
        f"key: {files['explicit'].read_text()}"
        f"sha256: {files['bysha256'].read_text()}"
        f"sha1: {files['bysha1'].read_text()}"
        f"hash: {fingerprint.decode()}\n"
        f"key: {_pub(keySet['badCA']).read_text()}"
    )
    # No -s (ssh-keygen revokes key IDs only with one, so a KRL for every CA is tested
    # with glisten's own below); the plain key file is revoked whole. -u adds to the KRL.
    for source in (keysSpec, files["bykeyfile"]):
        result = keygen("-k", "-u", "-f", str(krl), str(source))
        assert result.returncode == 0, result.stderr
    return krl


def test_sameAnswersAsSshKeygen(keySet: dict[str, Any]) -> None:
    krl = _openSSHKRL(keySet)
    data = krl.read_bytes()
    parsed = KeyRevocationList.fromBytes(data)
    # Which serial sections ssh-keygen writes (list, range, bitmap) varies from run to run
    # for the same serials; the answers below are compared whatever it chose, and the
    # range form is read by ssh-keygen from glisten's own KRLs in the next test.
    answers = {}
    for name, path in keySet["files"].items():
        ours = parsed.isRevoked(Key.fromFile(path))
        assert ours is _openSSHRevoked(krl, path), name
        answers[name] = ours
    revoked = {name for name, yes in answers.items() if yes}
    assert revoked == {
        "explicit",
        "bykeyfile",
        "bysha256",
        "bysha1",
        "byhash",
        "c_serial5",
        "c_range10",
        "c_range15",
        "c_range20",
        "c_bitmap102",
        "c_bitmap160",
        "c_id",
        "c_ca_wild",
        "c_badca",
        "c_of_explicit",
    }


def test_glistenCkeygenWritesTheSameKRL(keySet: dict[str, Any]) -> None:
    """``glisten-ckeygen -k`` reads the same specifications; ``ssh-keygen -Q`` gives the
    same answers for its KRL as for OpenSSH's, and ``glisten-ckeygen -Q`` does too."""
    import sys

    ckeygen = [sys.executable, "-m", "glisten.conch.scripts.ckeygen"]
    openssh = _openSSHKRL(keySet)
    ours = _openSSHKRL(keySet, ckeygen)
    listing = _keygen("-Q", "-l", "-f", str(ours))
    assert listing.returncode == 0, listing.stderr
    for name, path in keySet["files"].items():
        expected = _openSSHRevoked(openssh, path)
        assert _openSSHRevoked(ours, path) is expected, name
        query = subprocess.run([*ckeygen, "-Q", "-f", str(openssh), str(path)], capture_output=True)
        assert query.returncode == int(expected), (name, query.stderr)
        assert query.stdout.endswith(b": REVOKED\n" if expected else b": ok\n")


def test_sshKeygenReadsOurKRL(keySet: dict[str, Any]) -> None:
    files = keySet["files"]
    ca = Key.fromFile(_pub(keySet["ca"]))
    ours = KeyRevocationList(
        keys=[Key.fromFile(files["explicit"]), Key.fromFile(_pub(keySet["badCA"]))],
        sha256Keys=[Key.fromFile(files["bysha256"])],
        serials={ca: [5, (10, 20), 102, 160]},
        keyIds={ca: [b"stolen-laptop"], None: [b"everywhere"]},
        version=3,
        comment=b"glisten",
    )
    krl = keySet["tmp"] / "glisten.krl"
    krl.write_bytes(ours.toBytes())
    listing = _keygen("-Q", "-l", "-f", str(krl))
    assert listing.returncode == 0, listing.stderr
    assert b"# KRL version 3" in listing.stdout and b"serial: 10-20" in listing.stdout
    for name, path in files.items():
        assert ours.isRevoked(Key.fromFile(path)) is _openSSHRevoked(krl, path), name


@pytest.fixture(scope="module")
def krlServer(keySet: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``glisten ssh`` trusting the CAs and the plain keys, with the OpenSSH-written KRL."""
    tmp: Path = keySet["tmp"]
    krl = _openSSHKRL(keySet)
    files = keySet["files"]
    (tmp / "authorized_keys").write_bytes(
        files["explicit"].read_bytes() + files["fine"].read_bytes()
    )
    (tmp / "trusted").write_bytes(_pub(keySet["ca"]).read_bytes())
    args = ["--authorized-keys", str(tmp / "authorized_keys")]
    args += ["--trusted-user-ca-keys", str(tmp / "trusted"), "--revoked-keys", str(krl)]
    with glistenSsh(tmp, *args) as port:
        yield {"port": port, "tmp": tmp, "log": tmp / "server.log"}


@pytest.mark.parametrize(
    "name,ok",
    [
        ("fine", True),
        ("explicit", False),  # a plain key the KRL lists
        ("c_serial6", True),
        ("c_serial5", False),  # revoked by serial
        ("c_range15", False),  # by a serial range
        ("c_bitmap160", False),  # by the bitmap
        ("c_id", False),  # by key ID
        ("c_ca_wild", False),  # by another key ID
        ("c_ca2_wild", False),  # an untrusted CA: not revoked, not accepted either
    ],
)
def test_sshRefusedWithRevokedKeyOrCertificate(
    krlServer: dict[str, Any], name: str, ok: bool
) -> None:
    key = krlServer["tmp"] / name
    result = _ssh(krlServer["port"], key, "-l", "alice", "127.0.0.1", "echo in")
    assertLogin(result, b"in\n" if ok else None)
    log = Path(krlServer["log"]).read_bytes()
    assert b"Traceback" not in log
    if not ok and name != "c_ca2_wild":
        fingerprint = Key.fromFile(_pub(key)).fingerprint("sha256-base64").encode()
        assert b"revoked key refused: SHA256:" + fingerprint in log


def test_hashesAreOfThePlainBlob(keySet: dict[str, Any]) -> None:
    """The SHA-256 section holds the hash of the key's blob, which is what ssh-keygen's
    fingerprint shows: the KRL and the fingerprint agree."""
    krl = KeyRevocationList.fromBytes((keySet["tmp"] / "openssh.krl").read_bytes())
    key = Key.fromFile(keySet["files"]["byhash"])
    assert krl.isRevoked(key)
    assert hashlib.sha256(key.blob()).digest() in KeyRevocationList(sha256Keys=[key]).toBytes()


@pytest.fixture(scope="module")
def krlSshd(keySet: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """OpenSSH's ``sshd`` with the same keys, CA and KRL as ``krlServer``."""
    import getpass

    tmp: Path = keySet["tmp"]
    krl = tmp / "openssh.krl"
    if not krl.exists():
        _openSSHKRL(keySet)
    files = keySet["files"]
    (tmp / "sshd_authorized_keys").write_bytes(
        files["explicit"].read_bytes() + files["fine"].read_bytes()
    )
    hostKey = sshKeygen(tmp / "sshd_host", "ed25519")
    with runSshd(
        tmp,
        f"HostKey {hostKey}",
        f"TrustedUserCAKeys {_pub(keySet['ca'])}",
        f"AuthorizedKeysFile {tmp / 'sshd_authorized_keys'}",
        f"RevokedKeys {krl}",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
    ) as port:
        yield {"port": port, "user": getpass.getuser()}


@pytest.mark.parametrize(
    "name",
    ["fine", "explicit", "c_serial6", "c_serial5", "c_range20", "c_range21", "c_bitmap102"]
    + ["c_bitmap103", "c_id", "c_serial0", "c_ca_wild"],
)
def test_sameAnswersAsSshd(
    krlServer: dict[str, Any], krlSshd: dict[str, Any], keySet: dict[str, Any], name: str
) -> None:
    """The certificates name ``alice``: both servers are asked to log in the user sshd runs
    as with ``alice`` among the principals, so the KRL alone decides."""
    tmp: Path = keySet["tmp"]
    key = tmp / name
    user = krlSshd["user"]
    if name.startswith("c_"):
        # A certificate for sshd's user too, from the same CA with the same serial and ID.
        original = Key.fromFile(keySet["files"][name]).certificate
        assert original is not None
        copy = tmp / f"sshd_{name}"
        copy.write_bytes(key.read_bytes())
        copy.chmod(0o600)
        Path(str(copy) + ".pub").write_bytes(_pub(key).read_bytes())
        serial = str(original.serial)
        keyId = original.keyId.decode()
        _sign(tmp, keySet["ca"], copy, "-I", keyId, "-n", f"alice,{user}", "-z", serial)
        key = copy
    outcomes = []
    for port in (krlSshd["port"], krlServer["port"]):
        result = _ssh(port, key, "-l", user, "127.0.0.1", "echo in")
        outcomes.append((result.returncode, result.stdout))
    assert outcomes[0] == outcomes[1], name
    notRevoked = {"fine", "c_serial6", "c_range21", "c_bitmap103", "c_serial0"}
    assert outcomes[0] == ((0, b"in\n") if name in notRevoked else (255, b"")), name
