"""UNIX password checking: verifyCryptedPassword and UNIXPasswordDatabase over test files."""

from __future__ import annotations

import ctypes
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import _crypt, checkers
from glisten.cred.credentials import UsernamePassword
from glisten.cred.error import UnauthorizedLogin
from glisten.python.failure import Failure

# "hunter2" hashed by other implementations than the one under test: openssl passwd -6/-5/-1
# and the bcrypt package; the yescrypt one was made by libxcrypt once and kept.
VECTORS = {
    "sha512crypt": "$6$saltsalt$8iYtNHxjWRl.NF6oNZ5tF.iKFlQREaXBLlSmZKP6dy9l5z3vsooWNW0/"
    "GZ6Nej73/TFug6pIPSqbJoCT6dfnj.",
    "sha256crypt": "$5$saltsalt$OIdfjX.u4Y3SJ4I2bX8w5BMf1VAUhHABNUirScDzZi3",
    "md5crypt": "$1$saltsalt$ZliGyAN3DciDHEkDboonh/",
    "bcrypt": "$2b$04$oNx18QVbgyCY5fHcAtl9deLSVSUHAmXbvALgfsF6SB8kQSFnIdVg.",
    "yescrypt": "$y$j9T$AnRNcij99GLcl5kC0RIlG.$G68YHTHGTsIhMKjRdEVvU2BXvhl2MMiR3FVgXqvtOFD",
}


@pytest.mark.parametrize("method", sorted(VECTORS))
def test_verifiesEachMethod(method: str) -> None:
    crypted = VECTORS[method]
    assert checkers.verifyCryptedPassword(crypted, "hunter2")
    assert checkers.verifyCryptedPassword(crypted.encode(), b"hunter2")
    assert not checkers.verifyCryptedPassword(crypted, "hunter3")
    assert not checkers.verifyCryptedPassword(crypted, "")


@pytest.mark.parametrize("prefix", [b"$y$", b"$6$", b"$5$", b"$2b$", b"$1$"])
def test_freshHashes(prefix: bytes) -> None:
    lib = _crypt.libcrypt()
    setting = lib.gensalt(prefix)
    assert setting is not None and setting.startswith(prefix)
    crypted = lib.crypt("pässword".encode(), setting)
    assert crypted is not None
    assert checkers.verifyCryptedPassword(crypted, "pässword")
    assert not checkers.verifyCryptedPassword(crypted, "passwörd")


@pytest.mark.parametrize(
    "crypted", ["", "!", "!!", "*", "*LK*", "x", "!" + VECTORS["sha512crypt"], "$6$", "$9$abc$def"]
)
def test_unusableFieldsNeverMatch(crypted: str) -> None:
    for password in ("", "hunter2", "x", "!", "*", crypted):
        assert not checkers.verifyCryptedPassword(crypted, password)


def test_nulByteRefused() -> None:
    # C would see only "hunter2": such a password must not pass for it.
    assert not checkers.verifyCryptedPassword(VECTORS["sha512crypt"], "hunter2\x00garbage")


def test_descryptTruncationIsTheMethods() -> None:
    """Old DES hashes check 8 characters (what the system would do too); the hash method
    decides, glisten does not reject it."""
    lib = _crypt.libcrypt()
    crypted = lib.crypt(b"password", b"ab")
    if crypted is None:
        pytest.skip("this libcrypt was built without DES")  # pragma: no cover
    assert checkers.verifyCryptedPassword(crypted, b"password")


def test_overlongPasswordRefused() -> None:
    lib = _crypt.libcrypt()
    setting = lib.gensalt(b"$6$")
    assert setting is not None
    long = b"a" * (_crypt.MAX_PASSPHRASE + 1)
    assert lib.crypt(long, setting) is None
    assert not checkers.verifyCryptedPassword(VECTORS["sha512crypt"], long)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.binary(max_size=40))
