"""The ``glisten words`` plugin: options, password file, service."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from glisten.cred.checkers import scryptHash
from glisten.cred.credentials import UsernamePassword
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.testing import MemoryReactor
from glisten.words import tap


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    tap.serviceMaker.addArguments(parser)
    return parser.parse_args(list(args))


def outcome(d: Any) -> Any:
    results: list[Any] = []
    d.addBoth(results.append)
    return results[0]


def test_passwordFileClearAndHashed(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd"
    hashed = scryptHash("wonderland", n=2**4).decode()
    passwd.write_text(f"# accounts\nalice:{hashed}\nbob:builder\n")
    checker = tap.PasswordFileChecker(str(passwd))
    assert outcome(checker.requestAvatarId(UsernamePassword(b"alice", b"wonderland"))) == "alice"
    assert outcome(checker.requestAvatarId(UsernamePassword(b"bob", b"builder"))) == "bob"
    for name, password in [(b"alice", b"nope"), (b"bob", b"x"), (b"carol", b"builder")]:
        failure = outcome(checker.requestAvatarId(UsernamePassword(name, password)))
        assert failure.check(UnauthorizedLogin)


def test_makeService(tmp_path: Path) -> None:
    motd = tmp_path / "motd"
    motd.write_text("hello\nworld\n")
    reactor = MemoryReactor()
    options = parse(
        "--irc-port", "tcp:0", "--group", "#lobby", "--motd", str(motd), "--hostname", "h"
    )
    svc = tap.makeService(options, reactor)
    svc.startService()
    assert len(reactor.tcpServers) == 1
    factory = svc.factory  # type: ignore[attr-defined]
    assert factory.motd == ["hello", "world"]
    assert set(factory.realm.groups) == {"lobby"}
    assert not factory.realm.createGroupOnRequest
    assert factory.nickChangeAllowed
    svc.stopService()


def test_openRegistrationWithoutGroups() -> None:
    svc = tap.makeService(parse("--irc-port", "tcp:0"), MemoryReactor())
    assert svc.factory.realm.createGroupOnRequest  # type: ignore[attr-defined]


def test_badFiles(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--passwd"):
        tap.makeService(parse("--passwd", str(tmp_path / "missing")), MemoryReactor())
    with pytest.raises(ValueError, match="--motd"):
        tap.makeService(parse("--motd", str(tmp_path / "missing")), MemoryReactor())


def test_operatorPasswords(tmp_path: Path) -> None:
    opers = tmp_path / "opers"
    opers.write_text(f"root:{scryptHash('sesame', n=2**4).decode()}\n")
    svc = tap.makeService(parse("--oper-passwd", str(opers)), MemoryReactor())
    checker = svc.factory.operatorChecker  # type: ignore[attr-defined]
    assert outcome(checker.requestAvatarId(UsernamePassword(b"root", b"sesame"))) == "root"
    assert outcome(checker.requestAvatarId(UsernamePassword(b"root", b"x"))).check(
        UnauthorizedLogin
    )
    assert tap.makeService(parse(), MemoryReactor()).factory.operatorChecker is None  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="--oper-passwd"):
        tap.makeService(parse("--oper-passwd", str(tmp_path / "missing")), MemoryReactor())
