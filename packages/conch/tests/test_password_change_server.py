"""The server's side of RFC 4252 section 8: expired passwords changed at login."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import checkers
from glisten.conch.error import PasswordChangeRequired
from glisten.conch.ssh._ssh import _userauth as ua
from glisten.conch.ssh._ssh._errors import SSHProtocolError
from glisten.conch.ssh._ssh._wire import boolean, string
from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse, scryptHash, scryptVerify
from glisten.cred.credentials import UsernamePassword
from glisten.cred.error import UnauthorizedLogin
from glisten.internet import defer
from glisten.internet.task import Clock
from glisten.python.failure import Failure

from ._loop import AcceptingClient, ClientAuth, Loop, makeFactory
from .test_unixpasswords import VECTORS

N = 1 << 4  # cheap scrypt for tests
NOW = 1_800_000_000.0
TODAY = int(NOW // 86400)


def _result(d: Any) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "the checker must answer at once"
    return out[0]


# ------------------------------------------------------------------------ the codec


def _request(body: bytes) -> ua.AuthRequest | ua.InfoResponse:
    machine = ua.UserAuthServerMachine(b"sid")
    payload = string(b"alice") + string(b"ssh-connection") + string(b"password") + body
    return machine.receive(ua.MSG_USERAUTH_REQUEST, payload)


def test_decodeChangeRequest() -> None:
    request = _request(boolean(True) + string(b"old") + string(b"new"))
    assert isinstance(request, ua.AuthRequest)
    assert (request.password, request.newPassword) == (b"old", b"new")
    plain = _request(boolean(False) + string(b"old"))
    assert isinstance(plain, ua.AuthRequest) and plain.newPassword is None


def test_changeRequestPacket() -> None:
    machine = ua.UserAuthServerMachine(b"sid", maxAttempts=2)
    payload = string(b"alice") + string(b"ssh-connection") + string(b"password")
    machine.receive(ua.MSG_USERAUTH_REQUEST, payload + boolean(False) + string(b"pw"))
    message, body = machine.passwordChangeRequest("Expired.")
    assert message == ua.MSG_USERAUTH_PASSWD_CHANGEREQ == 60
    assert body == string(b"Expired.") + string(b"")
    assert ua.decodePasswordChangeRequest(body) == b"Expired."
    assert machine.failures == 0 and not machine.inFlight
    # Refused new passwords count.
    change = payload + boolean(True) + string(b"pw") + string(b"x")
    machine.receive(ua.MSG_USERAUTH_REQUEST, change)
    machine.passwordChangeRequest("Too short.", counts=True)
    machine.receive(ua.MSG_USERAUTH_REQUEST, change)
    with pytest.raises(SSHProtocolError):
        machine.passwordChangeRequest("Too short.", counts=True)


@pytest.mark.parametrize(
    "body",
    [
        boolean(True) + string(b"old"),  # no new password
        boolean(True) + string(b"old") + string(b"new") + b"x",
    ],
)
def test_malformedChangeRequests(body: bytes) -> None:
    with pytest.raises(SSHProtocolError):
        _request(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_randomPasswordBodiesOnlyRaiseProtocolErrors(body: bytes) -> None:
    try:
        _request(body)
    except SSHProtocolError:
        pass


# --------------------------------------------------------------------- the databases


def _change(username: bytes, old: bytes, new: bytes) -> Any:
    return checkers.UsernamePasswordChange(username, old, new)


def test_inMemoryDatabase() -> None:
    db = checkers.InMemoryPasswordDatabase(clock=lambda: NOW, n=N)
    db.addUser("alice", "old-password", mustChange=True)
    db.addUser(b"bob", b"bob-password", maxDays=30)
    assert db.storedHash(b"alice").startswith(b"$scrypt$")
    assert b"old-password" not in db.storedHash(b"alice")
    expired = _result(db.requestAvatarId(UsernamePassword(b"alice", b"old-password")))
    assert expired.check(PasswordChangeRequired) and expired.check(UnauthorizedLogin)
    assert "expired" in expired.value.prompt
    wrong = _result(db.requestAvatarId(UsernamePassword(b"alice", b"nope")))
    assert wrong.check(UnauthorizedLogin) and not wrong.check(PasswordChangeRequired)
    assert _result(db.requestAvatarId(UsernamePassword(b"bob", b"bob-password"))) == b"bob"
    # A change: the old password must be right, the new one acceptable.
    for old, new, error in [
        (b"nope", b"new-password", UnauthorizedLogin),
        (b"old-password", b"short", PasswordChangeRequired),
        (b"old-password", b"old-password", PasswordChangeRequired),
    ]:
        failure = _result(db.requestAvatarId(_change(b"alice", old, new)))
        assert isinstance(failure, Failure) and failure.check(error)
    assert (
        "too short"
        in _result(db.requestAvatarId(_change(b"alice", b"old-password", b"short"))).value.prompt
    )
    assert _result(db.requestAvatarId(_change(b"alice", b"old-password", b"new-password"))) == (
        b"alice"
    )
    assert scryptVerify(b"new-password", db.storedHash(b"alice"))
    assert _result(db.requestAvatarId(UsernamePassword(b"alice", b"new-password"))) == b"alice"
    assert _result(db.requestAvatarId(UsernamePassword(b"alice", b"old-password"))).check(
        UnauthorizedLogin
    )
    db.expirePassword(b"alice")
    assert _result(db.requestAvatarId(UsernamePassword(b"alice", b"new-password"))).check(
        PasswordChangeRequired
    )
    # Unknown users are refused, and cannot change anything.
    assert _result(db.requestAvatarId(_change(b"zed", b"a", b"new-password"))).check(
        UnauthorizedLogin
    )


def test_maximumAge() -> None:
    now = [NOW]
    db = checkers.InMemoryPasswordDatabase(clock=lambda: now[0], n=N)
    db.addUser(b"bob", b"bob-password", maxDays=30)
    now[0] += 29 * 86400
    assert _result(db.requestAvatarId(UsernamePassword(b"bob", b"bob-password"))) == b"bob"
    now[0] += 86400
    result = _result(db.requestAvatarId(UsernamePassword(b"bob", b"bob-password")))
    assert result.check(PasswordChangeRequired)
    change = _change(b"bob", b"bob-password", b"fresh-password")
    assert _result(db.requestAvatarId(change)) == b"bob"
    assert _result(db.requestAvatarId(UsernamePassword(b"bob", b"fresh-password"))) == b"bob"


def _passwordFile(tmp_path: Path) -> Path:
    path = tmp_path / "passwords"
    path.write_bytes(
        b"# users\n"
        + b"alice:" + scryptHash(b"old-password", n=N) + b":0\n"
        + b"bob:" + scryptHash(b"bob-password", n=N) + b":%d:30\n" % (TODAY - 31)
        + b"carol:" + scryptHash(b"carol-password", n=N) + b"\n"
        + b"dave:" + scryptHash(b"dave-password", n=N) + b":%d:30\n" % (TODAY - 1)
    )  # fmt: skip
    path.chmod(0o640)
    return path


@pytest.mark.parametrize(
    "user,password,outcome",
    [
        (b"alice", b"old-password", "change"),  # last change 0
        (b"bob", b"bob-password", "change"),  # 31 days old, 30 allowed
        (b"carol", b"carol-password", "in"),  # no ageing fields
        (b"dave", b"dave-password", "in"),
        (b"dave", b"bob-password", "out"),
        (b"erin", b"x", "out"),
    ],
)
def test_passwordFile(tmp_path: Path, user: bytes, password: bytes, outcome: str) -> None:
    db = checkers.ScryptPasswordFile(_passwordFile(tmp_path), clock=lambda: NOW, n=N)
    result = _result(db.requestAvatarId(UsernamePassword(user, password)))
    if outcome == "in":
        assert result == user
    elif outcome == "change":
        assert result.check(PasswordChangeRequired)
    else:
        assert result.check(UnauthorizedLogin) and not result.check(PasswordChangeRequired)


def test_passwordFileChange(tmp_path: Path) -> None:
    path = _passwordFile(tmp_path)
    before = path.read_bytes().splitlines()
    db = checkers.ScryptPasswordFile(path, clock=lambda: NOW, n=N)
    assert _result(db.requestAvatarId(_change(b"bob", b"bob-password", b"s"))).check(
        PasswordChangeRequired
    )
    assert path.read_bytes().splitlines() == before
    assert _result(db.requestAvatarId(_change(b"bob", b"bob-password", b"new-bob-pw"))) == b"bob"
    after = path.read_bytes().splitlines()
    # Only bob's line changed: a new hash, changed today, the same maximum age.
    assert [a for a, b in zip(before, after, strict=True) if a != b] == [before[2]]
    name, hashed, lastChange, maxDays = after[2].split(b":")
    assert (name, lastChange, maxDays) == (b"bob", b"%d" % TODAY, b"30")
    assert scryptVerify(b"new-bob-pw", hashed) and b"new-bob-pw" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert _result(db.requestAvatarId(UsernamePassword(b"bob", b"new-bob-pw"))) == b"bob"
    assert sorted(os.listdir(tmp_path)) == ["passwords", "passwords.lock"]


def test_passwordFileChangeSyncsTheFolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the rename the folder is flushed to disk, so the rename survives a crash."""
    path = _passwordFile(tmp_path)
    before = path.read_bytes()
    synced: list[tuple[bool, bool]] = []
    realFsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append((stat.S_ISDIR(os.fstat(fd).st_mode), path.read_bytes() != before))
        realFsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    db = checkers.ScryptPasswordFile(path, clock=lambda: NOW, n=N)
    assert _result(db.requestAvatarId(_change(b"bob", b"bob-password", b"new-bob-pw"))) == b"bob"
    # The file first, still under its temporary name; then the folder, after the rename.
    assert synced == [(False, False), (True, True)]


