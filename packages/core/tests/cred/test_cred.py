"""Tests for glisten.cred: portal, checkers, credentials."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from zope.interface import Interface, implementer
from zope.interface.verify import verifyObject

from glisten.cred import checkers, credentials, error, portal
from glisten.internet.defer import Deferred
from glisten.python.failure import Failure


class IAvatar(Interface):
    pass


@implementer(IAvatar)
class Avatar:
    def __init__(self, avatarId: Any) -> None:
        self.avatarId = avatarId
        self.loggedOut = False

    def logout(self) -> None:
        self.loggedOut = True


@implementer(portal.IRealm)
class Realm:
    def __init__(self) -> None:
        self.avatars: list[Avatar] = []

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        if IAvatar not in interfaces:
            raise NotImplementedError("no supported interface")
        avatar = Avatar(avatarId)
        self.avatars.append(avatar)
        return IAvatar, avatar, avatar.logout


def result(d: Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    if isinstance(out[0], Failure):
        raise AssertionError(f"unexpected failure {out[0]}")
    return out[0]


def failure(d: Deferred[Any]) -> Failure:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "Deferred has not fired"
    assert isinstance(out[0], Failure), out[0]
    return out[0]


def makePortal() -> tuple[portal.Portal, Realm]:
    realm = Realm()
    db = checkers.InMemoryUsernamePasswordDatabaseDontUse(alice="secret")
    db.addUser(b"bob", b"hunter2")
    return portal.Portal(realm, [db, checkers.AllowAnonymousAccess()]), realm


def test_loginSuccess() -> None:
    p, realm = makePortal()
    iface, avatar, logout = result(
        p.login(credentials.UsernamePassword(b"alice", b"secret"), None, IAvatar)
    )
    assert iface is IAvatar
    assert avatar.avatarId == b"alice"
    logout()
    assert avatar.loggedOut
    iface, avatar, logout = result(
        p.login(credentials.UsernamePassword("bob", "hunter2"), None, IAvatar)
    )
    assert avatar.avatarId == b"bob"


@pytest.mark.parametrize(
    "user,password",
    [(b"alice", b"wrong"), (b"alice", b""), (b"nobody", b"secret"), (b"alice", b"secret\x00")],
)
def test_loginFailure(user: bytes, password: bytes) -> None:
    p, realm = makePortal()
    f = failure(p.login(credentials.UsernamePassword(user, password), None, IAvatar))
    assert f.check(error.UnauthorizedLogin)
    assert realm.avatars == []


def test_anonymous() -> None:
    p, realm = makePortal()
    iface, avatar, logout = result(p.login(credentials.Anonymous(), None, IAvatar))
    assert avatar.avatarId == checkers.ANONYMOUS


def test_unhandledCredentials() -> None:
    p = portal.Portal(Realm())

    f = failure(p.login(credentials.Anonymous(), None, IAvatar))
    assert f.check(error.UnhandledCredentials)
    assert p.listCredentialsInterfaces() == []


def test_realmUnsupportedInterface() -> None:
    class IOther(Interface):
        pass

    p, realm = makePortal()
    f = failure(p.login(credentials.UsernamePassword(b"alice", b"secret"), None, IOther))
    assert f.check(NotImplementedError)


def test_hashedPasswordCredentials() -> None:
    p, realm = makePortal()
    creds = credentials.UsernameHashedPassword(b"alice", b"secret")
    assert verifyObject(credentials.IUsernameHashedPassword, creds)
    iface, avatar, logout = result(p.login(creds, None, IAvatar))
    assert avatar.avatarId == b"alice"


def test_interfacesProvided() -> None:
    assert verifyObject(credentials.IUsernamePassword, credentials.UsernamePassword(b"a", b"b"))
    assert verifyObject(credentials.IAnonymous, credentials.Anonymous())
    assert verifyObject(checkers.ICredentialsChecker, checkers.AllowAnonymousAccess())
    assert issubclass(credentials.ISSHPrivateKey, credentials.ICredentials)
    assert issubclass(error.UnauthorizedLogin, error.LoginFailed)
    assert issubclass(error.UnhandledCredentials, error.LoginFailed)


def test_checkPasswordConstantTimeFunction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Password comparison goes through hmac.compare_digest."""
    calls: list[tuple[bytes, bytes]] = []
    import hmac

    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert credentials.UsernamePassword(b"u", b"pw").checkPassword(b"pw")
    assert not credentials.UsernamePassword(b"u", b"pw").checkPassword(b"px")
    assert calls == [(b"pw", b"pw"), (b"pw", b"px")]


def test_portalLaterRegistrationWins() -> None:
    p = portal.Portal(Realm())
    a = checkers.InMemoryUsernamePasswordDatabaseDontUse(x="1")
    b = checkers.InMemoryUsernamePasswordDatabaseDontUse(x="2")
    p.registerChecker(a)
    p.registerChecker(b, credentials.IUsernamePassword)
    result(p.login(credentials.UsernamePassword(b"x", b"2"), None, IAvatar))
    failure(p.login(credentials.UsernamePassword(b"x", b"1"), None, IAvatar))


class IChallengeCredentials(credentials.IUsernameHashedPassword):
    """A kind of hashed-password credentials (as CRAM-MD5's)."""


