"""DCC SEND offers and the guarded file receiver."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from glisten.internet.defer import Deferred
from glisten.internet.error import ConnectionLost, TimeoutError
from glisten.internet.protocol import ClientFactory
from glisten.internet.testing import StringTransport
from glisten.words.protocols import irc
from glisten.words.protocols._irc import _dcc as irc_dcc


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


def test_receiveClosesOnceComplete(tmp_path: Path) -> None:
    proto = irc.DccFileReceive("f.bin", 6, destDir=str(tmp_path))
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(b"abc")
    assert not transport.disconnecting
    proto.dataReceived(b"def")
    assert transport.disconnecting and transport.value() == struct.pack("!II", 3, 6)
    proto.connectionLost()
    assert proto.error is None and (tmp_path / "f.bin").read_bytes() == b"abcdef"


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
    c.dataReceived(b":bob!u@h PRIVMSG me :\x01DCC XMIT f 1 2\x01\r\n")
    assert t.value() == b"NOTICE bob :\x01ERRMSG DCC XMIT :Unknown DCC type\x01\r\n"


# ----------------------------------------------------------------- offers, acks, chat lines


def test_parseDccChat() -> None:
    assert irc.parseDccChat("chat 2130706433 5000") == ("127.0.0.1", 5000)
    assert irc.parseDccChat("CHAT ::1 70") == ("::1", 70)
    for bad in ("", "chat", "chat 1", "talk 1 2", "chat x 2", "chat 1 0", "chat 1 99999"):
        with pytest.raises(irc.IRCBadMessage):
            irc.parseDccChat(bad)


def test_formatDccSendOffersOnlyTheBaseName() -> None:
    offer = irc.formatDccSend("/home/me/secret dir/my file.txt", "127.0.0.1", 4000, 10)
    assert offer == '"my file.txt" 2130706433 4000 10'
    assert irc.parseDccSend(offer) == ("my file.txt", "127.0.0.1", 4000, 10)
    assert irc.formatDccSend("a.bin", "::1", 1, -1) == "a.bin ::1 1"
    with pytest.raises(irc.IRCBadMessage):
        irc.formatDccSend("a.bin", "localhost", 1, 1)
    with pytest.raises(irc.IRCBadMessage):
        irc.formatDccSend("a.bin", "127.0.0.1", 0, 1)


@given(
    st.text(min_size=1, max_size=50).filter(lambda n: '"' not in n),
    st.integers(1, 65535),
    st.integers(-1, 1 << 40),
)
@example("''", 1, 0)  # quote characters alone: quoted, or the receiver reads an empty name
def test_formatParseRoundTrip(name: str, port: int, size: int) -> None:
    try:
        offer = irc.formatDccSend(name, "10.1.2.3", port, size)
    except irc.IRCBadMessage:
        return
    try:
        parsed = irc.parseDccSend(offer)
    except irc.IRCBadMessage:
        return  # names with quotes or backslashes the peer's shell-like split refuses
    assert parsed[1:] == ("10.1.2.3", port, size)
    assert parsed[0] == irc.safeFileName(name)


def test_ackDecoderWholeAndByteAtATime() -> None:
    stream = struct.pack("!II", 1024, 2048)
    whole = irc_dcc.DccAckDecoder()
    assert whole.receiveData(stream, 2048) == [1024, 2048]
    one = irc_dcc.DccAckDecoder()
    got = [a for i in range(len(stream)) for a in one.receiveData(stream[i : i + 1], 2048)]
    assert got == [1024, 2048]
    assert one.acknowledged == 2048
    with pytest.raises(irc.IRCBadMessage):
        irc_dcc.DccAckDecoder().receiveData(struct.pack("!I", 5), 4)
    # Past 4 GiB the count wraps.
    assert irc_dcc.DccAckDecoder().receiveData(struct.pack("!I", 10), (1 << 32) + 10) == [10]


def test_chatDecoderWholeAndByteAtATime() -> None:
    stream = "hello\r\nthere é\nlast".encode()
    whole = irc_dcc.DccChatDecoder()
    assert whole.receiveData(stream) == ["hello", "there é"]
    assert whole.receiveData(b"\r\n") == ["last"]
    one = irc_dcc.DccChatDecoder()
    got = [x for i in range(len(stream)) for x in one.receiveData(stream[i : i + 1])]
    assert got == ["hello", "there é"]
    short = irc_dcc.DccChatDecoder(maxLineLength=8)
    with pytest.raises(irc.IRCBadMessage):
        short.receiveData(b"x" * 9)  # refused before its end arrives
    with pytest.raises(irc.IRCBadMessage):
        irc_dcc.DccChatDecoder(maxLineLength=8).receiveData(b"y" * 9 + b"\n")


@given(st.lists(st.binary(max_size=40), max_size=20), st.integers(0, 1 << 33))
def test_decodersOnlyRaiseTheirError(chunks: list[bytes], sent: int) -> None:
    acks, chat = irc_dcc.DccAckDecoder(), irc_dcc.DccChatDecoder(maxLineLength=30)
    for chunk in chunks:
        try:
            acks.receiveData(chunk, sent)
        except irc.IRCBadMessage:
            pass
        try:
            for line in chat.receiveData(chunk):
                assert "\n" not in line
        except irc.IRCBadMessage:
            pass


@given(st.text(max_size=80))
def test_parseDccChatOnlyRaisesItsError(data: str) -> None:
    try:
        irc.parseDccChat(data)
    except irc.IRCBadMessage:
        pass


# ------------------------------------------------------------------- sending and chatting


def test_sendProtocolWaitsForEachAck(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 1024 + b"b" * 10)
    proto = irc.DccSendProtocol(path.open("rb"))
    transport = StringTransport()
    proto.makeConnection(transport)
    assert transport.value() == b"a" * 1024
    transport.clear()
    proto.dataReceived(struct.pack("!I", 1000))  # not everything yet: wait
    assert transport.value() == b""
    proto.dataReceived(struct.pack("!I", 1024)[:2])
    proto.dataReceived(struct.pack("!I", 1024)[2:])
    assert transport.value() == b"b" * 10
    proto.dataReceived(struct.pack("!I", 1034))
    assert proto.completed and transport.disconnecting
    proto.connectionLost()
    assert proto.file.closed


def test_sendProtocolAbortsOnAcksOfUnsentBytes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 2000)
    proto = irc.DccSendProtocol(path.open("rb"))
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(struct.pack("!I", 5000))
    assert transport.disconnecting and not proto.completed


def test_fileSize(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100)
    with path.open("rb") as f:
        f.read(30)
        assert irc.fileSize(f) == 70
    assert irc.fileSize(io.BytesIO(b"abc")) == 3
    assert irc.fileSize(object()) is None


class Recorder(irc.IRCClient):
    wantedCapabilities = ()
    heartbeatInterval = None

    def __init__(self, nickname: str) -> None:
        super().__init__()
        self.nickname = nickname
        self.messages: list[tuple[str, str, str]] = []
        self.offers: list[tuple[Any, ...]] = []
        self.gotMessage: Any = None

    def privmsg(self, user: str, channel: str, message: str) -> None:
        self.messages.append((user, channel, message))
        if self.gotMessage is not None:
            d, self.gotMessage = self.gotMessage, None
            d.callback(message)

    def dccDoSend(self, *args: Any) -> None:
        self.offers.append(("SEND", *args))

    def dccDoChat(self, *args: Any) -> None:
        self.offers.append(("CHAT", *args))

    def dccDoAcceptResume(self, *args: Any) -> None:
        self.offers.append(("ACCEPT", *args))


def connected(nick: str, kind: type[Recorder] = Recorder) -> tuple[Any, StringTransport]:
    client = kind(nick)
    transport = StringTransport()
    client.makeConnection(transport)
    transport.clear()
    return client, transport


def test_chatLinesGoToPrivmsg() -> None:
    client, _ = connected("me")
    chat = irc.DccChat(client, ("bob!u@h", None, "chat 1 2"))
    transport = StringTransport()
    chat.makeConnection(transport)
    chat.dataReceived(b"hi there\r\nsecond\n")
    assert client.messages == [("bob!u@h", "me", "hi there"), ("bob!u@h", "me", "second")]
    chat.sendLine("hello é")
    assert transport.value() == "hello é\r\n".encode()
    for bad in ("a\r\nQUIT", "a\nb", "a\0b", "x" * 5000):
        with pytest.raises(irc.IRCLocalError):
            chat.sendLine(bad)
    chat.dataReceived(b"z" * 5000)
    assert transport.disconnecting
    chat.dataReceived(b"after\n")
    assert len(client.messages) == 2


def test_clientDispatchesDccChatAndIgnoresByDefault() -> None:
    client, transport = connected("me")
    client.dataReceived(b":bob!u@h PRIVMSG me :\x01DCC CHAT chat 2130706433 4000\x01\r\n")
    assert client.offers == [("CHAT", "bob!u@h", "me", "127.0.0.1", 4000, "chat 2130706433 4000")]
    plain = irc.IRCClient()
    plain.nickname = "me"
    plain.wantedCapabilities = ()
    t = StringTransport()
    plain.makeConnection(t)
    t.clear()
    plain.dataReceived(b":bob!u@h PRIVMSG me :\x01DCC CHAT chat 2130706433 4000\x01\r\n")
    plain.dataReceived(b":bob!u@h PRIVMSG me :\x01DCC CHAT chat nowhere 4000\x01\r\n")
    assert t.value() == b""


async def test_offerTimesOut(reactor: Any, tmp_path: Path) -> None:
    alice, transport = connected("alice")
    alice.reactor = reactor
    alice.dccAddress = "127.0.0.1"
    alice.dccTimeout = 0.01
    path = tmp_path / "f.bin"
    path.write_bytes(b"data")
    d = alice.dccSend("bob", str(path))
    assert transport.value().startswith(b"PRIVMSG bob :\x01DCC SEND f.bin 2130706433 ")
    assert transport.value().endswith(b" 4\x01\r\n")
    with pytest.raises(TimeoutError):
        await d


def fetch(
    reactor: Any, address: str, port: int, name: str, size: int, folder: str, **kw: Any
) -> tuple[irc.DccFileReceive, Deferred[None]]:
    """Connect a :class:`DccFileReceive` to an offer; the Deferred fires once it is done."""
    received = irc.DccFileReceive(name, size, destDir=folder, **kw)
    done: Deferred[None] = Deferred()
    lost = received.connectionLost

    def connectionLost(reason: Any = None) -> None:
        lost(reason)
        done.callback(None)

    received.connectionLost = connectionLost  # type: ignore[method-assign]
    reactor.connectTCP(address, port, ClientFactory.forProtocol(lambda: received))  # type: ignore[arg-type]
    return received, done


def loopbackPair(
    reactor: Any, bobKind: type[Recorder] = Recorder
) -> tuple[Recorder, StringTransport, Any, StringTransport]:
    """alice and bob, each with its IRC connection, making DCC offers on 127.0.0.1."""
    alice, aliceIRC = connected("alice")
    bob, bobIRC = connected("bob", bobKind)
    for client in (alice, bob):
        client.reactor = reactor
        client.dccAddress = "127.0.0.1"
    return alice, aliceIRC, bob, bobIRC


def offerTo(sender: StringTransport, receiver: Recorder) -> None:
    line = sender.value()
    sender.clear()
    receiver.dataReceived(b":alice!a@127.0.0.1 " + line)


async def test_sendAndChatOverLoopback(reactor: Any, tmp_path: Path) -> None:
    """A file goes from one client to another over a real DCC connection, then a chat."""
    alice, aliceIRC, bob, _ = loopbackPair(reactor)
    data = os.urandom(5000)
    (tmp_path / "out").mkdir()
    (tmp_path / "in").mkdir()
    (tmp_path / "out" / "report.bin").write_bytes(data)

    sent = alice.dccSend("bob", str(tmp_path / "out" / "report.bin"))
    offerTo(aliceIRC, bob)
    (kind, user, address, port, name, size, _) = bob.offers.pop()
    assert (kind, name, size) == ("SEND", "report.bin", 5000)
    received, done = fetch(reactor, address, port, name, size, str(tmp_path / "in"))
    assert await sent == 5000
    await done
    assert (tmp_path / "in" / "report.bin").read_bytes() == data
    assert received.error is None

    chatting = alice.dccChat("bob")
    offerTo(aliceIRC, bob)
    (kind, user, channel, address, port, _) = bob.offers.pop()
    assert kind == "CHAT"
    bobClosed: Deferred[None] = Deferred()

    class BobChats(irc.DccChatFactory):
        def clientConnectionLost(self, connector: Any, reason: Any) -> None:
            bobClosed.callback(None)

    reactor.connectTCP(address, port, BobChats(bob, (user, channel, None)))
    aliceChat = await chatting
    bob.gotMessage = Deferred()
    aliceChat.sendLine("hello bob")
    assert await bob.gotMessage == "hello bob"
    assert bob.messages[-1][0] == "alice!a@127.0.0.1"
    aliceClosed: Deferred[None] = Deferred()
    aliceChat.connectionLost = lambda reason=None: aliceClosed.callback(None)  # type: ignore[method-assign]
    aliceChat.transport.loseConnection()
    await aliceClosed
    await bobClosed


def test_offersNeedAnIPAddress(tmp_path: Path) -> None:
    from glisten.internet.address import UNIXAddress

    class UnixTransport(StringTransport):
        def getHost(self) -> Any:
            return UNIXAddress("/tmp/irc.sock")

    alice = Recorder("alice")
    alice.makeConnection(UnixTransport())
    with pytest.raises(irc.IRCLocalError):
        alice.dccChat("bob")
    alice.dccAddress = "irc.example"
    with pytest.raises(irc.IRCBadMessage):
        alice.dccSend("bob", io.BytesIO(b"x"))


def test_parseDccResume() -> None:
    assert irc.parseDccResume('"my file.txt" 4000 1024') == ("my file.txt", 4000, 1024)
    assert irc.parseDccResume("f.bin 1 0") == ("f.bin", 1, 0)
    for bad in ("", "f.bin 1", "f.bin x 2", "f.bin 0 2", 'f.bin" 1 2', "f 70000 1"):
        with pytest.raises(irc.IRCBadMessage):
            irc.parseDccResume(bad)


@given(st.text(max_size=60))
def test_parseDccResumeOnlyRaisesItsError(data: str) -> None:
    try:
        irc.parseDccResume(data)
    except irc.IRCBadMessage:
        pass


def test_resumeRequestsForUnknownOffersAreIgnored() -> None:
    alice, transport = connected("alice")
    alice.dataReceived(b":bob!u@h PRIVMSG alice :\x01DCC RESUME f.bin 4000 10\x01\r\n")
    assert transport.value() == b""


async def test_resumeOverLoopback(reactor: Any, tmp_path: Path) -> None:
    """The receiver has the first part of the file, asks to resume; the sender seeks."""
    alice, aliceIRC, bob, bobIRC = loopbackPair(reactor)
    data = os.urandom(3000)
    (tmp_path / "in").mkdir()
    (tmp_path / "big file.bin").write_bytes(data)
    (tmp_path / "in" / "big file.bin").write_bytes(data[:1000])

    sent = alice.dccSend("bob", str(tmp_path / "big file.bin"))
    offerTo(aliceIRC, bob)
    (_, _, address, port, name, size, _) = bob.offers.pop()
    # Only the user the file was offered to may ask to resume it.
    alice.dataReceived(f":eve!e@h PRIVMSG alice :\x01DCC RESUME x {port} 5\x01\r\n".encode())
    assert aliceIRC.value() == b""
    bob.dccResume("alice", name, port, 1000)
    assert (
        bobIRC.value()
        == f'PRIVMSG alice :\x01DCC RESUME "big file.bin" {port} 1000\x01\r\n'.encode()
    )
    alice.dataReceived(b":bob!b@127.0.0.1 " + bobIRC.value())
    bobIRC.clear()
    offerTo(aliceIRC, bob)  # the ACCEPT
    assert bob.offers.pop() == ("ACCEPT", "alice!a@127.0.0.1", "big file.bin", port, 1000)
    received, done = fetch(
        reactor, address, port, name, size, str(tmp_path / "in"), resumeOffset=1000
    )
    assert await sent == 3000
    await done
    assert received.error is None
    assert (tmp_path / "in" / "big file.bin").read_bytes() == data
    # The offer is gone: a late RESUME for it is ignored.
    alice.dataReceived(f":bob!b@h PRIVMSG alice :\x01DCC RESUME x {port} 5\x01\r\n".encode())
    assert aliceIRC.value() == b""


def test_parseDccPassiveSend() -> None:
    assert irc.parseDccPassiveSend("f.bin 2130706433 0 100 42") == ("f.bin", 100, "42")
    assert irc.parseDccPassiveSend('"my file.txt" 0 0 5 t1') == ("my file.txt", 5, "t1")
    assert irc.parseDccPassiveSend("f.bin 2130706433 5000 100") is None  # active
    assert irc.parseDccPassiveSend("f.bin 2130706433 5000 100 42") is None  # active, token
    for bad in ("f 1 0 100", "f 1 0 x 42", "f 1 0 5 to-ken", "f host 0 5 42", "f 1 0 ² 4"):
        with pytest.raises(irc.IRCBadMessage):
            irc.parseDccPassiveSend(bad)
    with pytest.raises(irc.IRCBadMessage):
        irc.parseDccSend("f.bin 2130706433 0 100 42")  # never taken as an active offer


def test_parseDccPassiveResume() -> None:
    assert irc.parseDccPassiveResume("f.bin 0 100 42") == ("f.bin", 100, "42")
    assert irc.parseDccPassiveResume('"my file.txt" 0 5 t') == ("my file.txt", 5, "t")
    assert irc.parseDccPassiveResume("f.bin 4000 100") is None
    for bad in ("f 0 x 42", "f 0 5 t-k", "f 0 5 " + "t" * 40):
        with pytest.raises(irc.IRCBadMessage):
            irc.parseDccPassiveResume(bad)


@given(st.text(alphabet='f0123456789²" t-', max_size=30) | st.text(max_size=40))
def test_passiveParsersOnlyRaiseTheirError(data: str) -> None:
    for parse in (
        irc.parseDccPassiveSend,
        irc.parseDccPassiveResume,
        irc.parseDccSend,
        irc.parseDccPassiveReply,
        irc.parseDccPassiveChat,
    ):
        try:
            parse(data)
        except irc.IRCBadMessage:
            pass


class PassiveRecorder(Recorder):
    def dccDoPassiveSend(self, *args: Any) -> None:
        self.offers.append(("PASSIVE", *args))


def passiveOffer(client: irc.IRCClient, sender: str, args: str) -> None:
    client.dataReceived(f":{sender} PRIVMSG bob :\x01DCC SEND {args}\x01\r\n".encode())


def test_passiveOffersAreIgnoredByDefault() -> None:
    plain, transport = connected("bob")
    passiveOffer(plain, "alice!a@h", "f.bin 2130706433 0 100 42")
    passiveOffer(plain, "alice!a@h", "f.bin 2130706433 0 100 bad-token")
    assert transport.value() == b""
    bob = PassiveRecorder("bob")
    bob.makeConnection(StringTransport())
    passiveOffer(bob, "alice!a@h", '"a b.bin" 2130706433 0 100 42')
    assert bob.offers == [
        ("PASSIVE", "alice!a@h", "a b.bin", 100, "42", '"a b.bin" 2130706433 0 100 42')
    ]


def sendTo(reactor: Any, port: int, file: Any, position: int = 0) -> Deferred[None]:
    """Be the passive sender: connect to the receiver's port and send ``file`` (whose first
    ``position`` bytes the receiver has).

    :return: fires once the sender's connection is closed.
    """
    closed: Deferred[None] = Deferred()

    class Sender(irc.DccSendProtocol):
        bytesSent = position

        def connectionLost(self, reason: Any = None) -> None:
            super().connectionLost(reason)
            closed.callback(None)

    reactor.connectTCP("127.0.0.1", port, ClientFactory.forProtocol(lambda: Sender(file)))  # type: ignore[arg-type]
    return closed


def replyPort(bobIRC: StringTransport, expected: str) -> int:
    """The port of bob's ``DCC SEND`` answer to a passive offer, checking the rest."""
    line = bobIRC.value().decode()
    bobIRC.clear()
    prefix = "PRIVMSG alice :\x01DCC SEND "
    assert line.startswith(prefix) and line.endswith("\x01\r\n"), line
    name, address, port, size = irc.parseDccSend(line[len(prefix) : -3])
    assert f"{irc_dcc.quoteFileName(name)} {size} {line[:-3].rsplit(' ', 1)[1]}" == expected
    assert address == "127.0.0.1"
    return port