def test_passwordFileChangedMeanwhile(tmp_path: Path) -> None:
    """
    A change whose current password was checked against a hash that another process replaced
    (a concurrent change, an administrator locking the account) before the lock was taken is
    refused, and the other process's hash stays.
    """
    path = _passwordFile(tmp_path)

    class Racing(checkers.ScryptPasswordFile):
        def _hash(self, password: bytes) -> bytes:
            # Runs between the check of the current password and the rewrite.
            lines = path.read_bytes().splitlines(keepends=True)
            lines[3] = b"carol:!" + lines[3].split(b":")[1] + b"\n"
            path.write_bytes(b"".join(lines))
            return super()._hash(password)

    db = Racing(path, clock=lambda: NOW, n=N)
    result = _result(db.requestAvatarId(_change(b"carol", b"carol-password", b"new-carol-pw")))
    assert isinstance(result, Failure) and result.check(UnauthorizedLogin)
    assert path.read_bytes().splitlines()[3].startswith(b"carol:!")
    assert _result(db.requestAvatarId(UsernamePassword(b"carol", b"new-carol-pw"))).check(
        UnauthorizedLogin
    )


def test_inMemoryChangedMeanwhile() -> None:
    """The same for the in-memory database (a checker subclass hashing asynchronously)."""

    class Racing(checkers.InMemoryPasswordDatabase):
        def _hash(self, password: bytes) -> bytes:
            if password == b"new-password":
                self.expirePassword(b"alice")
                self._users[b"alice"].hashed = scryptHash(b"admin-set", n=N)
            return super()._hash(password)

    db = Racing(clock=lambda: NOW, n=N)
    db.addUser(b"alice", b"old-password")
    result = _result(db.requestAvatarId(_change(b"alice", b"old-password", b"new-password")))
    assert isinstance(result, Failure) and result.check(UnauthorizedLogin)
    assert scryptVerify(b"admin-set", db.storedHash(b"alice"))


