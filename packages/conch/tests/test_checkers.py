"""Checkers and authorized_keys parsing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import checkers
from glisten.conch.error import ValidPublicKey
from glisten.conch.ssh._ssh._userauth import publicKeySignedData
from glisten.conch.ssh.keys import CERT_HOST, CERT_USER
from glisten.cred.error import UnauthorizedLogin
from glisten.internet import defer
from glisten.python.failure import Failure

from ._pairs import hostKey

KEY = hostKey()
OTHER = hostKey("ecdsa", 256)
LINE = KEY.public().toString("openssh", comment=b"me@host")


def _entries(text: bytes) -> list[checkers.AuthorizedKey]:
    return list(checkers.readAuthorizedKeys(io.BytesIO(text)))


def test_plainLines() -> None:
    text = b"# comment\n\n" + LINE + b"\n" + OTHER.public().toString("openssh") + b"\ngarbage\n"
    assert [e.key for e in _entries(text)] == [KEY.public(), OTHER.public()]


@pytest.mark.parametrize(
    "options,noPty,command",
    [
        (b"no-pty", True, None),
        (b"restrict", True, None),
        (b"restrict,pty", False, None),
        (b'command="echo \\"hi\\"",no-port-forwarding', False, b'echo "hi"'),
        (
            b'restrict,command="/usr/bin/git-shell -c \\"$SSH_ORIGINAL_COMMAND\\""',
            True,
            b'/usr/bin/git-shell -c "$SSH_ORIGINAL_COMMAND"',
        ),
    ],
)
def test_supportedOptions(options: bytes, noPty: bool, command: bytes | None) -> None:
    (entry,) = _entries(options + b" " + LINE + b"\n")
    assert entry.key == KEY.public()
    assert entry.noPty is noPty
    assert entry.command == command


@pytest.mark.parametrize(
    "options",
    [
        b'environment="noequals"',
        b'environment="=value"',
        b'environment="BAD NAME=1"',
        b"from",
        b'permitlisten="host:99999"',
        b'permitlisten="host:"',
        b'permitlisten="[::1]"',
        b'tunnel="0"',
        b'expiry-time="2026"',
        b'command="unterminated',
        b"no-pty,",
        b'permitopen="host"',
        b'permitopen="host:99999"',
    ],
)
def test_unenforcedOptionsSkipTheLine(options: bytes) -> None:
    assert _entries(options + b" " + LINE + b"\n") == []


def _result(d: defer.Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    return out[0]


def _creds(signed: bool, key: Any = KEY) -> checkers.SSHPrivateKey:
    blob = key.public().blob()
    data = publicKeySignedData(b"sid", b"alice", b"ssh-connection", key.sshType(), blob)
    return checkers.SSHPrivateKey(
        b"alice", key.sshType(), blob, data if signed else None, key.sign(data) if signed else None
    )


def test_checkerQuerySignatureAndOptions(tmp_path: Path) -> None:
    path = tmp_path / "ak"
    path.write_bytes(b"no-pty " + LINE + b"\n")
    checker = checkers.SSHPublicKeyChecker(checkers.AuthorizedKeysFileDB(path))
    assert _result(checker.requestAvatarId(_creds(False))).check(ValidPublicKey)
    avatarID = _result(checker.requestAvatarId(_creds(True)))
    assert avatarID == b"alice"
    assert avatarID.authorizedKey.noPty
    assert _result(checker.requestAvatarId(_creds(True, OTHER))).check(UnauthorizedLogin)
    bad = _creds(True)
    bad.signature = OTHER.sign(bad.sigData or b"")
    assert _result(checker.requestAvatarId(bad)).check(UnauthorizedLogin)


def test_fileDBUsers(tmp_path: Path) -> None:
    path = tmp_path / "ak"
    path.write_bytes(LINE + b"\n")
    db = checkers.AuthorizedKeysFileDB(path, users=[b"git"])
    assert db.getAuthorizedKeys(b"git") == [KEY.public()]
    assert db.getAuthorizedKeys(b"root") == []
    assert checkers.AuthorizedKeysFileDB(tmp_path / "missing").getAuthorizedKeys(b"x") == []


def test_inMemory() -> None:
    checker = checkers.SSHPublicKeyChecker(checkers.InMemorySSHKeyDB({b"alice": [KEY]}))
    assert _result(checker.requestAvatarId(_creds(True))) == b"alice"


def test_unixFiles(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "authorized_keys").write_bytes(b"restrict " + LINE + b"\n")
    (home / ".ssh" / "authorized_keys2").write_bytes(OTHER.public().toString("openssh") + b"\n")

    class Entry:
        pw_dir = str(home)

    class UserDB:
        def getpwnam(self, name: str) -> Entry:
            if name != "alice":
                raise KeyError(name)
            return Entry()

    db = checkers.UNIXAuthorizedKeysFiles(UserDB())
    assert db.getAuthorizedKeys(b"alice") == [KEY.public(), OTHER.public()]
    assert db.getAuthorizedKeyEntries(b"alice")[0].noPty
    assert db.getAuthorizedKeys(b"bob") == []


# ---------------------------------------------------------------- certificates

CA = hostKey("ecdsa", 384)
NOW = 1_800_000_000.0


def _cert(**kw: Any) -> Any:
    args: dict[str, Any] = {
        "certType": CERT_USER,
        "keyId": "id",
        "principals": [b"alice"],
        "validAfter": int(NOW) - 10,
        "validBefore": int(NOW) + 10,
    }
    args.update(kw)
    return KEY.withCertificate(CA.signCertificate(KEY, **args))


def _certCreds(cert: Any, signed: bool = True, address: str | None = "10.1.2.3") -> Any:
    creds = _creds(signed, cert)
    creds.algName = cert.supportedSignatureAlgorithms()[0]
    creds.address = address
    return creds


def _checker(tmp_path: Path, lines: bytes, trusted: Any = None) -> Any:
    path = tmp_path / "ak"
    path.write_bytes(lines)
    return checkers.SSHPublicKeyChecker(
        checkers.AuthorizedKeysFileDB(path), trusted, clock=lambda: NOW
    )


CA_LINE = CA.public().toString("openssh")


@pytest.mark.parametrize(
    "options,cert,ok",
    [
        (b"cert-authority", {}, True),
        (b"cert-authority", {"principals": [b"bob"]}, False),
        (b"cert-authority", {"principals": []}, True),
        (b'cert-authority,principals="deploy,ops"', {"principals": [b"ops"]}, True),
        (b'cert-authority,principals="deploy"', {"principals": [b"alice"]}, False),
        (b"cert-authority", {"validBefore": int(NOW)}, False),
        (b"cert-authority", {"validAfter": int(NOW) + 1}, False),
        (b"cert-authority", {"certType": CERT_HOST}, False),
        (b'cert-authority,expiry-time="20200101"', {}, False),
        (b'cert-authority,expiry-time="29990101Z"', {}, True),
        (b'cert-authority,from="10.0.0.0/8"', {}, True),
        (b'cert-authority,from="192.168.0.0/16"', {}, False),
        (b"cert-authority", {"criticalOptions": {"source-address": "10.0.0.0/8"}}, True),
        (b"cert-authority", {"criticalOptions": {"source-address": "127.0.0.1"}}, False),
        (b"cert-authority", {"criticalOptions": {"verify-required": ""}}, False),
        (b"cert-authority", {"criticalOptions": {"no-such-option": ""}}, False),
        (b"", {}, False),
    ],
)
def test_certificateAuthorityLines(
    tmp_path: Path, options: bytes, cert: dict[str, Any], ok: bool
) -> None:
    line = (options + b" " if options else b"") + CA_LINE + b"\n"
    checker = _checker(tmp_path, line)
    result = _result(checker.requestAvatarId(_certCreds(_cert(**cert))))
    if ok:
        assert result == b"alice"
        assert _result(checker.requestAvatarId(_certCreds(_cert(**cert), False))).check(
            ValidPublicKey
        )
    else:
        assert isinstance(result, Failure) and result.check(UnauthorizedLogin)


def test_certificateNeedsItsOwnSignature(tmp_path: Path) -> None:
    checker = _checker(tmp_path, b"cert-authority " + CA_LINE + b"\n")
    creds = _certCreds(_cert())
    creds.signature = OTHER.sign(creds.sigData)
    assert _result(checker.requestAvatarId(creds)).check(UnauthorizedLogin)
    forged = bytearray(_cert().blob())
    forged[-3] ^= 1
    creds = _certCreds(_cert())
    creds.blob = bytes(forged)
    assert _result(checker.requestAvatarId(creds)).check(UnauthorizedLogin)


def test_plainAndCertificateLinesStayApart(tmp_path: Path) -> None:
    # The CA's own key does not log in through its cert-authority line...
    checker = _checker(tmp_path, b"cert-authority " + CA_LINE + b"\n")
    assert _result(checker.requestAvatarId(_creds(True, CA))).check(UnauthorizedLogin)
    assert list(checkers.AuthorizedKeysFileDB(tmp_path / "ak").getAuthorizedKeys(b"a")) == []
    # ...and a certificate does not log in through its key's plain line.
    checker = _checker(tmp_path, LINE + b"\n")
    assert _result(checker.requestAvatarId(_certCreds(_cert()))).check(UnauthorizedLogin)


def test_trustedUserCAKeys(tmp_path: Path) -> None:
    cas = tmp_path / "cas"
    cas.write_bytes(b"# CAs\n" + CA_LINE + b"\n")
    checker = _checker(tmp_path, b"", checkers.TrustedUserCAKeysFile(cas))
    from glisten.logger import capturedLogs, formatEvent

    with capturedLogs() as events:
        assert _result(checker.requestAvatarId(_certCreds(_cert(keyId=b"k\x1b")))) == b"alice"
    (text,) = [formatEvent(e) for e in events if "certificate login" in formatEvent(e)]
    assert "b'k\\x1b'" in text and CA.fingerprint("sha256-base64") in text
    for bad in ({"principals": [b"bob"]}, {"principals": []}, {"validBefore": int(NOW)}):
        assert _result(checker.requestAvatarId(_certCreds(_cert(**bad)))).check(UnauthorizedLogin)
    with capturedLogs() as events:
        _result(checker.requestAvatarId(_certCreds(_cert(validBefore=int(NOW)))))
    assert any("certificate refused: certificate expired" in formatEvent(e) for e in events)
    other = checkers.SSHPublicKeyChecker(checkers.InMemorySSHKeyDB({}), [OTHER.public()])
    assert _result(other.requestAvatarId(_certCreds(_cert()))).check(UnauthorizedLogin)


def test_certificateRestrictionsReachTheAvatarID(tmp_path: Path) -> None:
    checker = _checker(tmp_path, b'cert-authority,permitopen="db:5432" ' + CA_LINE + b"\n")
    cert = _cert(criticalOptions={"force-command": "uptime"}, extensions={"permit-pty": ""})
    entry = _result(checker.requestAvatarId(_certCreds(cert))).authorizedKey
    assert entry.certificate is not None and entry.certificate.keyId == b"id"
    assert entry.command == b"uptime"
    assert not entry.noPty
    assert entry.noPortForwarding and entry.noAgentForwarding
    assert entry.allowConnect("db", 5432) and not entry.allowConnect("db", 22)
    bare = _result(checker.requestAvatarId(_certCreds(_cert(extensions={})))).authorizedKey
    assert bare.noPty and bare.command is None
    # The line's command= and the certificate's force-command must agree.
    checker = _checker(tmp_path, b'cert-authority,command="id" ' + CA_LINE + b"\n")
    assert _result(checker.requestAvatarId(_certCreds(cert))).check(UnauthorizedLogin)


@pytest.mark.parametrize(
    "value,expected",
    [
        (b"20300102", (2030, 1, 2, 0, 0, 0)),
        (b"203001021304", (2030, 1, 2, 13, 4, 0)),
        (b"20300102130405Z", (2030, 1, 2, 13, 4, 5)),
    ],
)
def test_expiryTime(value: bytes, expected: tuple[int, ...]) -> None:
    import calendar
    import time

    parsed = checkers.parseExpiryTime(value)
    if value.endswith(b"Z"):
        assert parsed == calendar.timegm((*expected, 0, 0, 0))
    else:
        assert parsed == time.mktime((*expected, 0, 0, -1))
    for bad in (b"2030", b"20301302", b"2030010213", b"x0300102"):
        assert checkers.parseExpiryTime(bad) is None


def test_permitOpenLines() -> None:
    (entry,) = _entries(b'permitopen="a:1",permitopen="[::1]:*" ' + LINE + b"\n")
    assert entry.permitOpen == [("a", 1), ("::1", 0)]
    assert entry.allowConnect("::1", 9) and not entry.allowConnect("b", 1)
    (plain,) = _entries(LINE + b"\n")
    assert plain.permitOpen is None and plain.allowConnect("anything", 1)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [b"expiry-time", b"permitopen", b"permitlisten", b"principals", b"cert-authority"]
            ),
            st.binary(max_size=24).filter(lambda b: b'"' not in b and b"\\" not in b),
        ),
        max_size=4,
    )
)
def test_randomCertificateOptionValuesNeverRaise(options: list[tuple[bytes, bytes]]) -> None:
    text = b",".join(name + b'="' + value + b'"' for name, value in options)
    for entry in _entries(text + b" " + LINE + b"\n"):
        entry.isExpired(NOW)
        entry.allowConnect("h", 1)
        entry.allowListen("h", 1)
        assert entry.principals is None or isinstance(entry.principals, list)


def test_revokedKeys(tmp_path: Path) -> None:
    revoked = tmp_path / "revoked"
    lines = CA_LINE + b"\n" + LINE + b"\n"
    checker = checkers.SSHPublicKeyChecker(
        checkers.InMemorySSHKeyDB({b"alice": [KEY.public(), OTHER.public()]}),
        [CA.public()],
        clock=lambda: NOW,
        revokedKeys=checkers.PublicKeysFile(revoked),
    )
    other = _creds(True, OTHER)
    other.username = b"alice"
    cert = _cert()
    for text, keyOK, otherOK, certOK in [
        (b"# nothing revoked\n", True, True, True),
        (LINE + b"\n", False, True, False),  # the key, and so its certificates
        (CA_LINE + b"\n", True, True, False),  # the CA's certificates
        (cert.public().toString("openssh") + b"\n", True, True, False),  # that certificate
        (lines, False, True, False),
    ]:
        revoked.write_bytes(text)
        for creds, ok in [(_creds(True), keyOK), (other, otherOK), (_certCreds(cert), certOK)]:
            result = _result(checker.requestAvatarId(creds))
            assert (result == b"alice") is ok, (text, creds.algName)
    # An unreadable list refuses every key, as OpenSSH does.
    revoked.unlink()
    assert _result(checker.requestAvatarId(other)).check(UnauthorizedLogin)