async def test_passiveSendOverLoopback(reactor: Any, tmp_path: Path) -> None:
    """A sender that cannot listen offers a file; the receiver listens and gets it."""
    bob, bobIRC = connected("bob")
    bob.reactor = reactor
    bob.dccAddress = "127.0.0.1"
    data = os.urandom(5000)
    (tmp_path / "in").mkdir()
    receiver = irc.DccFileReceive("../report.bin", 5000, destDir=str(tmp_path / "in"))
    received = bob.dccAcceptPassiveSend("alice!a@h", "../report.bin", 5000, "77", receiver)
    port = replyPort(bobIRC, "../report.bin 5000 77")
    sent = sendTo(reactor, port, io.BytesIO(data))
    assert await received is receiver
    await sent
    assert (tmp_path / "in" / "report.bin").read_bytes() == data
    assert not (tmp_path / "report.bin").exists()


async def test_passiveSendRefusesMoreThanAnnounced(reactor: Any, tmp_path: Path) -> None:
    bob, bobIRC = connected("bob")
    bob.reactor = reactor
    bob.dccAddress = "127.0.0.1"
    receiver = irc.DccFileReceive("f.bin", 10, destDir=str(tmp_path))
    received = bob.dccAcceptPassiveSend("alice", "f.bin", 10, "1", receiver)
    sent = sendTo(reactor, replyPort(bobIRC, "f.bin 10 1"), io.BytesIO(b"x" * 5000))
    with pytest.raises(ConnectionLost):
        await received
    await sent
    assert receiver.error == "more data than announced"