@pytest.mark.skipif(os.geteuid() != 0, reason="giving the file another owner needs root")
def test_passwordFileChangeKeepsOwner(tmp_path: Path) -> None:
    """The rewritten file keeps its owner and group (here not the server's), not only its mode."""
    path = _passwordFile(tmp_path)
    os.chown(path, 1234, 5678)
    db = checkers.ScryptPasswordFile(path, clock=lambda: NOW, n=N)
    assert _result(db.requestAvatarId(_change(b"bob", b"bob-password", b"new-bob-pw"))) == b"bob"
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 5678, 0o640)


def test_unreadablePasswordFile(tmp_path: Path) -> None:
    db = checkers.ScryptPasswordFile(tmp_path / "missing", n=N)
    result = _result(db.requestAvatarId(UsernamePassword(b"alice", b"x")))
    assert result.check(UnauthorizedLogin)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_randomPasswordFilesNeverRaise(tmp_path_factory: Any, content: bytes) -> None:
    path = tmp_path_factory.mktemp("pw") / "passwords"
    path.write_bytes(content)
    db = checkers.ScryptPasswordFile(path, clock=lambda: NOW, n=N)
    for creds in (UsernamePassword(b"alice", b"x"), _change(b"alice", b"x", b"long-enough")):
        result = _result(db.requestAvatarId(creds))
        assert isinstance(result, Failure) and result.check(UnauthorizedLogin)


