"""knownhosts.KnownHostsFile: plain, hashed, markers, verification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glisten.conch.client.knownhosts import HashedEntry, KnownHostsFile, PlainEntry
from glisten.conch.error import HostKeyChanged, UserRejectedKey
from glisten.conch.ssh.keys import Key
from glisten.internet import defer

from ._pairs import hostKey

KEY = hostKey()
OTHER = hostKey("ecdsa", 256)


def _line(hosts: bytes, key: Key, marker: bytes = b"") -> bytes:
    return (marker + b" " if marker else b"") + hosts + b" " + key.public().toString("openssh")


def _result(d: defer.Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    return out[0]


def test_plainEntries(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(
        b"# comment\n\n"
        + _line(b"example.com,192.0.2.1", KEY)
        + b"\n"
        + _line(b"*.example.org,!bad.example.org", KEY)
        + b"\nnot a valid line\n"
    )
    kh = KnownHostsFile.fromPath(path)
    assert kh.hasHostKey(b"example.com", KEY)
    assert kh.hasHostKey(b"192.0.2.1", KEY)
    assert kh.hasHostKey(b"www.example.org", KEY)
    assert not kh.hasHostKey(b"bad.example.org", KEY)
    assert not kh.hasHostKey(b"example.net", KEY)
    # A different key type for a known host is just unknown, not a change.
    assert not kh.hasHostKey(b"example.com", OTHER)


def test_plainEntryWithPort(tmp_path: Path) -> None:
    """``[host]:port`` names are matched literally: brackets are not a character class."""
    path = tmp_path / "known_hosts"
    path.write_bytes(_line(b"[127.0.0.1]:2222,[*.example.com]:22?2", KEY) + b"\n")
    kh = KnownHostsFile.fromPath(path)
    assert kh.hasHostKey(b"[127.0.0.1]:2222", KEY)
    assert kh.hasHostKey(b"[www.example.com]:2202", KEY)
    assert not kh.hasHostKey(b"1:2222", KEY)
    assert not kh.hasHostKey(b"[127.0.0.1]:2223", KEY)
    assert _result(kh.verifyHostKey(None, b"127.0.0.1", b"127.0.0.1", KEY, 2222)) is True


def test_changedKey(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(_line(b"example.com", KEY) + b"\n")
    kh = KnownHostsFile.fromPath(path)
    with pytest.raises(HostKeyChanged) as e:
        kh.hasHostKey(b"example.com", Key.generate("ed25519"))
    assert e.value.lineno == 1


def test_revoked(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(_line(b"example.com", KEY) + b"\n" + _line(b"*", KEY, b"@revoked") + b"\n")
    with pytest.raises(HostKeyChanged):
        KnownHostsFile.fromPath(path).hasHostKey(b"example.com", KEY)


def test_certAuthorityLinesAreNotHostKeys(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    path.write_bytes(_line(b"*.example.com", KEY, b"@cert-authority") + b"\n")
    assert not KnownHostsFile.fromPath(path).hasHostKey(b"a.example.com", KEY)


def test_hashedRoundTrip(tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    kh = KnownHostsFile.fromPath(path)
    entry = kh.addHostKey(b"[example.com]:2222", KEY)
    assert isinstance(entry, HashedEntry)
    kh.save()
    text = path.read_bytes()
    assert text.startswith(b"|1|") and b"example.com" not in text
    again = KnownHostsFile.fromPath(path)
    assert again.hasHostKey(b"[example.com]:2222", KEY)
    assert not again.hasHostKey(b"example.com", KEY)


def test_plainAdd(tmp_path: Path) -> None:
    kh = KnownHostsFile(tmp_path / "kh")
    entry = kh.addHostKey(b"example.com", KEY, hashed=False)
    assert isinstance(entry, PlainEntry)
    kh.save()
    assert (tmp_path / "kh").read_bytes().startswith(b"example.com ssh-ed25519 ")


class _UI:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.questions: list[str] = []

    def prompt(self, text: str) -> defer.Deferred[bool]:
        self.questions.append(text)
        return defer.succeed(self.answer)


def test_verifyUnknownAsksAndSaves(tmp_path: Path) -> None:
    kh = KnownHostsFile.fromPath(tmp_path / "kh")
    ui = _UI(True)
    assert _result(kh.verifyHostKey(ui, b"example.com", b"192.0.2.1", KEY, 2222)) is True
    assert "SHA256:" in ui.questions[0]
    again = KnownHostsFile.fromPath(tmp_path / "kh")
    assert _result(again.verifyHostKey(None, b"example.com", b"192.0.2.1", KEY, 2222)) is True


def test_verifyRefusals(tmp_path: Path) -> None:
    kh = KnownHostsFile.fromPath(tmp_path / "kh")
    assert _result(kh.verifyHostKey(None, b"h", b"192.0.2.1", KEY)).check(UserRejectedKey)
    assert _result(kh.verifyHostKey(_UI(False), b"h", b"192.0.2.1", KEY)).check(UserRejectedKey)
    kh.addHostKey(b"h", KEY)
    failure = _result(kh.verifyHostKey(_UI(True), b"h", b"192.0.2.1", Key.generate("ed25519")))
    assert failure.check(HostKeyChanged)
