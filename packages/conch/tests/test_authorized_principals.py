"""``AuthorizedPrincipalsFile``: reading the file, its path tokens, and certificate logins."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import checkers
from glisten.conch.ssh._ssh._userauth import publicKeySignedData
from glisten.conch.ssh.keys import CERT_USER, Key
from glisten.cred.error import UnauthorizedLogin

from ._pairs import hostKey

CA = hostKey("ecdsa", 256)
USER = hostKey()
NOW = 1_800_000_000.0


def _principals(text: bytes) -> list[tuple[bytes, dict[bytes, bytes | None]]]:
    return [(p.principal, p.options) for p in checkers.readAuthorizedPrincipals(io.BytesIO(text))]


def test_readLines() -> None:
    text = (
        b"# who may log in\n"
        b"\n"
        b"  deploy  \n"
        b'command="echo a b",no-pty ops\n'
        b'from="10.0.0.0/8"\tbackup\n'
        b'tunnel="0" refused\n'  # an option glisten does not enforce: skipped
        b'command="unterminated ops2\n'
        b"restrict two words\n"  # options, then more than one name: skipped
    )
    assert _principals(text) == [
        (b"deploy", {}),
        (b"ops", {b"command": b"echo a b", b"no-pty": None}),
        (b"backup", {b"from": b"10.0.0.0/8"}),
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_randomLinesNeverRaise(line: bytes) -> None:
    for entry in checkers.readAuthorizedPrincipals(io.BytesIO(line + b"\n")):
        assert entry.principal and b" " not in entry.principal
        entry.allowsAddress("10.1.2.3")
        entry.isExpired(NOW)


class _Users:
    def getpwnam(self, name: str) -> Any:
        if name != "alice":
            raise KeyError(name)
        return SimpleNamespace(pw_dir="/home/alice", pw_uid=1001)


@pytest.mark.parametrize(
    "pattern,user,path",
    [
        ("/etc/ssh/principals/%u", b"alice", "/etc/ssh/principals/alice"),
        ("/etc/ssh/principals/%u", b"nobody-known", "/etc/ssh/principals/nobody-known"),
        ("%h/.ssh/principals", b"alice", "/home/alice/.ssh/principals"),
        (".ssh/principals", b"alice", "/home/alice/.ssh/principals"),
        ("/p/%U-%%u", b"alice", "/p/1001-%u"),
        ("%h/x", b"bob", None),  # unknown user: no home
        ("/p/%u", b"../etc", None),  # no path separators in user names
        ("/p/%u", b"a b", None),
        ("/p/%u/principals", b"..", None),
        ("/p/%u", b".", None),
    ],
)
def test_pathTokens(pattern: str, user: bytes, path: str | None) -> None:
    assert checkers.AuthorizedPrincipalsFile(pattern, _Users()).pathFor(user) == path


@pytest.mark.parametrize("pattern", ["/p/%x", "/p/%", "/p/%%%"])
def test_unknownTokens(pattern: str) -> None:
    with pytest.raises(ValueError):
        checkers.AuthorizedPrincipalsFile(pattern)


def _certCreds(principals: list[bytes], user: bytes = b"alice", ca: Key = CA) -> Any:
    cert = USER.withCertificate(
        ca.signCertificate(
            USER,
            certType=CERT_USER,
            keyId="id",
            principals=principals,
            validAfter=int(NOW) - 10,
            validBefore=int(NOW) + 10,
        )
    )
    blob = cert.public().blob()
    data = publicKeySignedData(b"sid", user, b"ssh-connection", cert.sshType(), blob)
    creds = checkers.SSHPrivateKey(
        user, cert.supportedSignatureAlgorithms()[0], blob, data, cert.sign(data)
    )
    creds.address = "10.1.2.3"
    return creds


def _result(d: Any) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    return out[0]


def _checker(tmp_path: Path, text: bytes | None, keys: bytes = b"") -> Any:
    folder = tmp_path / "principals"
    folder.mkdir(exist_ok=True)
    if text is not None:
        (folder / "alice").write_bytes(text)
    (tmp_path / "ak").write_bytes(keys)
    return checkers.SSHPublicKeyChecker(
        checkers.AuthorizedKeysFileDB(tmp_path / "ak"),
        [CA.public()],
        clock=lambda: NOW,
        authorizedPrincipals=checkers.AuthorizedPrincipalsFile(str(folder / "%u")),
    )


@pytest.mark.parametrize(
    "text,principals,user,ok",
    [
        (b"deploy\n", [b"deploy"], b"alice", True),
        (b"deploy\nops\n", [b"web", b"ops"], b"alice", True),
        (b"deploy\n", [b"alice"], b"alice", False),  # the file, not the user name, decides
        (b"deploy\n", [b"deploy"], b"bob", False),  # bob has no file
        (None, [b"alice"], b"alice", False),  # no file: no principals
        (b"deploy\n", [], b"alice", False),  # a certificate without principals is refused
        (b'from="192.168.0.0/16" deploy\n', [b"deploy"], b"alice", False),
        (b'from="10.0.0.0/8" deploy\n', [b"deploy"], b"alice", True),
        (b'expiry-time="20200101" deploy\n', [b"deploy"], b"alice", False),
        # The first line naming a principal decides, as in sshd.
        (b'from="192.168.0.0/16" deploy\ndeploy\n', [b"deploy"], b"alice", False),
    ],
)
def test_certificateLogins(
    tmp_path: Path, text: bytes | None, principals: list[bytes], user: bytes, ok: bool
) -> None:
    checker = _checker(tmp_path, text)
    result = _result(checker.requestAvatarId(_certCreds(principals, user)))
    if ok:
        assert result == user
    else:
        assert result.check(UnauthorizedLogin)


def test_lineOptionsApply(tmp_path: Path) -> None:
    checker = _checker(
        tmp_path, b'command="uptime",no-pty,environment="A=1",permitopen="h:1" deploy\n'
    )
    avatarID = _result(checker.requestAvatarId(_certCreds([b"deploy"])))
    entry = avatarID.authorizedKey
    assert avatarID == b"alice" and entry.command == b"uptime" and entry.noPty
    assert entry.environment == [(b"A", b"1")] and entry.permitOpen == [("h", 1)]
    assert entry.certificate is not None


def test_certAuthorityLinesUnaffected(tmp_path: Path) -> None:
    """A ``cert-authority`` line of the user's keys still admits its certificates by the
    user name (its ``principals=`` option is the per-line equivalent)."""
    other = Key.generate("ed25519")
    line = b"cert-authority " + other.public().toString("openssh") + b"\n"
    checker = _checker(tmp_path, b"deploy\n", line)
    assert _result(checker.requestAvatarId(_certCreds([b"alice"], ca=other))) == b"alice"
    assert _result(checker.requestAvatarId(_certCreds([b"alice"]))).check(UnauthorizedLogin)


def test_glistenSshNeedsTrustedCAs(tmp_path: Path) -> None:
    from glisten.conch.tap import makeFactory

    hostKeys = {b"ssh-ed25519": USER}
    with pytest.raises(ValueError, match="needs --trusted-user-ca-keys"):
        makeFactory(hostKeys, str(tmp_path / "ak"), authorizedPrincipalsFile="/p/%u")
    (tmp_path / "trusted").write_bytes(CA.public().toString("openssh") + b"\n")
    with pytest.raises(ValueError, match="token"):
        makeFactory(
            hostKeys,
            None,
            trustedUserCAKeys=str(tmp_path / "trusted"),
            authorizedPrincipalsFile="/p/%q",
        )
    factory = makeFactory(
        hostKeys,
        None,
        trustedUserCAKeys=str(tmp_path / "trusted"),
        authorizedPrincipalsFile=str(tmp_path / "%u"),
    )
    assert factory.portal is not None


def _inThread(call: Any) -> tuple[Any, list[Any]]:
    import threading

    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def test_userFilesThatAreFIFOsAreRefused(tmp_path: Path) -> None:
    """
    A FIFO a user leaves as their principals file or ``authorized_keys`` is not opened for
    reading (which would block the reactor until someone writes to it): it holds nothing.
    """
    import os

    home = tmp_path / "alice"
    (home / ".ssh").mkdir(parents=True)
    fifos = [home / ".ssh" / "principals", home / ".ssh" / "authorized_keys"]
    for fifo in fifos:
        os.mkfifo(fifo)
    users = SimpleNamespace(getpwnam=lambda name: SimpleNamespace(pw_dir=str(home), pw_uid=1001))
    calls = [
        lambda: checkers.AuthorizedPrincipalsFile(".ssh/principals", users).getPrincipalEntries(
            b"alice"
        ),
        lambda: checkers.UNIXAuthorizedKeysFiles(users).getAuthorizedKeyEntries(b"alice"),
    ]
    for call, fifo in zip(calls, fifos, strict=True):
        thread, result = _inThread(call)
        thread.join(10)
        blocked = thread.is_alive()
        if blocked:
            # Let the stuck reader go (a writer opening and closing the FIFO ends its read).
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            thread.join(10)
        assert not blocked and result == [[]]


def test_longLinesAreNotHeldInMemory(tmp_path: Path) -> None:
    """A line far past the longest usable one is skipped without being read whole; the
    lines after it still count."""
    import tracemalloc

    home = tmp_path / "alice"
    (home / ".ssh").mkdir(parents=True)
    path = home / ".ssh" / "principals"
    with open(path, "wb") as f:
        f.write(b"#" + b"x" * (32 << 20) + b"\n")
        f.write(b"deploy\n")
    users = SimpleNamespace(getpwnam=lambda name: SimpleNamespace(pw_dir=str(home), pw_uid=1))
    reader = checkers.AuthorizedPrincipalsFile(".ssh/principals", users)
    tracemalloc.start()
    try:
        entries = reader.getPrincipalEntries(b"alice")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.principal for e in entries] == [b"deploy"]
    assert peak < 4 << 20