# ------------------------------------------------------------- UNIX password ageing


@pytest.mark.parametrize(
    "fields,admitted",
    [
        ("19000:0:99999:7:::", True),
        ("0:0:99999:7:::", False),  # must change at the next login
        (f"{TODAY - 40}:0:30:7:::", False),  # past the maximum age
        (f"{TODAY - 40}:0:30:7:5::", False),  # and past the inactivity period
        (f"{TODAY - 10}:0:30:7:::", True),
        (f"{TODAY - 40}:0::7:::", True),  # no maximum age
        ("::::::", True),  # no ageing at all
    ],
)
def test_unixPasswordAgeing(tmp_path: Path, fields: str, admitted: bool) -> None:
    shadow = tmp_path / "shadow"
    shadow.write_text(f"alice:{VECTORS['sha512crypt']}:{fields}\n")
    db = checkers.UNIXPasswordDatabase(
        shadowFile=shadow, passwdFile=tmp_path / "passwd", clock=lambda: NOW
    )
    result = _result(db.requestAvatarId(UsernamePassword(b"alice", b"hunter2")))
    if admitted:
        assert result == b"alice"
    else:
        assert result.check(UnauthorizedLogin) and not result.check(PasswordChangeRequired)
    assert not checkers.IUsernamePasswordChange.implementedBy(checkers.UNIXPasswordDatabase)


# --------------------------------------------------------------- over SSH, in memory


class _ChangingAuth(ClientAuth):
    """Gives the old password first, then new ones for each change request."""

    def __init__(self, user: bytes, instance: Any, passwords: list[bytes]) -> None:
        super().__init__(user, instance, None, passwords[0])
        self.passwords = passwords[1:]
        self.prompts: list[bytes | None] = []
        self.rounds: list[tuple[bytes, list[tuple[bytes, bool]]]] = []
        self.preferredOrder = [b"password"]

    def getPassword(self, prompt: bytes | None = None) -> defer.Deferred[bytes] | None:
        self.prompts.append(prompt)
        if prompt is None:
            return super().getPassword(prompt)
        if not self.passwords:
            return None
        return defer.succeed(self.passwords.pop(0))

    def getGenericAnswers(
        self, name: bytes, instruction: bytes, prompts: list[tuple[bytes, bool]]
    ) -> defer.Deferred[list[bytes]] | None:
        self.rounds.append((instruction, prompts))
        if len(prompts) == 1:
            assert self.password is not None
            return defer.succeed([self.password])
        new = self.passwords.pop(0)
        return defer.succeed([new, new])