async def test_passiveResumeOverLoopback(reactor: Any, tmp_path: Path) -> None:
    """Resuming a passive offer: RESUME with port 0 and the token, then, once the same
    sender accepts that position, the usual answer and connection."""
    bob, bobIRC = connected("bob")
    bob.reactor = reactor
    bob.dccAddress = "127.0.0.1"
    data = os.urandom(3000)
    (tmp_path / "big file.bin").write_bytes(data[:1000])
    receiver = irc.DccFileReceive("big file.bin", 3000, destDir=str(tmp_path), resumeOffset=1000)
    received = bob.dccAcceptPassiveSend("alice!a@h", "big file.bin", 3000, "9", receiver)
    assert bobIRC.value() == b'PRIVMSG alice :\x01DCC RESUME "big file.bin" 0 1000 9\x01\r\n'
    bobIRC.clear()
    for sender, args in [
        ("eve!e@h", '"big file.bin" 0 1000 9'),  # someone else
        ("alice!a@h", '"big file.bin" 0 999 9'),  # another position
        ("alice!a@h", '"big file.bin" 0 1000 8'),  # another token
    ]:
        bob.dataReceived(f":{sender} PRIVMSG bob :\x01DCC ACCEPT {args}\x01\r\n".encode())
        assert bobIRC.value() == b""
    bob.dataReceived(b':alice!a@h PRIVMSG bob :\x01DCC ACCEPT "big file.bin" 0 1000 9\x01\r\n')
    port = replyPort(bobIRC, '"big file.bin" 3000 9')
    source = io.BytesIO(data)
    source.seek(1000)
    sent = sendTo(reactor, port, source, 1000)
    assert await received is receiver
    await sent
    assert (tmp_path / "big file.bin").read_bytes() == data