@implementer(IChallengeCredentials)
class ChallengeCredentials:
    def __init__(self, username: bytes, password: bytes) -> None:
        self.username = username
        self._password = password

    def checkPassword(self, password: bytes) -> bool:
        return password == self._password


def test_portalFindsCheckersForExtendedInterfaces() -> None:
    """A checker registered for an interface also checks credentials whose interface
    extends it, as Twisted's Portal does."""
    p = portal.Portal(Realm(), [checkers.InMemoryUsernamePasswordDatabaseDontUse(x="1")])
    assert result(p.login(ChallengeCredentials(b"x", b"1"), None, IAvatar))
    failure(p.login(ChallengeCredentials(b"x", b"2"), None, IAvatar))


# ---------------------------------------------------------------------------- FilePasswordDB


def test_filePasswordDB(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(b"# comment\nalice:secret\nbroken line\n\nbob:pw:extra\nCarol:c\n")
    db = checkers.FilePasswordDB(path)
    p = portal.Portal(Realm(), [db])
    assert result(p.login(credentials.UsernamePassword(b"alice", b"secret"), None, IAvatar))
    assert result(p.login(credentials.UsernamePassword(b"bob", b"pw"), None, IAvatar))
    failure(p.login(credentials.UsernamePassword(b"alice", b"nope"), None, IAvatar))
    failure(p.login(credentials.UsernamePassword(b"broken line", b""), None, IAvatar))
    failure(p.login(credentials.UsernamePassword(b"carol", b"c"), None, IAvatar))
    insensitive = checkers.FilePasswordDB(path, caseSensitive=False, cache=True)
    assert result(insensitive.requestAvatarId(credentials.UsernamePassword(b"CAROL", b"c")))


def test_filePasswordDBCustomFields(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(b"secret;alice\n")
    db = checkers.FilePasswordDB(path, delim=b";", usernameField=1, passwordField=0)
    assert result(db.requestAvatarId(credentials.UsernamePassword(b"alice", b"secret"))) == b"alice"


def test_filePasswordDBHash(tmp_path: Path) -> None:
    def hashed(username: bytes, password: bytes, stored: bytes) -> bytes:
        return hashlib.sha256(username + b"/" + password).hexdigest().encode()

    path = tmp_path / "passwd"
    path.write_bytes(b"alice:" + hashed(b"alice", b"secret", b"") + b"\n")
    db = checkers.FilePasswordDB(path, hash=hashed)
    assert db.credentialInterfaces == (credentials.IUsernamePassword,)
    assert result(db.requestAvatarId(credentials.UsernamePassword(b"alice", b"secret")))
    f = failure(db.requestAvatarId(credentials.UsernamePassword(b"alice", b"wrong")))
    assert f.check(error.UnauthorizedLogin)


def test_filePasswordDBMissingFile(tmp_path: Path) -> None:
    db = checkers.FilePasswordDB(tmp_path / "missing")
    f = failure(db.requestAvatarId(credentials.UsernamePassword(b"a", b"b")))
    assert f.check(error.UnauthorizedLogin)


# ----------------------------------------------------------------------------------- scrypt

FAST = {"n": 16, "r": 1, "p": 1}


def test_scryptHashRoundTrip() -> None:
    stored = checkers.scryptHash(b"secret", **FAST)
    assert stored.startswith(b"$scrypt$n=16,r=1,p=1$")
    assert checkers.scryptVerify(b"secret", stored)
    assert not checkers.scryptVerify(b"Secret", stored)
    assert checkers.scryptHash(b"secret", **FAST) != stored  # fresh salt each time


@pytest.mark.parametrize(
    "stored",
    [
        b"",
        b"plain",
        b"$scrypt$n=16,r=1,p=1$$",
        b"$scrypt$n=15,r=1,p=1$AAAA$AAAA",
        b"$scrypt$n=1099511627776,r=1,p=1$AAAA$AAAA",
        b"$scrypt$n=16,r=1$AAAA$AAAA",
        b"$scrypt$n=16,r=1,p=1$!!!!$AAAA",
        b"$scrypt$n=16,r=99,p=1$AAAA$AAAA",
    ],
)
def test_scryptVerifyMalformed(stored: bytes) -> None:
    assert not checkers.scryptVerify(b"", stored)


def test_scryptFilePasswordDB(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(b"alice:" + checkers.scryptHash(b"secret", **FAST) + b"\nbob:garbage\n")
    db = checkers.ScryptFilePasswordDB(path)
    assert b"secret" not in path.read_bytes()
    assert result(db.requestAvatarId(credentials.UsernamePassword(b"alice", b"secret"))) == b"alice"
    for user, pw in [(b"alice", b"secre"), (b"bob", b"garbage"), (b"eve", b"secret")]:
        f = failure(db.requestAvatarId(credentials.UsernamePassword(user, pw)))
        assert f.check(error.UnauthorizedLogin)
    p = portal.Portal(Realm(), [db])
    iface, avatar, logout = result(
        p.login(credentials.UsernamePassword(b"alice", b"secret"), None, IAvatar)
    )
    assert avatar.avatarId == b"alice"
