"""Checkers and authorized_keys parsing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from glisten.conch import checkers
from glisten.conch.error import ValidPublicKey
from glisten.conch.ssh._ssh._userauth import publicKeySignedData
from glisten.cred.error import UnauthorizedLogin
from glisten.internet import defer

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
        b"cert-authority",
        b'principals="x"',
        b'command="unterminated',
        b"no-pty,",
        b'permitopen="host:1"',
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