def test_randomInputOnlyEverAnswersFalse(crypted: bytes, password: bytes) -> None:
    assert checkers.verifyCryptedPassword(crypted, password) in (False, True)
    assert not checkers.verifyCryptedPassword(b"!" + crypted, password)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=20).filter(lambda p: p != "hunter2"))
def test_mutatedPasswordsFail(password: str) -> None:
    assert not checkers.verifyCryptedPassword(VECTORS["sha256crypt"], password)


# ----------------------------------------------------------------------------- libcrypt missing


def test_missingLibcryptIsAClearError() -> None:
    with pytest.raises(_crypt.CryptUnavailable, match="libcrypt1"):
        _crypt.loadLibcrypt(["libglisten-no-such-crypt.so.9"], lambda name: None)


def test_libraryWithoutCryptRefused() -> None:
    with pytest.raises(_crypt.CryptUnavailable, match="crypt_rn"):
        _crypt.Libcrypt(ctypes.CDLL("libm.so.6"))


def test_databaseFailsAtOnceWithoutLibcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> _crypt.Libcrypt:
        raise _crypt.CryptUnavailable("no libcrypt here")

    monkeypatch.setattr(_crypt, "libcrypt", missing)
    with pytest.raises(checkers.CryptUnavailable):
        checkers.UNIXPasswordDatabase()
    with pytest.raises(checkers.CryptUnavailable):
        checkers.verifyCryptedPassword(VECTORS["md5crypt"], "hunter2")


# ----------------------------------------------------------------------------- the database


def _files(tmp_path: Path) -> tuple[Path, Path]:
    shadow = tmp_path / "shadow"
    passwd = tmp_path / "passwd"
    today = int(time.time() // 86400)
    shadow.write_text(
        "root:*:19000:0:99999:7:::\n"
        f"alice:{VECTORS['yescrypt']}:19000:0:99999:7:::\n"
        f"bob:!{VECTORS['sha512crypt']}:19000:0:99999:7:::\n"
        "carol::19000:0:99999:7:::\n"
        f"dave:{VECTORS['sha256crypt']}:19000:0:99999:7::{today - 1}:\n"
        f"erin:{VECTORS['sha256crypt']}:19000:0:99999:7::{today + 30}:\n"
        f"+nis:{VECTORS['md5crypt']}:::::::\n"
    )
    passwd.write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "alice:x:1000:1000::/home/alice:/bin/sh\n"
        "bob:x:1001:1001::/home/bob:/bin/sh\n"
        f"frank:{VECTORS['md5crypt']}:1002:1002::/home/frank:/bin/sh\n"
        f"gina:{VECTORS['bcrypt']}:1003:1003::/home/gina:/bin/sh\n"
    )
    return shadow, passwd


def _result(d: Any) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "the checker must answer at once"
    return results[0]


def _check(db: checkers.UNIXPasswordDatabase, user: str | bytes, password: str) -> Any:
    return _result(db.requestAvatarId(UsernamePassword(user, password)))


@pytest.mark.parametrize(
    "user,password,admitted",
    [
        ("alice", "hunter2", True),  # shadow, yescrypt
        ("alice", "hunter3", False),
        ("bob", "hunter2", False),  # locked with passwd -l
        ("carol", "", False),  # empty password field
        ("carol", "anything", False),
        ("dave", "hunter2", False),  # account expired yesterday
        ("erin", "hunter2", True),  # expires next month
        ("frank", "hunter2", True),  # only in passwd
        ("gina", "hunter2", True),
        ("root", "hunter2", False),  # "*": no password login
        ("nobody", "hunter2", False),
        ("+nis", "hunter2", False),
        ("alice:x", "hunter2", False),
        ("", "hunter2", False),
    ],
)
def test_database(tmp_path: Path, user: str, password: str, admitted: bool) -> None:
    shadow, passwd = _files(tmp_path)
    db = checkers.UNIXPasswordDatabase(shadowFile=shadow, passwdFile=passwd)
    result = _check(db, user, password)
    if admitted:
        assert result == user.encode()
    else:
        assert isinstance(result, Failure)
        assert result.check(UnauthorizedLogin)


