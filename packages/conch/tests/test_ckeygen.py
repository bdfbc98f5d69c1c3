"""The ``ckeygen`` tool: make, show, fingerprint, re-encrypt and convert keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glisten.conch.scripts.ckeygen import run
from glisten.conch.ssh.keys import EncryptedKeyError, Key


@pytest.mark.parametrize("kind, bits", [("ed25519", None), ("ecdsa", 384), ("rsa", 2048)])
def test_generate(
    tmp_path: Path, kind: str, bits: int | None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "key"
    args = ["-t", kind, "-f", str(path), "-N", "", "-C", "me@host"]
    if bits:
        args += ["-b", str(bits)]
    assert run(args) == 0
    key = Key.fromFile(str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    assert (path.parent / "key.pub").read_bytes().endswith(b" me@host\n")
    assert Key.fromFile(str(path) + ".pub") == key.public()
    assert "SHA256:" + key.fingerprint("sha256-base64") in capsys.readouterr().out
    # Never overwrites.
    assert run(args) == 1


def test_badSizes(tmp_path: Path) -> None:
    assert run(["-t", "ecdsa", "-b", "200", "-f", str(tmp_path / "k"), "-N", ""]) == 1
    assert run(["-t", "rsa", "-b", "1024", "-f", str(tmp_path / "k"), "-N", ""]) == 1


def test_passphraseChangeShowAndFingerprint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "key")
    assert run(["-t", "ed25519", "-f", path, "-N", "first", "-q"]) == 0
    with pytest.raises(EncryptedKeyError):
        Key.fromFile(path)
    assert run(["-p", "-f", path, "-P", "wrong", "-N", "second"]) == 1
    assert run(["-p", "-f", path, "-P", "first", "-N", "second", "-q"]) == 0
    key = Key.fromFile(path, passphrase="second")
    capsys.readouterr()
    assert run(["-y", "-f", path, "-P", "second"]) == 0
    assert capsys.readouterr().out.encode() == key.public().toString("openssh") + b"\n"
    assert run(["-l", "-f", path, "-o", "md5-hex"]) == 0
    assert key.fingerprint("md5-hex") in capsys.readouterr().out
    assert run(["-e", "-f", path, "-P", "second"]) == 0
    assert "BEGIN SSH2 PUBLIC KEY" in capsys.readouterr().out


def test_convert(tmp_path: Path) -> None:
    path = str(tmp_path / "key")
    assert run(["-t", "ecdsa", "-b", "256", "-f", path, "-N", "pw", "-q"]) == 0
    key = Key.fromFile(path, passphrase="pw")
    assert run(["--convert", "PEM", "-f", path, "-P", "pw", "-q"]) == 0
    assert Path(path).read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert Key.fromFile(path, passphrase="pw") == key
    assert run(["--convert", "v1", "-f", path, "-P", "pw", "-q"]) == 0
    assert Path(path).read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert Key.fromFile(path, passphrase="pw") == key


def test_needsSomethingToDo(tmp_path: Path) -> None:
    assert run([]) == 1
    assert run(["-f", str(tmp_path / "missing"), "-y", "-P", ""]) == 1


def test_signCertificates(tmp_path: Path) -> None:
    import time

    from glisten.conch.ssh.keys import CERT_HOST, CERT_USER

    ca = tmp_path / "ca"
    assert run(["-t", "ed25519", "-f", str(ca), "-N", "", "-q"]) == 0
    for name in ("user", "host"):
        assert run(["-t", "ecdsa", "-f", str(tmp_path / name), "-N", "", "-q"]) == 0
    before = int(time.time())
    args = ["-s", str(ca), "-I", "alice@corp", "-n", "alice,ops", "-V", "-5m:+1h", "-z", "3"]
    args += ["-O", "no-pty", "-O", "force-command=uptime", "-O", "extension:x@corp=v", "-q"]
    assert run([*args, str(tmp_path / "user.pub")]) == 0
    cert = Key.fromFile(str(tmp_path / "user-cert.pub")).certificate
    assert cert is not None
    assert (cert.type, cert.keyId, cert.principals, cert.serial) == (
        CERT_USER,
        b"alice@corp",
        (b"alice", b"ops"),
        3,
    )
    assert before - 301 <= cert.validAfter <= before - 299
    assert before + 3599 <= cert.validBefore <= int(time.time()) + 3600
    assert cert.criticalOption(b"force-command") == b"uptime"
    assert b"permit-pty" not in cert.extensions and b"permit-port-forwarding" in cert.extensions
    assert cert.extensions[b"x@corp"] == b"\x00\x00\x00\x01v"
    assert cert.signatureKey == Key.fromFile(str(ca) + ".pub")
    cert.checkAuthority(CERT_USER, b"alice")
    hostArgs = ["-s", str(ca), "-I", "h", "-h", "-n", "h.example", "-V", "20300101:20310101Z"]
    assert run([*hostArgs, "-q", str(tmp_path / "host.pub")]) == 0
    host = Key.fromFile(str(tmp_path / "host-cert.pub")).certificate
    assert host is not None and host.type == CERT_HOST and host.extensions == {}
    assert host.validBefore - host.validAfter >= 365 * 86400
    bad = [
        ["-s", str(ca), str(tmp_path / "user.pub")],  # no -I
        ["-s", str(ca), "-I", "x", "-O", "bogus", str(tmp_path / "user.pub")],
        ["-s", str(ca), "-I", "x", "-V", "yesterday", str(tmp_path / "user.pub")],
        ["-s", str(ca), "-I", "x", str(tmp_path / "missing.pub")],
    ]
    for argv in bad:
        assert run(argv) == 1


def test_revocationLists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from glisten.conch.ssh.keys import CERT_USER
    from glisten.conch.ssh.krl import KeyRevocationList

    ca = Key.generate("ed25519")
    (tmp_path / "ca.pub").write_bytes(ca.public().toString("openssh") + b"\n")
    keys = {name: Key.generate("ed25519") for name in ("a", "b", "c", "d", "e", "f")}
    for name, key in keys.items():
        (tmp_path / f"{name}.pub").write_bytes(key.public().toString("openssh") + b"\n")

    def cert(serial: int, keyId: str) -> Key:
        return ca.signCertificate(Key.generate("ed25519"), CERT_USER, keyId, [b"u"], serial=serial)

    certs = {
        "s5": cert(5, "x"),
        "s15": cert(15, "x"),
        "s30": cert(30, "x"),
        "id": cert(0, "lost"),
        "byfile": cert(77, "y"),
        "byfile0": cert(0, "zero-id"),
    }
    for name, c in certs.items():
        (tmp_path / f"{name}-cert.pub").write_bytes(c.public().toString("openssh") + b"\n")
    fingerprint = "SHA256:" + keys["e"].fingerprint("sha256-base64")
    spec = tmp_path / "spec"
    spec.write_text(
        "# revoked\n\nserial: 5\nserial: 10-20\nid: lost\n"
        f"key: {(tmp_path / 'a.pub').read_text()}"
        f"sha1: {(tmp_path / 'b.pub').read_text()}"
        f"sha256: {(tmp_path / 'c.pub').read_text()}"
        f"hash: {fingerprint}\n"
    )
    krl = str(tmp_path / "krl")
    args = ["-k", "-f", krl, "-s", str(tmp_path / "ca.pub"), "-z", "4", "-q", str(spec)]
    assert run(args) == 0
    # The update goes to a new file renamed over the KRL: a reader that opened the old one
    # still reads it whole, and no temporary file stays behind.
    with open(krl, "rb") as reader:
        old = KeyRevocationList.fromFile(krl).toBytes()
        assert run(["-k", "-u", "-f", krl, "-q", str(tmp_path / "d.pub")]) == 0
        assert reader.read() == old
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
    files = [str(tmp_path / "byfile-cert.pub"), str(tmp_path / "byfile0-cert.pub")]
    assert run(["-k", "-u", "-f", krl, "-q", *files]) == 0
    parsed = KeyRevocationList.fromFile(krl)
    assert parsed.version == 6
    revoked = {n for n, k in keys.items() if parsed.isRevoked(k)}
    revoked |= {n for n, c in certs.items() if parsed.isRevoked(c)}
    assert revoked == {"a", "b", "c", "d", "e", "s5", "s15", "id", "byfile", "byfile0"}
    capsys.readouterr()
    assert run(["-Q", "-f", krl, str(tmp_path / "f.pub")]) == 0
    assert run(["-Q", "-f", krl, str(tmp_path / "f.pub"), str(tmp_path / "s5-cert.pub")]) == 1
    out = capsys.readouterr().out
    assert out.endswith("f.pub: ok\n" + str(tmp_path / "s5-cert.pub") + ": REVOKED\n")


@pytest.mark.parametrize(
    "line,error",
    [
        ("serial: 5", "needs the CA key"),
        ("serial: 0", "bad serial"),
        ("serial: 9-3", "bad serial"),
        ("hash: MD5:aa", "SHA256"),
        ("hash: SHA256:abc", "bad SHA256"),
        ("key: garbage", "not a public key"),
    ],
)
def test_badRevocationSpecs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, error: str
) -> None:
    spec = tmp_path / "spec"
    spec.write_text(line + "\n")
    ca = []
    if line.startswith("serial: ") and "needs" not in error:
        (tmp_path / "ca.pub").write_bytes(Key.generate("ed25519").public().toString("openssh"))
        ca = ["-s", str(tmp_path / "ca.pub")]
    assert run(["-k", "-f", str(tmp_path / "krl"), *ca, str(spec)]) == 1
    assert error in capsys.readouterr().err
    assert not (tmp_path / "krl").exists()