def test_passiveResumeTimesOut(tmp_path: Path) -> None:
    from glisten.internet.task import Clock

    bob, bobIRC = connected("bob")
    bob.reactor = clock = Clock()
    bob.dccAddress = "127.0.0.1"
    receiver = irc.DccFileReceive("f.bin", 30, destDir=str(tmp_path), resumeOffset=10)
    received = bob.dccAcceptPassiveSend("alice", "f.bin", 30, "5", receiver)
    failures: list[Any] = []
    received.addErrback(failures.append)
    bobIRC.clear()
    clock.advance(bob.dccTimeout)
    assert failures and failures[0].check(TimeoutError)
    bob.dataReceived(b":alice!a@h PRIVMSG bob :\x01DCC ACCEPT f.bin 0 10 5\x01\r\n")
    assert bobIRC.value() == b""
    assert not clock.getDelayedCalls()


def test_passiveResumeReplacedOrEndedWithTheConnection(tmp_path: Path) -> None:
    from glisten.internet.task import Clock

    bob, _ = connected("bob")
    bob.reactor = clock = Clock()
    bob.dccAddress = "127.0.0.1"
    receiver = irc.DccFileReceive("f.bin", 30, destDir=str(tmp_path), resumeOffset=10)
    failures: list[Any] = []
    bob.dccAcceptPassiveSend("alice", "f.bin", 30, "5", receiver).addErrback(failures.append)
    # A second request for the same offer replaces the first.
    bob.dccAcceptPassiveSend("alice", "f.bin", 30, "5", receiver).addErrback(failures.append)
    assert len(failures) == 1 and failures[0].check(irc.IRCLocalError)
    bob.connectionLost()
    assert len(failures) == 2 and failures[1].check(ConnectionLost)
    assert not clock.getDelayedCalls()