class _ChangingClient(AcceptingClient):
    def __init__(self, passwords: list[bytes], method: bytes = b"password") -> None:
        super().__init__(useKey=False)
        self.passwords = passwords
        self.method = method

    def connectionSecure(self) -> None:
        self.secure = True
        self.auth = _ChangingAuth(self.user, self.conn, self.passwords)
        self.auth.preferredOrder = [self.method]
        self.requestService(self.auth)


def _loop(passwords: list[bytes], checker: Any, method: bytes = b"password") -> Loop:
    clock = Clock()
    f = makeFactory(clock, passwords=False)
    assert f.portal is not None
    f.portal.registerChecker(checker)
    loop = Loop(_ChangingClient(passwords, method), f)
    loop.pump()
    for _ in range(10):
        clock.advance(1.0)
        loop.pump()
    return loop


def _db() -> checkers.InMemoryPasswordDatabase:
    db = checkers.InMemoryPasswordDatabase(n=N)
    db.addUser(b"alice", b"old-password", mustChange=True)
    return db


def test_glistenClientChangesAnExpiredPassword() -> None:
    db = _db()
    loop = _loop([b"old-password", b"new-password"], db)
    assert loop.client.conn.started
    auth = loop.client.auth
    assert auth.prompts == [None, b"Your password has expired; choose a new one."]
    assert scryptVerify(b"new-password", db.storedHash(b"alice"))


def test_refusedNewPasswordIsAskedForAgain() -> None:
    db = _db()
    loop = _loop([b"old-password", b"short", b"long-enough-now"], db)
    assert loop.client.conn.started
    prompts = loop.client.auth.prompts
    assert len(prompts) == 3 and b"too short" in prompts[2]
    assert scryptVerify(b"long-enough-now", db.storedHash(b"alice"))


def test_clientGivingUpIsNotLoggedIn() -> None:
    db = _db()
    loop = _loop([b"old-password"], db)
    assert not loop.client.conn.started
    assert scryptVerify(b"old-password", db.storedHash(b"alice"))


def test_keyboardInteractiveChange() -> None:
    db = _db()
    loop = _loop([b"old-password", b"new-password"], db, b"keyboard-interactive")
    assert loop.client.conn.started
    rounds = loop.client.auth.rounds
    assert [len(prompts) for _, prompts in rounds] == [1, 2]
    assert rounds[1][0] == b"Your password has expired; choose a new one."
    assert scryptVerify(b"new-password", db.storedHash(b"alice"))


class _ExpiringChecker(InMemoryUsernamePasswordDatabaseDontUse):
    """A checker that knows passwords expire but cannot change them."""

    def requestAvatarId(self, credentials: Any) -> Any:
        return defer.fail(PasswordChangeRequired())


def test_noChangeWithoutAChangingChecker() -> None:
    loop = _loop([b"old-password", b"new-password"], _ExpiringChecker(alice=b"old-password"))
    assert not loop.client.conn.started
    # The password was refused like a wrong one: no change request was made.
    assert set(loop.client.auth.prompts) == {None}


def test_unsolicitedChangeRefusedWithoutChangingChecker() -> None:
    """A change request to a server that cannot change passwords is a failed attempt, not
    a protocol error (RFC 4252 section 8 lets the client send one on its own)."""
    from glisten.conch.ssh import userauth

    f = makeFactory(Clock(), passwords=True)
    loop = Loop(AcceptingClient(useKey=False), f)
    loop.pump()  # the key exchange gives the server its session ID
    auth = userauth.SSHUserAuthServer()
    auth.transport = loop.server
    auth.serviceStarted()
    machine = ua.UserAuthServerMachine(loop.server.sessionID)
    change = string(b"alice") + string(b"ssh-connection") + string(b"password")
    request = machine.receive(
        ua.MSG_USERAUTH_REQUEST, change + boolean(True) + string(b"sekrit") + string(b"new-one")
    )
    assert isinstance(request, ua.AuthRequest)
    result = _result(auth.tryAuth(request))
    assert isinstance(result, Failure) and "not supported" in str(result.value)