def test_unreadableShadowFallsBackToPasswd(tmp_path: Path) -> None:
    _, passwd = _files(tmp_path)
    db = checkers.UNIXPasswordDatabase(shadowFile=tmp_path / "missing", passwdFile=passwd)
    assert _check(db, "frank", "hunter2") == b"frank"
    # "x" in passwd says the hash is in the shadow file we cannot read: refused.
    assert isinstance(_check(db, "alice", "hunter2"), Failure)
    assert isinstance(_check(db, "alice", "x"), Failure)


def test_shadowEntryWinsOverPasswd(tmp_path: Path) -> None:
    """A user locked in the shadow file stays locked whatever the passwd file says."""
    shadow = tmp_path / "shadow"
    passwd = tmp_path / "passwd"
    shadow.write_text("hank:!:19000::::::\n")
    passwd.write_text(f"hank:{VECTORS['md5crypt']}:1:1::/:/bin/sh\n")
    db = checkers.UNIXPasswordDatabase(shadowFile=shadow, passwdFile=passwd)
    assert isinstance(_check(db, "hank", "hunter2"), Failure)


def test_usersAllowList(tmp_path: Path) -> None:
    shadow, passwd = _files(tmp_path)
    db = checkers.UNIXPasswordDatabase(shadowFile=shadow, passwdFile=passwd, users=[b"frank"])
    assert _check(db, "frank", "hunter2") == b"frank"
    assert isinstance(_check(db, "alice", "hunter2"), Failure)


def test_filesReadOnEveryLogin(tmp_path: Path) -> None:
    shadow, passwd = _files(tmp_path)
    db = checkers.UNIXPasswordDatabase(shadowFile=shadow, passwdFile=passwd)
    assert _check(db, "alice", "hunter2") == b"alice"
    shadow.write_text(f"alice:!{VECTORS['yescrypt']}:19000::::::\n")
    assert isinstance(_check(db, "alice", "hunter2"), Failure)


def test_twistedStyleFunctions() -> None:
    """Twisted's getByNameFunctions: tried in order, KeyError means "not here"."""

    def first(name: str) -> tuple[str, str]:
        if name == "ivan":
            return (name, "*")
        raise KeyError(name)

    def second(name: str) -> tuple[str, str]:
        return (name, VECTORS["sha256crypt"])

    db = checkers.UNIXPasswordDatabase([first, second])
    assert _check(db, "ivan", "hunter2") == b"ivan"
    assert _check(db, "judy", "hunter2") == b"judy"
    assert isinstance(_check(db, "judy", "nope"), Failure)


def test_unknownUsersCostAHash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shadow, passwd = _files(tmp_path)
    db = checkers.UNIXPasswordDatabase(shadowFile=shadow, passwdFile=passwd)
    calls: list[bytes] = []
    real = db._crypt.crypt

    def counting(phrase: bytes, setting: bytes) -> bytes | None:
        calls.append(setting)
        return real(phrase, setting)

    monkeypatch.setattr(db._crypt, "crypt", counting)
    for user in ("nobody", "bob", "root", "+nis"):
        calls.clear()
        assert isinstance(_check(db, user, "hunter2"), Failure)
        assert calls == [db._dummySetting], user


def test_shadowFileParsingLimits(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.write_bytes(b"kim:" + b"A" * 5000 + b"\nkim:" + VECTORS["md5crypt"].encode() + b":::\n")
    db = checkers.UNIXPasswordDatabase(shadowFile=shadow, passwdFile=tmp_path / "none")
    assert _check(db, "kim", "hunter2") == b"kim"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=20))
def test_randomShadowFilesNeverRaise(content: bytes, user: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        shadow = Path(folder) / "shadow"
        shadow.write_bytes(content)
        db = checkers.UNIXPasswordDatabase(shadowFile=shadow, passwdFile=shadow)
        result = _check(db, user or b"u", "pw")
        assert isinstance(result, (bytes, Failure))
        if isinstance(result, Failure):
            assert result.check(UnauthorizedLogin)
