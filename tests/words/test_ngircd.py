"""glisten's IRCClient against ngircd: registration (with CAP), channels, messages, CTCP,
long-message splitting, nick in use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glisten.internet.protocol import ClientFactory
from glisten.words.protocols import irc

from .conftest import (
    ReactorThread,
    freePort,
    makeCertificates,
    startNgircd,
    stopProcess,
    waitUntil,
)

pytestmark = pytest.mark.interop


class Recorder(irc.IRCClient):
    versionName = "glisten-interop"
    versionNum = "1"
    heartbeatInterval = None

    def __init__(self, nickname: str) -> None:
        super().__init__()
        self.nickname = nickname
        self.events: list[tuple[Any, ...]] = []

    def _record(self, *event: Any) -> None:
        self.events.append(event)

    def signedOn(self) -> None:
        self._record("signedOn", self.nickname)

    def joined(self, channel: str) -> None:
        self._record("joined", channel)

    def userJoined(self, user: str, channel: str) -> None:
        self._record("userJoined", user, channel)

    def privmsg(self, user: str, channel: str, message: str) -> None:
        self._record("privmsg", user.split("!")[0], channel, message)

    def action(self, user: str, channel: str, data: str) -> None:
        self._record("action", user.split("!")[0], channel, data)

    def ctcpReply_VERSION(self, user: str, channel: str, data: str | None) -> None:
        self._record("version", user.split("!")[0], data)

    def topicUpdated(self, user: str, channel: str, newTopic: str) -> None:
        self._record("topic", channel, newTopic)

    def receivedMOTD(self, motd: list[str]) -> None:
        self._record("motd", motd)

    def capabilitiesAvailable(self, capabilities: dict[str, str | None]) -> None:
        self._record("caps", sorted(capabilities))


def connect(rt: ReactorThread, port: int, nick: str, client: Recorder | None = None) -> Recorder:
    """Connect ``client`` (a new :class:`Recorder` by default) and wait until it signed on."""
    client = client if client is not None else Recorder(nick)
    client.reactor = rt.reactor
    factory = ClientFactory()
    factory.protocol = lambda: client  # type: ignore[assignment]
    rt.call(rt.reactor.connectTCP, "127.0.0.1", port, factory)
    waitUntil(lambda: ("signedOn", client.nickname) in client.events, what=f"{nick} signed on")
    return client


def has(client: Recorder, *event: Any) -> bool:
    return event in client.events


def test_twoClientsTalkThroughNgircd(ngircd: int, reactorThread: ReactorThread) -> None:
    rt = reactorThread
    alice = connect(rt, ngircd, "alice")
    bob = connect(rt, ngircd, "bob")
    assert any(e[0] == "motd" and "glisten interop" in e[1] for e in alice.events)
    assert alice.supported.getFeature("NICKLEN") == 30
    assert alice.hostname == "irc.ngircd.test"

    rt.call(alice.join, "#glisten")
    waitUntil(lambda: has(alice, "joined", "#glisten"), what="alice joined")
    rt.call(bob.join, "#glisten")
    waitUntil(lambda: has(bob, "joined", "#glisten"), what="bob joined")
    waitUntil(lambda: has(alice, "userJoined", "bob", "#glisten"), what="alice saw bob")

    rt.call(alice.say, "#glisten", "hello from glisten")
    waitUntil(lambda: has(bob, "privmsg", "alice", "#glisten", "hello from glisten"), what="msg")

    rt.call(bob.describe, "#glisten", "waves")
    waitUntil(lambda: has(alice, "action", "bob", "#glisten", "waves"), what="action")

    rt.call(alice.topic, "#glisten", "interop topic")
    waitUntil(lambda: has(bob, "topic", "#glisten", "interop topic"), what="topic")

    # CTCP VERSION: bob asks, alice's client answers by itself.
    rt.call(bob.ctcpMakeQuery, "alice", [("VERSION", None)])
    waitUntil(lambda: has(bob, "version", "alice", "glisten-interop:1:"), what="ctcp version")

    # A long message with multi-byte characters arrives split, whole, and each line valid.
    text = ("glisten é€😀 " * 200).strip()
    rt.call(alice.msg, "bob", text)

    def gotAll() -> bool:
        parts = [e[3] for e in bob.events if e[0] == "privmsg" and e[2] == "bob"]
        return " ".join(parts) == text

    waitUntil(gotAll, what="split message reassembled")
    parts = [e[3] for e in bob.events if e[0] == "privmsg" and e[2] == "bob"]
    assert len(parts) > 1


def test_nickInUse(ngircd: int, reactorThread: ReactorThread) -> None:
    rt = reactorThread
    connect(rt, ngircd, "carol")
    second = Recorder("carol")
    second.reactor = rt.reactor
    factory = ClientFactory()
    factory.protocol = lambda: second  # type: ignore[assignment]
    rt.call(rt.reactor.connectTCP, "127.0.0.1", ngircd, factory)
    waitUntil(lambda: ("signedOn", "carol_") in second.events, what="carol_ signed on")
    assert second.nickname == "carol_"


def test_tlsEndpointVerifiesTheServer(tmp_path: Path, reactorThread: ReactorThread) -> None:
    """``tls:`` endpoint strings give IRC over TLS with the certificate and name checked."""
    from glisten.internet.endpoints import clientFromString, connectProtocol

    rt = reactorThread
    roots = makeCertificates(tmp_path)
    sslPort = freePort()
    proc, _ = startNgircd(tmp_path, sslPort)
    try:
        trusted = Recorder("tlsuser")
        trusted.reactor = rt.reactor
        endpoint = clientFromString(rt.reactor, f"tls:localhost:{sslPort}:trustRoots={roots}")
        rt.call(connectProtocol, endpoint, trusted)
        waitUntil(lambda: ("signedOn", "tlsuser") in trusted.events, what="signed on over TLS")

        # Without the test CA among the trust roots, the handshake must fail.
        untrusted = Recorder("nobody")
        untrusted.reactor = rt.reactor
        lost: list[Any] = []
        untrusted.connectionLost = lambda reason=None: lost.append(reason)  # type: ignore[method-assign]
        endpoint = clientFromString(rt.reactor, f"tls:localhost:{sslPort}")
        rt.call(lambda: connectProtocol(endpoint, untrusted).addErrback(lost.append))
        waitUntil(lambda: lost, what="the unverified connection to fail")
        assert ("signedOn", "nobody") not in untrusted.events
    finally:
        stopProcess(proc)


class DccRecorder(Recorder):
    """Accepts every DCC SEND offer (passive ones too, resumed when part of the file is in
    ``folder``) into ``folder`` and every DCC CHAT offer (passive ones too)."""

    folder = "."

    def dccDoSend(
        self, user: str, address: str, port: int, fileName: str, size: int, data: str
    ) -> None:
        receiver = irc.DccFileReceive(fileName, size, destDir=self.folder)
        events = self.events
        lost = receiver.connectionLost

        def connectionLost(reason: Any = None) -> None:
            lost(reason)
            events.append(("received", receiver.filename, receiver.bytesReceived, receiver.error))

        receiver.connectionLost = connectionLost  # type: ignore[method-assign]
        factory = ClientFactory.forProtocol(lambda: receiver)  # type: ignore[arg-type]
        self.reactor.connectTCP(address, port, factory)

    def dccDoChat(self, user: str, channel: str, address: str, port: int, data: str) -> None:
        self.reactor.connectTCP(address, port, irc.DccChatFactory(self, (user, channel, data)))

    def dccDoPassiveChat(self, user: str, channel: str, token: str, data: str) -> None:
        self.dccAcceptPassiveChat(user, token)

    def dccDoPassiveSend(self, user: str, fileName: str, size: int, token: str, data: str) -> None:
        # The first part of the file already here: ask to resume after it.
        partial = Path(self.folder) / irc.safeFileName(fileName)
        offset = partial.stat().st_size if partial.exists() else 0
        receiver = irc.DccFileReceive(fileName, size, destDir=self.folder, resumeOffset=offset)
        done = self.dccAcceptPassiveSend(user, fileName, size, token, receiver)
        events = self.events
        done.addCallbacks(
            lambda r: events.append(("received passively", r.filename, r.bytesReceived)),
            lambda f: events.append(("passive failed", f.getErrorMessage())),
        )


def dccPair(rt: ReactorThread, port: int, folder: Path, nick: str) -> tuple[Recorder, DccRecorder]:
    """A sender and a :class:`DccRecorder` receiving into ``folder/in``, both signed on."""
    sender = connect(rt, port, nick)
    receiver = DccRecorder(nick + "peer")
    receiver.folder = str(folder / "in")
    (folder / "in").mkdir()
    connect(rt, port, receiver.nickname, receiver)
    return sender, receiver


def sendFile(rt: ReactorThread, sender: Recorder, to: str, path: Path, passive: bool) -> Any:
    """Send ``path`` with DCC and wait for the result of ``dccSend``."""
    results: list[Any] = []
    rt.call(lambda: sender.dccSend(to, str(path), passive=passive).addBoth(results.append))
    waitUntil(lambda: results, what=f"{path.name} to be sent")
    return results[0]


def chatOver(rt: ReactorThread, sender: Recorder, receiver: DccRecorder, passive: bool) -> None:
    """Open a DCC CHAT, check that a line reaches ``receiver``, close it."""
    chats: list[Any] = []
    rt.call(lambda: sender.dccChat(receiver.nickname, passive=passive).addBoth(chats.append))
    waitUntil(lambda: chats, what="the chat to connect")
    rt.call(chats[0].sendLine, "over DCC")
    waitUntil(
        lambda: any(e[0] == "privmsg" and e[3] == "over DCC" for e in receiver.events),
        what="the chat line",
    )
    rt.call(chats[0].transport.loseConnection)


def test_dccThroughNgircd(ngircd: int, reactorThread: ReactorThread, tmp_path: Path) -> None:
    """Offers travel as CTCP through ngircd; files and chat lines go over direct connections."""
    rt = reactorThread
    sender, receiver = dccPair(rt, ngircd, tmp_path, "sender")
    payload = bytes(range(256)) * 40
    (tmp_path / "notes.bin").write_bytes(payload)
    assert sendFile(rt, sender, receiver.nickname, tmp_path / "notes.bin", False) == len(payload)
    waitUntil(lambda: any(e[0] == "received" for e in receiver.events), what="the receiver done")
    assert ("received", "notes.bin", len(payload), None) in receiver.events
    assert (tmp_path / "in" / "notes.bin").read_bytes() == payload
    chatOver(rt, sender, receiver, passive=False)


def test_passiveDccThroughNgircd(ngircd: int, reactorThread: ReactorThread, tmp_path: Path) -> None:
    """A side that cannot listen offers files and chats passively: the peer listens and
    answers through ngircd, the offerer connects; a partly received file is resumed first."""
    rt = reactorThread
    sender, receiver = dccPair(rt, ngircd, tmp_path, "psender")
    payload = bytes(range(256)) * 50
    # Half of the second file is already there: the receiver asks to resume, the sender
    # accepts.
    (tmp_path / "in" / "half.bin").write_bytes(payload[:5000])
    for name in ("whole.bin", "half.bin"):
        (tmp_path / name).write_bytes(payload)
        assert sendFile(rt, sender, receiver.nickname, tmp_path / name, True) == len(payload)
        waitUntil(
            lambda name=name: any(e[:2] == ("received passively", name) for e in receiver.events),
            what=f"{name} received",
        )
        assert ("received passively", name, len(payload)) in receiver.events
        assert (tmp_path / "in" / name).read_bytes() == payload
    chatOver(rt, sender, receiver, passive=True)