# ---------------------------------------------------------------- passive sending


def test_parseDccPassiveReply() -> None:
    parse = irc_dcc.parseDccPassiveReply
    assert parse('"a b.bin" 2130706433 4000 100 42') == ("a b.bin", "127.0.0.1", 4000, 100, "42")
    assert parse("f.bin 2130706433 0 100 42") is None  # a passive offer, not an answer
    assert parse("f.bin 2130706433 4000 100") is None  # an ordinary offer
    for bad in ("f.bin 2130706433 4000 100 no/token", "f.bin nowhere 4000 100 1", 'f "x 1 2 3 4'):
        with pytest.raises(irc.IRCBadMessage):
            parse(bad)


def passiveSender(tmp_path: Path, data: bytes) -> tuple[Recorder, StringTransport, Any, str]:
    """alice, offering ``data`` (in ``report.bin``) passively to bob on a memory reactor.

    :return: alice, her IRC transport, the reactor and the offer's token.
    """
    from glisten.internet.testing import MemoryReactorClock

    alice, aliceIRC = connected("alice")
    alice.reactor = reactor = MemoryReactorClock()
    alice.dccAddress = "127.0.0.1"
    (tmp_path / "report.bin").write_bytes(data)
    alice.sent = alice.dccSend("bob", str(tmp_path / "report.bin"), passive=True)  # type: ignore[attr-defined]
    line = aliceIRC.value().decode()
    aliceIRC.clear()
    prefix = f"PRIVMSG bob :\x01DCC SEND report.bin 2130706433 0 {len(data)} "
    assert line.startswith(prefix) and line.endswith("\x01\r\n"), line
    token = line[len(prefix) : -3]
    assert irc_dcc.parseDccPassiveSend(line[len("PRIVMSG bob :\x01DCC SEND ") : -3]) == (
        "report.bin",
        len(data),
        token,
    )
    return alice, aliceIRC, reactor, token


