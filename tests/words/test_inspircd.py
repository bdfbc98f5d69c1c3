"""glisten's IRCClient against InspIRCd 3: registration, channels and messages; IRCv3
capability negotiation, SASL PLAIN and EXTERNAL (a TLS client certificate), server-time,
account-tag, echo-message, batch (labeled-response and chathistory) and labeled-response
reaching the callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.internet.endpoints import clientFromString, connectProtocol
from glisten.internet.protocol import ClientFactory
from glisten.words.protocols import irc

from ._inspircd import InspIRCd, certificateFingerprint
from .conftest import ReactorThread, waitUntil

pytestmark = pytest.mark.interop

IRCV3 = ("server-time", "message-tags", "account-tag", "batch", "cap-notify")


@pytest.fixture
def inspircd(tmp_path: Path) -> Iterator[InspIRCd]:
    server = InspIRCd(tmp_path)
    try:
        yield server
    finally:
        server.stop()


class Client(irc.IRCClient):
    heartbeatInterval = None

    def __init__(self, nickname: str, **attributes: Any) -> None:
        super().__init__()
        self.nickname = nickname
        self.events: list[tuple[Any, ...]] = []
        for name, value in attributes.items():
            setattr(self, name, value)

    def signedOn(self) -> None:
        self.events.append(("signedOn", self.nickname))

    def joined(self, channel: str) -> None:
        self.events.append(("joined", channel))

    def userJoined(self, user: str, channel: str) -> None:
        self.events.append(("userJoined", user, channel))

    def privmsg(self, user: str, channel: str, message: str) -> None:
        self.events.append(("privmsg", user.split("!")[0], channel, message))
        self.events.append(("privmsg-tags", message, dict(self.tags), self.serverTime()))
        if self.currentBatch is not None:
            self.events.append(("in-batch", message, self.currentBatch.batchType))

    def capabilitiesAcknowledged(self, capabilities: list[str]) -> None:
        self.events.append(("acknowledged", sorted(capabilities)))

    def saslSucceeded(self, account: str | None) -> None:
        self.events.append(("sasl-ok", account))

    def saslFailed(self, numeric: str) -> None:
        self.events.append(("sasl-failed", numeric))

    def batchReceived(self, batch: irc.Batch) -> None:
        self.events.append(("batch", batch.batchType, [m.command for m in batch.messages]))

    def labeledResponse(self, label: str, messages: list[irc.Message]) -> None:
        self.events.append(("labeled", label, messages))

    def irc_RPL_WHOISUSER(self, prefix: str, params: list[str]) -> None:
        batch = self.currentBatch
        self.events.append(("whois", params[1], batch.batchType if batch else None))


def connect(rt: ReactorThread, port: int, client: Client) -> Client:
    client.reactor = rt.reactor
    factory = ClientFactory()
    factory.protocol = lambda: client  # type: ignore[assignment]
    rt.call(rt.reactor.connectTCP, "127.0.0.1", port, factory)
    return client


def signedOn(client: Client) -> None:
    waitUntil(lambda: any(e[0] == "signedOn" for e in client.events), what="signed on")


def labeled(client: Client, label: str) -> list[irc.Message]:
    found = waitUntil(
        lambda: [e for e in client.events if e[:2] == ("labeled", label)], what=f"reply {label}"
    )
    return found[0][2]  # type: ignore[no-any-return]


def test_registrationChannelAndMessages(inspircd: InspIRCd, reactorThread: ReactorThread) -> None:
    rt = reactorThread
    alice = connect(rt, inspircd.port, Client("alice"))
    bob = connect(rt, inspircd.port, Client("bob", wantedCapabilities=()))
    signedOn(alice)
    signedOn(bob)
    assert ("acknowledged", sorted(IRCV3)) in alice.events
    assert alice.supported.getFeature("NETWORK") == "GlistenTest"
    assert alice.hostname == "irc.inspircd.test"
    assert bob.capabilities is None or not bob.capabilities.enabled

    for client in (alice, bob):
        rt.call(client.join, "#glisten")
        waitUntil(lambda c=client: ("joined", "#glisten") in c.events, what="joined")
    waitUntil(lambda: ("userJoined", "bob", "#glisten") in alice.events, what="alice saw bob")

    rt.call(bob.say, "#glisten", "hello from a plain client")
    waitUntil(
        lambda: ("privmsg", "bob", "#glisten", "hello from a plain client") in alice.events,
        what="bob's message",
    )
    # alice negotiated server-time: InspIRCd's timestamp reaches her callback.
    (_, _, tags, when) = next(e for e in alice.events if e[0] == "privmsg-tags")
    assert "time" in tags and when is not None
    rt.call(alice.msg, "bob", "hello back")
    waitUntil(lambda: ("privmsg", "alice", "bob", "hello back") in bob.events, what="reply")
    # bob asked for nothing: no tags reach him.
    assert next(e for e in bob.events if e[0] == "privmsg-tags")[2] == {}


def test_saslPlainTagsEchoBatchAndLabels(inspircd: InspIRCd, reactorThread: ReactorThread) -> None:
    rt = reactorThread
    inspircd.services.accounts["alice"] = "correct horse"
    wanted = (*IRCV3, "echo-message", "labeled-response")
    alice = connect(
        rt,
        inspircd.port,
        Client(
            "alice",
            saslMechanism="PLAIN",
            saslPassword="correct horse",
            wantedCapabilities=wanted,
        ),
    )
    signedOn(alice)
    assert ("sasl-ok", "alice") in alice.events
    assert alice.capabilityEnabled("echo-message") and alice.capabilityEnabled("labeled-response")

    # A wrong password: refused (904), and registration goes on without an account.
    mallory = connect(
        rt,
        inspircd.port,
        Client("mallory", saslMechanism="PLAIN", saslUsername="alice", saslPassword="guess"),
    )
    signedOn(mallory)
    assert ("sasl-failed", "904") in mallory.events
    assert inspircd.services.attempts == [("PLAIN", "alice"), ("PLAIN", None)]

    bob = connect(rt, inspircd.port, Client("bob", wantedCapabilities=wanted))
    signedOn(bob)
    for client in (alice, bob):
        rt.call(client.join, "#v3")
        waitUntil(lambda c=client: ("joined", "#v3") in c.events, what="joined #v3")

    # account-tag and server-time on bob's copy; echo-message gives alice her own line back,
    # as the reply to the label she sent it with.
    labels: list[str] = []
    rt.call(lambda: labels.append(alice.sendLabeled("PRIVMSG", ["#v3", "tagged hello"])))
    waitUntil(lambda: ("privmsg", "alice", "#v3", "tagged hello") in bob.events, what="msg")
    (_, _, tags, when) = next(
        e for e in bob.events if e[0] == "privmsg-tags" and e[1] == "tagged hello"
    )
    assert tags["account"] == "alice" and when is not None and "msgid" in tags
    waitUntil(lambda: labels, what="the message sent")
    (echo,) = labeled(alice, labels[0])
    assert (echo.command, echo.params) == ("PRIVMSG", ["#v3", "tagged hello"])
    assert ("privmsg", "alice", "#v3", "tagged hello") in alice.events
    assert echo.tags["msgid"] == tags["msgid"]

    # A labelled WHOIS: several replies, so InspIRCd wraps them in a labeled-response batch.
    rt.call(lambda: labels.append(bob.sendLabeled("WHOIS", ["alice"])))
    waitUntil(lambda: len(labels) == 2, what="the WHOIS sent")
    reply = labeled(bob, labels[1])
    commands = [m.command for m in reply]
    assert commands[0] == "311" and commands[-1] == "318"
    assert ("whois", "alice", "labeled-response") in bob.events
    assert ("batch", "labeled-response", commands) in bob.events
    assert any(m.command == "330" and m.params[2] == "alice" for m in reply)  # logged in as


def test_saslExternalWithClientCertificate(
    inspircd: InspIRCd, reactorThread: ReactorThread
) -> None:
    from .test_sasl_external import makeClientCertificate

    rt = reactorThread
    folder = inspircd.folder
    makeClientCertificate(folder, "carol")
    makeClientCertificate(folder, "stranger")
    fingerprint = certificateFingerprint((folder / "carol.pem").read_bytes())
    inspircd.services.certificates[fingerprint] = "carol"

    def overTLS(nick: str, certificate: str) -> Client:
        client = Client(nick, saslMechanism="EXTERNAL")
        client.reactor = rt.reactor
        endpoint = clientFromString(
            rt.reactor,
            f"tls:localhost:{inspircd.tlsPort}:trustRoots={inspircd.roots}"
            f":certificate={folder / certificate}.pem:privateKey={folder / certificate}.key",
        )
        rt.call(connectProtocol, endpoint, client)
        return client

    carol = overTLS("someone", "carol")
    signedOn(carol)
    assert ("sasl-ok", "carol") in carol.events
    stranger = overTLS("stranger", "stranger")
    signedOn(stranger)
    assert ("sasl-failed", "904") in stranger.events
    assert inspircd.services.attempts == [("EXTERNAL", "carol"), ("EXTERNAL", None)]


def test_chathistoryBatch(inspircd: InspIRCd, reactorThread: ReactorThread) -> None:
    """A channel with history (mode ``+H``) replays it to a joining client as a
    ``chathistory`` batch: each line reaches ``privmsg`` inside the batch, with its original
    time, and ``batchReceived`` gets them together."""
    rt = reactorThread
    alice = connect(
        rt, inspircd.port, Client("alice", wantedCapabilities=(*IRCV3, "labeled-response"))
    )
    signedOn(alice)
    rt.call(alice.join, "#history")
    waitUntil(lambda: ("joined", "#history") in alice.events, what="alice joined")
    rt.call(alice.mode, "#history", True, "H", None, None, "10:1d")
    for text in ("first", "second"):
        rt.call(alice.say, "#history", text)
    # A labelled PING answered means the server has handled everything sent before it.
    labels: list[str] = []
    rt.call(lambda: labels.append(alice.sendLabeled("PING", ["sync"])))
    waitUntil(lambda: labels, what="the PING sent")
    assert [m.command for m in labeled(alice, labels[0])] == ["PONG"]

    carol = connect(rt, inspircd.port, Client("carol"))
    signedOn(carol)
    rt.call(carol.join, "#history")
    waitUntil(
        lambda: any(e[0] == "batch" and e[1] == "chathistory" for e in carol.events),
        what="the history batch",
    )
    assert ("batch", "chathistory", ["PRIVMSG", "PRIVMSG"]) in carol.events
    assert [e[1:] for e in carol.events if e[0] == "in-batch"] == [
        ("first", "chathistory"),
        ("second", "chathistory"),
    ]
    assert ("privmsg", "alice", "#history", "second") in carol.events
    replayed = [e for e in carol.events if e[0] == "privmsg-tags"]
    assert all(e[3] is not None and "batch" in e[2] for e in replayed)
