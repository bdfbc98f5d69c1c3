"""``authorized_keys`` ``from=`` (OpenSSH's address patterns) and ``environment=`` options."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch import checkers
from glisten.conch._processsession import ProcessAvatar, ProcessSession
from glisten.conch.error import ValidPublicKey
from glisten.conch.ssh._ssh._userauth import publicKeySignedData
from glisten.cred.error import UnauthorizedLogin
from glisten.internet import defer
from glisten.internet.task import Clock

from ._pairs import hostKey

KEY = hostKey()
LINE = KEY.public().toString("openssh", comment=b"me@host")


def _entries(text: bytes) -> list[checkers.AuthorizedKey]:
    return list(checkers.readAuthorizedKeys(io.BytesIO(text)))


@pytest.mark.parametrize(
    "patterns, address, expected",
    [
        (b"127.0.0.1", "127.0.0.1", True),
        (b"127.0.0.1", "127.0.0.2", False),
        (b"127.0.0.*", "127.0.0.200", True),
        (b"127.0.0.?", "127.0.0.5", True),
        (b"127.0.0.?", "127.0.0.50", False),
        (b"10.0.0.0/8,192.168.1.0/24", "192.168.1.77", True),
        (b"10.0.0.0/8,192.168.1.0/24", "192.168.2.77", False),
        (b"10.0.0.0/8,!10.1.0.0/16", "10.2.3.4", True),
        (b"10.0.0.0/8,!10.1.0.0/16", "10.1.3.4", False),  # negation wins over a match
        (b"!10.1.0.0/16,*", "10.1.3.4", False),
        (b"!10.1.0.0/16", "192.0.2.1", False),  # only negations: nothing admits
        (b"*", "::1", True),
        (b"::1", "::1", True),
        (b"2001:db8::/32", "2001:db8::5", True),
        (b"2001:db8::/32", "10.0.0.1", False),
        (b"127.0.0.1", "::ffff:127.0.0.1", True),  # IPv4-mapped IPv6 counts as IPv4
        (b"10.0.0.1/8", "10.0.0.1", False),  # host bits set: the list refuses, as OpenSSH's
        (b"10.0.0.0/33", "10.0.0.1", False),
        (b"127.0.0.1,,", "127.0.0.1", False),  # an empty entry: malformed
        (b"127.0.0.1", "not an address", False),
        (b"[1].0.0.1", "1.0.0.1", False),  # no character classes: brackets are literal
    ],
)
def test_matchAddressPatterns(patterns: bytes, address: str, expected: bool) -> None:
    assert checkers.matchAddressPatterns(patterns, address) is expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60), st.sampled_from(["127.0.0.1", "::1", "10.1.2.3", "bogus"]))
def test_randomPatternsNeverRaise(patterns: bytes, address: str) -> None:
    assert checkers.matchAddressPatterns(patterns, address) in (True, False)


def test_parseFromAndEnvironment() -> None:
    line = b'from="10.0.0.0/8,!10.9.*",environment="LANG=C.UTF-8",environment="TZ=UTC" ' + LINE
    (entry,) = _entries(line + b"\n")
    assert entry.options[b"from"] == b"10.0.0.0/8,!10.9.*"
    assert entry.environment == [(b"LANG", b"C.UTF-8"), (b"TZ", b"UTC")]
    assert entry.allowsAddress("10.1.1.1")
    assert not entry.allowsAddress("10.9.1.1")
    assert not entry.allowsAddress(None)
    (plain,) = _entries(LINE + b"\n")
    assert plain.allowsAddress(None) and plain.environment == []


def test_everyPrefixOfAnOptionsLine() -> None:
    """Cut anywhere, a line with options is skipped or read whole: never an exception."""
    line = b'from="127.0.0.1",environment="A=b c",no-pty ' + LINE
    for end in range(len(line) + 1):
        entries = _entries(line[:end] + b"\n")
        assert entries == [] or entries[0].key == KEY.public()


def test_environmentLimit() -> None:
    many = b",".join(b'environment="V%d=x"' % i for i in range(65))
    assert _entries(many + b" " + LINE + b"\n") == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_randomOptionsNeverRaise(options: bytes) -> None:
    for entry in _entries(options + b" " + LINE + b"\n"):
        assert entry.key == KEY.public()


def _result(d: defer.Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    return out[0]


def _creds(signed: bool, address: str | None) -> checkers.SSHPrivateKey:
    blob = KEY.public().blob()
    data = publicKeySignedData(b"alice", b"alice", b"ssh-connection", KEY.sshType(), blob)
    return checkers.SSHPrivateKey(
        b"alice",
        KEY.sshType(),
        blob,
        data if signed else None,
        KEY.sign(data) if signed else None,
        address,
    )


def test_checkerEnforcesFrom(tmp_path: Any) -> None:
    path = tmp_path / "ak"
    path.write_bytes(b'from="192.0.2.0/24" ' + LINE + b"\n")
    checker = checkers.SSHPublicKeyChecker(checkers.AuthorizedKeysFileDB(path))
    # The query step already refuses a key the address may not use.
    assert _result(checker.requestAvatarId(_creds(False, "198.51.100.1"))).check(UnauthorizedLogin)
    assert _result(checker.requestAvatarId(_creds(False, "192.0.2.9"))).check(ValidPublicKey)
    assert _result(checker.requestAvatarId(_creds(True, "198.51.100.1"))).check(UnauthorizedLogin)
    assert _result(checker.requestAvatarId(_creds(True, None))).check(UnauthorizedLogin)
    avatarID = _result(checker.requestAvatarId(_creds(True, "192.0.2.9")))
    assert avatarID == b"alice"


def test_sameKeyOnTwoLinesPicksTheOneForTheAddress(tmp_path: Any) -> None:
    path = tmp_path / "ak"
    path.write_bytes(
        b'from="10.0.0.0/8",command="inside" ' + LINE + b"\n"
        b'from="!10.0.0.0/8,*",command="outside" ' + LINE + b"\n"
    )
    checker = checkers.SSHPublicKeyChecker(checkers.AuthorizedKeysFileDB(path))
    inside = _result(checker.requestAvatarId(_creds(True, "10.1.1.1")))
    outside = _result(checker.requestAvatarId(_creds(True, "192.0.2.1")))
    assert inside.authorizedKey.command == b"inside"
    assert outside.authorizedKey.command == b"outside"


def test_environmentOnlyThroughTheAllowList() -> None:
    (entry,) = _entries(
        b'environment="LANG=C.UTF-8",environment="LD_PRELOAD=/tmp/x.so",'
        b'environment="LC_TIME=C" ' + LINE + b"\n"
    )
    avatarID = checkers.AuthorizedKeyID(b"alice")
    avatarID.authorizedKey = entry
    avatar = ProcessAvatar(avatarID, Clock(), envAllow=("LANG", "LC_*"))
    assert avatar.keyEnvironment == {"LANG": "C.UTF-8", "LC_TIME": "C"}
    session = ProcessSession(avatar)
    session.setEnv(b"LANG", b"en_US.UTF-8")
    env = session._baseEnv()
    assert env["LANG"] == "C.UTF-8"  # the key's value wins over the client's
    assert env["LC_TIME"] == "C"
    assert "LD_PRELOAD" not in env


@pytest.mark.parametrize("patterns, admitted", [(b"192.0.2.0/24", True), (b"10.*", False)])
def test_serverPassesThePeerAddress(tmp_path: Any, patterns: bytes, admitted: bool) -> None:
    """SSHUserAuthServer gives the checker the connection's peer address for ``from=``."""
    from glisten.cred.portal import Portal
    from glisten.internet.address import IPv4Address

    from ._loop import USER_KEY, AcceptingClient, Loop, makeFactory

    path = tmp_path / "ak"
    path.write_bytes(b'from="%s" ' % patterns + USER_KEY.public().toString("openssh") + b"\n")
    f = makeFactory(Clock(), passwords=False)
    f.portal = Portal(f.realm)  # type: ignore[attr-defined]
    f.portal.registerChecker(checkers.SSHPublicKeyChecker(checkers.AuthorizedKeysFileDB(path)))
    loop = Loop(AcceptingClient(), f)
    loop.serverTransport.peerAddr = IPv4Address("TCP", "192.0.2.7", 40000)
    loop.pump()
    assert loop.client.conn.started is admitted