def answer(client: irc.IRCClient, sender: str, args: str) -> None:
    client.dataReceived(f":{sender} PRIVMSG alice :\x01DCC {args}\x01\r\n".encode())


def sendOverMemory(factory: Any, acks: bool = True) -> tuple[Any, StringTransport]:
    """Connect the sender's protocol to a memory transport and acknowledge every block."""
    proto = factory.buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    while acks and not transport.disconnecting:
        proto.dataReceived(struct.pack("!I", proto.bytesSent & 0xFFFFFFFF))
    return proto, transport


def test_passiveSendConnectsWhereTheReceiverAnswers(tmp_path: Path) -> None:
    data = os.urandom(3000)
    alice, aliceIRC, reactor, token = passiveSender(tmp_path, data)
    # Answers from someone else, with another token, or without one are not ours.
    answer(alice, "eve!e@h", f"SEND report.bin 2130706433 4000 3000 {token}")
    answer(alice, "bob!b@h", "SEND report.bin 2130706433 4000 3000 1" + token)
    answer(alice, "bob!b@h", "SEND report.bin 2130706433 4000 3000")
    assert reactor.tcpClients == []
    assert [offer[0] for offer in alice.offers] == ["SEND", "SEND", "SEND"]
    answer(alice, "BOB!b@h", f"SEND report.bin 2130706433 4000 3000 {token}")
    ((host, port, factory, timeout, _),) = reactor.tcpClients
    assert (host, port, timeout) == ("127.0.0.1", 4000, alice.dccTimeout)
    assert len(alice.offers) == 3
    # The token is used up, and the answer timer gone.
    answer(alice, "bob!b@h", f"SEND report.bin 2130706433 4001 3000 {token}")
    assert len(reactor.tcpClients) == 1
    assert not reactor.getDelayedCalls()
    proto, transport = sendOverMemory(factory)
    assert transport.value() == data
    proto.connectionLost(None)
    results: list[Any] = []
    alice.sent.addBoth(results.append)
    assert results == [3000]


