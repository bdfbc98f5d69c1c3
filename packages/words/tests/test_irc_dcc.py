"""DCC SEND offers and the guarded file receiver."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.internet.testing import StringTransport
from glisten.words.protocols import irc


def test_parseDccSend() -> None:
    assert irc.parseDccSend('"my file.txt" 2130706433 5000 12') == (
        "my file.txt",
        "127.0.0.1",
        5000,
        12,
    )
    assert irc.parseDccSend("f 10.0.0.1 1") == ("f", "10.0.0.1", 1, -1)
    for bad in ["f 1", "f host 5000", "f 1 0", "f 1 99999", "f 1 5 big", '"unterminated 1 5']:
        with pytest.raises(irc.IRCBadMessage):
            irc.parseDccSend(bad)


@pytest.mark.parametrize(
    ("offered", "safe"),
    [
        ("notes.txt", "notes.txt"),
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..\\..\\boot.ini", "boot.ini"),
        (".bashrc", "bashrc"),
        ("a\x00b\nc", "abc"),
    ],
)
def test_safeFileName(offered: str, safe: str) -> None:
    assert irc.safeFileName(offered) == safe


@pytest.mark.parametrize("offered", ["..", "/", "../", "...", "\x01\x02"])
def test_unusableNames(offered: str) -> None:
    with pytest.raises(irc.IRCBadMessage):
        irc.safeFileName(offered)


@given(st.text(max_size=60))
def test_safeNamesStayInTheFolder(name: str) -> None:
    try:
        safe = irc.safeFileName(name)
    except irc.IRCBadMessage:
        return
    folder = "/downloads"
    assert os.path.dirname(os.path.normpath(os.path.join(folder, safe))) == folder


def receive(tmp_path: Path, name: str, data: bytes, size: int = -1, **kw: Any) -> Any:
    proto = irc.DccFileReceive(name, size, destDir=str(tmp_path), **kw)
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(data)
    proto.connectionLost()
    return proto, transport


def test_receiveWritesInsideTheFolderAndAcks(tmp_path: Path) -> None:
    proto, transport = receive(tmp_path, "../../escape.txt", b"hello", 5)
    assert (tmp_path / "escape.txt").read_bytes() == b"hello"
    assert not (tmp_path.parent.parent / "escape.txt").exists()
    assert transport.value() == struct.pack("!I", 5)
    assert proto.error is None


def test_receiveRefusesExistingFilesAndSymlinks(tmp_path: Path) -> None:
    (tmp_path / "there.txt").write_bytes(b"keep")
    proto, transport = receive(tmp_path, "there.txt", b"new")
    assert (tmp_path / "there.txt").read_bytes() == b"keep"
    assert proto.error
    target = tmp_path / "target"
    target.write_bytes(b"secret")
    (tmp_path / "link.txt").symlink_to(target)
    proto, _ = receive(tmp_path, "link.txt", b"x")
    assert proto.error
    assert target.read_bytes() == b"secret"
    p = irc.DccFileReceive("link.txt", destDir=str(tmp_path))
    p.set_overwrite(True)
    p.makeConnection(StringTransport())
    p.dataReceived(b"x")
    assert target.read_bytes() == b"secret"


def test_receiveStopsAtTheAnnouncedSize(tmp_path: Path) -> None:
    proto, transport = receive(tmp_path, "f.bin", b"x" * 10, size=4)
    assert proto.error == "more data than announced"
    assert transport.disconnecting


def test_clientDispatchesDccSend() -> None:
    offers: list[Any] = []

    class Client(irc.IRCClient):
        nickname = "me"
        wantedCapabilities = ()

        def dccDoSend(self, *args: Any) -> None:
            offers.append(args)

    c = Client()
    t = StringTransport()
    c.makeConnection(t)
    c.dataReceived(b":bob!u@h PRIVMSG me :\x01DCC SEND file.txt 2130706433 4000 10\x01\r\n")
    assert offers == [("bob!u@h", "127.0.0.1", 4000, "file.txt", 10, "file.txt 2130706433 4000 10")]
    t.clear()
    c.dataReceived(b":bob!u@h PRIVMSG me :\x01DCC SEND broken\x01\r\n")
    c.dataReceived(b":bob!u@h PRIVMSG me :\x01DCC CHAT chat 1 2\x01\r\n")
    assert t.value() == b"NOTICE bob :\x01ERRMSG DCC CHAT :Unknown DCC type\x01\r\n"