def test_passiveSendAcceptsAResume(tmp_path: Path) -> None:
    data = os.urandom(3000)
    alice, aliceIRC, reactor, token = passiveSender(tmp_path, data)
    answer(alice, "eve!e@h", f"RESUME report.bin 0 1000 {token}")
    answer(alice, "bob!b@h", f"RESUME report.bin 0 5000 {token}")  # past the end
    assert aliceIRC.value() == b""
    answer(alice, "bob!b@h", f"RESUME report.bin 0 1000 {token}")
    assert (
        aliceIRC.value()
        == f"PRIVMSG bob :\x01DCC ACCEPT report.bin 0 1000 {token}\x01\r\n".encode()
    )
    answer(alice, "bob!b@h", f"SEND report.bin 2130706433 4000 3000 {token}")
    ((_, _, factory, _, _),) = reactor.tcpClients
    proto, transport = sendOverMemory(factory)
    assert transport.value() == data[1000:]
    proto.connectionLost(None)
    results: list[Any] = []
    alice.sent.addBoth(results.append)
    assert results == [3000]


def test_passiveSendFailures(tmp_path: Path) -> None:
    from glisten.internet.error import ConnectError
    from glisten.python.failure import Failure

    alice, _, reactor, _ = passiveSender(tmp_path, b"x" * 10)
    failures: list[Any] = []
    alice.sent.addErrback(failures.append)
    reactor.advance(alice.dccTimeout)
    assert failures and failures[0].check(TimeoutError)

    alice, _, reactor, token = passiveSender(tmp_path, b"x" * 10)
    alice.sent.addErrback(failures.append)
    answer(alice, "bob!b@h", f"SEND report.bin 2130706433 4000 10 {token}")
    factory = reactor.tcpClients[0][2]
    factory.clientConnectionFailed(None, Failure(ConnectError("refused")))
    assert len(failures) == 2 and failures[1].check(ConnectError)
    assert factory.file.closed

    alice, _, reactor, _ = passiveSender(tmp_path, b"x" * 10)
    alice.sent.addErrback(failures.append)
    alice.connectionLost()
    assert len(failures) == 3 and failures[2].check(ConnectionLost)
    assert not reactor.getDelayedCalls()

    alice, _ = connected("alice")
    alice.dccAddress = "127.0.0.1"

    class Unsized(io.RawIOBase):
        def readable(self) -> bool:
            return True

    with pytest.raises(irc.IRCLocalError):
        alice.dccSend("bob", Unsized(), passive=True)  # type: ignore[arg-type]


async def test_passiveSendBetweenTwoClientsOverLoopback(reactor: Any, tmp_path: Path) -> None:
    """alice cannot listen: she offers passively, bob listens and she connects to him."""

    class Bob(PassiveRecorder):
        def dccDoPassiveSend(
            self, user: str, fileName: str, size: int, token: str, data: str
        ) -> None:
            receiver = irc.DccFileReceive(fileName, size, destDir=str(tmp_path / "in"))
            self.received = self.dccAcceptPassiveSend(user, fileName, size, token, receiver)

    alice, aliceIRC, bob, bobIRC = loopbackPair(reactor, Bob)
    data = os.urandom(20000)
    (tmp_path / "in").mkdir()
    (tmp_path / "big.bin").write_bytes(data)
    sent = alice.dccSend("bob", str(tmp_path / "big.bin"), passive=True)
    offerTo(aliceIRC, bob)
    line = bobIRC.value()
    bobIRC.clear()
    alice.dataReceived(b":bob!b@127.0.0.1 " + line)
    assert await sent == 20000
    await bob.received
    assert (tmp_path / "in" / "big.bin").read_bytes() == data


# ---------------------------------------------------------------- passive chats


def test_parseDccPassiveChat() -> None:
    parse = irc_dcc.parseDccPassiveChat
    assert parse("chat 2130706433 0 42") == ("127.0.0.1", 0, "42")
    assert parse("CHAT ::1 4000 abc") == ("::1", 4000, "abc")
    assert parse("chat 2130706433 4000") is None
    for bad in (
        "chat 2130706433 0 no/token",
        "talk 2130706433 0 1",
        "chat x 0 1",
        "chat 1 70000 1",
    ):
        with pytest.raises(irc.IRCBadMessage):
            parse(bad)


class ChatRecorder(Recorder):
    def dccDoPassiveChat(self, *args: Any) -> None:
        self.offers.append(("PASSIVE CHAT", *args))


def test_passiveChatOffersAreIgnoredByDefault() -> None:
    plain, transport = connected("bob")
    plain.dataReceived(b":alice!a@h PRIVMSG bob :\x01DCC CHAT chat 2130706433 0 42\x01\r\n")
    assert transport.value() == b""
    bob, _ = connected("bob", ChatRecorder)
    bob.dataReceived(b":alice!a@h PRIVMSG bob :\x01DCC CHAT chat 2130706433 0 42\x01\r\n")
    assert bob.offers == [("PASSIVE CHAT", "alice!a@h", "bob", "42", "chat 2130706433 0 42")]


def test_passiveChatConnectsWhereThePeerAnswers() -> None:
    from glisten.internet.error import ConnectError
    from glisten.internet.testing import MemoryReactorClock
    from glisten.python.failure import Failure

    alice, aliceIRC = connected("alice")
    alice.reactor = reactor = MemoryReactorClock()
    alice.dccAddress = "127.0.0.1"
    chatting = alice.dccChat("bob", passive=True)
    line = aliceIRC.value().decode()
    aliceIRC.clear()
    prefix = "PRIVMSG bob :\x01DCC CHAT chat 2130706433 0 "
    assert line.startswith(prefix) and line.endswith("\x01\r\n"), line
    token = line[len(prefix) : -3]
    answer(alice, "eve!e@h", f"CHAT chat 2130706433 4000 {token}")
    answer(alice, "bob!b@h", f"CHAT chat 2130706433 4000 1{token}")
    answer(alice, "bob!b@h", f"SEND f.bin 2130706433 4000 10 {token}")  # not a file offer
    assert reactor.tcpClients == []
    assert [offer[0] for offer in alice.offers] == ["CHAT", "CHAT", "SEND"]
    answer(alice, "bob!b@h", f"CHAT chat 2130706433 4000 {token}")
    ((host, port, factory, timeout, _),) = reactor.tcpClients
    assert (host, port, timeout) == ("127.0.0.1", 4000, alice.dccTimeout)
    assert not reactor.getDelayedCalls()
    chat = factory.buildProtocol(None)
    chat.makeConnection(StringTransport())
    results: list[Any] = []
    chatting.addBoth(results.append)
    assert results == [chat]
    chat.dataReceived(b"hello\r\n")
    assert alice.messages[-1] == ("bob", "alice", "hello")

    failures: list[Any] = []
    alice.dccChat("bob", passive=True).addErrback(failures.append)
    reactor.advance(alice.dccTimeout)
    assert failures and failures[0].check(TimeoutError)
    alice.dccChat("bob", passive=True).addErrback(failures.append)
    token = aliceIRC.value().decode().rsplit(" ", 1)[1][:-3]
    answer(alice, "bob!b@h", f"CHAT chat 2130706433 4000 {token}")
    reactor.tcpClients[-1][2].clientConnectionFailed(None, Failure(ConnectError("refused")))
    assert len(failures) == 2 and failures[1].check(ConnectError)
    alice.dccChat("bob", passive=True).addErrback(failures.append)
    alice.connectionLost()
    assert len(failures) == 3 and failures[2].check(ConnectionLost)


async def test_passiveChatOverLoopback(reactor: Any) -> None:
    """alice cannot listen: she offers a chat passively, bob listens and she connects."""

    class Bob(Recorder):
        def dccDoPassiveChat(self, user: str, channel: str, token: str, data: str) -> None:
            self.chatting = self.dccAcceptPassiveChat(user, token)

    alice, aliceIRC, bob, bobIRC = loopbackPair(reactor, Bob)
    chatting = alice.dccChat("bob", passive=True)
    offerTo(aliceIRC, bob)
    alice.dataReceived(b":bob!b@127.0.0.1 " + bobIRC.value())
    aliceChat = await chatting
    bobChat = await bob.chatting
    bob.gotMessage = Deferred()
    aliceChat.sendLine("hello bob")
    assert await bob.gotMessage == "hello bob"
    alice.gotMessage = Deferred()
    bobChat.sendLine("hello alice")
    assert await alice.gotMessage == "hello alice"
    closed: Deferred[None] = Deferred()
    bobChat.connectionLost = lambda reason=None: closed.callback(None)  # type: ignore[method-assign]
    aliceChat.transport.loseConnection()
    await closed


def test_listenersCloseWithTheIRCConnection(tmp_path: Path) -> None:
    """Unlike Twisted, whose DCC listeners wait out ``dccTimeout``: when the IRC connection
    is lost, every offer still waiting for its peer stops listening and fails with
    ``ConnectionLost``; a transfer already connected carries on."""
    from glisten.internet.testing import MemoryReactorClock

    class Recording(MemoryReactorClock):
        def __init__(self) -> None:
            super().__init__()
            self.ports: list[Any] = []

        def listenTCP(self, port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
            # A free port, as the kernel would pick one for port 0.
            listening = super().listenTCP(
                port or 5000 + len(self.ports), factory, backlog, interface
            )
            self.ports.append(listening)
            return listening

    alice, _ = connected("alice")
    alice.reactor = reactor = Recording()
    alice.dccAddress = "127.0.0.1"
    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "b.bin").write_bytes(b"def")
    with open(tmp_path / "a.bin", "rb") as waiting:
        results: list[Any] = []
        alice.dccSend("bob", waiting).addBoth(results.append)
        alice.dccChat("bob").addBoth(results.append)
        alice.dccAcceptPassiveChat("carol!c@h", "42").addBoth(results.append)
        going: list[Any] = []
        alice.dccSend("dave", str(tmp_path / "b.bin")).addBoth(going.append)
        proto, transport = sendOverMemory(reactor.tcpServers[-1][1], acks=False)
        assert reactor.ports[-1].stopped and len(reactor.ports) == 4
        assert not any(port.stopped for port in reactor.ports[:3])
        alice.connectionLost()
        assert all(port.stopped for port in reactor.ports)
        assert len(results) == 3 and all(r.check(ConnectionLost) for r in results)
        assert waiting.closed
        assert not reactor.getDelayedCalls()
        assert going == [] and not transport.disconnecting
        proto.dataReceived(struct.pack("!I", 3))
        proto.connectionLost(None)
        assert going == [3]
