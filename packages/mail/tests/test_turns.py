"""One read of pipelined commands is parsed ``maxCommandsPerTurn`` at a time by the SMTP,
POP3 and IMAP4 servers: reading pauses and the rest waits for the reactor's next turn, so one
client cannot stall the others (issue 29). The fake clock runs every following turn in one
``advance(0)``; a real reactor runs one a turn, between its other connections' reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from glisten.cred import checkers, portal
from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.mail import _pop3 as _pop3_codec
from glisten.mail import _smtp as _smtp_codec
from glisten.mail import imap4, smtp
from glisten.mail._smtp._server import DATA_UNIT
from glisten.python.failure import Failure

from .helpers import RecordingDelivery, RecordingMessage, makeCertificate, makeReactor, runUntil
from .test_imap4 import Realm as IMAPRealm
from .test_pop3 import makeServer as makePOP3Server

COMMANDS = 10_000


def turnsPending(clock: Clock) -> list[Any]:
    return [call for call in clock.getDelayedCalls() if "_takeTurn" in repr(call)]


def smtpServer() -> tuple[smtp.ESMTP, StringTransport, Clock]:
    server = smtp.ESMTP()
    server.host = b"mx.example.com"
    server.delivery = RecordingDelivery()
    clock = Clock()
    server.clock = clock
    transport = StringTransport()
    server.makeConnection(transport)
    server.dataReceived(b"EHLO client\r\n")
    transport.clear()
    return server, transport, clock


def smtpCodes(data: bytes) -> list[int]:
    return [int(line[:3]) for line in data.split(b"\r\n") if line[3:4] == b" "]


#: A transaction the application answers (MAIL, RCPT through the delivery), then RSET.
SMTP_ROUND = b"MAIL FROM:<a@b.org>\r\nRCPT TO:<nobody@example.com>\r\nRSET\r\nNOOP\r\n"
SMTP_CODES = [250, 550, 250, 250]


def test_smtpPipelineIsAnsweredATurnAtATime() -> None:
    server, transport, clock = smtpServer()
    per = server.maxCommandsPerTurn
    server.dataReceived(SMTP_ROUND * (COMMANDS // 4))
    assert len(smtpCodes(transport.value())) == per
    assert transport.producerState == "paused"
    assert len(turnsPending(clock)) == 1
    clock.advance(0)
    assert smtpCodes(transport.value()) == SMTP_CODES * (COMMANDS // 4)
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_smtpLostConnectionLeavesNoTurn() -> None:
    server, transport, clock = smtpServer()
    server.dataReceived(SMTP_ROUND * (COMMANDS // 4))
    server.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    clock.advance(0)
    assert len(smtpCodes(transport.value())) == server.maxCommandsPerTurn


def test_smtpTrickledCommandsGetAFreshBudget() -> None:
    """Commands that come a few per read are never held back: each read is a new turn."""
    server, transport, clock = smtpServer()
    for _ in range(3 * server.maxCommandsPerTurn):
        server.dataReceived(b"NOOP\r\n")
    assert len(smtpCodes(transport.value())) == 3 * server.maxCommandsPerTurn
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_pop3PipelineIsAnsweredATurnAtATime() -> None:
    clock = Clock()
    server, transport, _ = makePOP3Server(clock)
    server.dataReceived(b"USER bob\r\nPASS secret\r\n")
    transport.clear()
    per = server.maxCommandsPerTurn
    # STAT's answer differs from NOOP's: the replies show the commands' order.
    server.dataReceived(b"NOOP\r\nSTAT\r\n" * (COMMANDS // 2))
    replies = transport.value().split(b"\r\n")[:-1]
    assert len(replies) == per
    assert transport.producerState == "paused"
    clock.advance(0)
    replies = transport.value().split(b"\r\n")[:-1]
    assert replies == [b"+OK", replies[1]] * (COMMANDS // 2)
    assert replies[1].startswith(b"+OK 2 ")
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_pop3LostConnectionLeavesNoTurn() -> None:
    clock = Clock()
    server, transport, _ = makePOP3Server(clock)
    server.dataReceived(b"CAPA\r\n" * COMMANDS)
    assert transport.producerState == "paused"
    server.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)


def imapServer() -> tuple[imap4.IMAP4Server, StringTransport, Clock]:
    server = imap4.IMAP4Server()
    server.portal = portal.Portal(
        IMAPRealm(imap4.MemoryAccount()),
        [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")],
    )
    server.authOverPlaintext = True
    clock = Clock()
    server.clock = clock
    transport = StringTransport()
    server.makeConnection(transport)
    server.dataReceived(b"l LOGIN bob pw\r\n")
    assert b"l OK " in transport.value()
    transport.clear()
    return server, transport, clock


def test_imapPipelineIsAnsweredATurnAtATime() -> None:
    server, transport, clock = imapServer()
    per = server.maxCommandsPerTurn
    server.dataReceived(b"".join(b"a%d NOOP\r\n" % i for i in range(COMMANDS)))
    assert transport.value().count(b" OK ") == per
    assert transport.producerState == "paused"
    clock.advance(0)
    tags = re.findall(rb"^a(\d+) OK ", transport.value(), re.M)
    assert [int(tag) for tag in tags] == list(range(COMMANDS))
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_imapLostConnectionLeavesNoTurn() -> None:
    server, transport, clock = imapServer()
    server.dataReceived(b"".join(b"a%d NOOP\r\n" % i for i in range(COMMANDS)))
    server.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)


_ALONE = [b"NOOP", b"RSET", b"HELO a.example", b"EHLO b.example", b"NOOP x", b"XYZZY", b""]
_BODY = st.lists(st.sampled_from([b"", b"x", b".", b"..", b".x", b"a" * 300]), max_size=30)


def _paced(data: bytes, budget: int | None, chunk: int) -> tuple[bytes, bytes]:
    """Run a session through the SMTP codec, answering what the application must, with
    ``budget`` per call (``None``: none); :return: the replies and the message text."""
    codec = _smtp_codec.ServerConnection(b"mx.example")
    out = b""
    text = b""

    def answer(events: list[Any]) -> None:
        nonlocal text
        for event in events:
            if isinstance(event, _smtp_codec.MailFrom):
                codec.acceptMail()
            elif isinstance(event, _smtp_codec.RcptTo):
                codec.acceptRecipient()
            elif isinstance(event, _smtp_codec.MessageData):
                text += event.data
            elif isinstance(event, _smtp_codec.MessageComplete):
                codec.acceptMessage()

    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""] * len(data)
    for piece in pieces:
        codec.budget = budget
        answer(codec.receiveData(piece))
        reply = codec.dataToSend()
        if budget is not None:
            assert len(smtpCodes(reply)) <= budget
        out += reply
    return out, text


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(_ALONE), min_size=1, max_size=30),
    _BODY,
    st.integers(1, 8),
    st.integers(1, 700),
)
def test_smtpCodecBudgetChangesNothingButPace(
    commands: list[bytes], body: list[bytes], budget: int, chunk: int
) -> None:
    """With a budget, the codec answers the same, in the same order, and passes on the same
    message text, only over more calls; fed whole or in pieces, it never answers more than
    the budget in one call."""
    data = b"".join(c + b"\r\n" for c in commands)
    data += b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
    data += b"".join(line + b"\r\n" for line in body) + b".\r\nNOOP\r\n"
    assert _paced(data, budget, chunk) == _paced(data, None, len(data))


def test_smtpMessageTextIsPacedToo() -> None:
    """A megabyte of one-character lines after DATA reaches the message a slice per budget
    unit, the rest on later turns, all of it in the end."""
    made: list[RecordingMessage] = []

    class Delivery(RecordingDelivery):
        def validateTo(self, user: smtp.User) -> Any:
            super().validateTo(user)

            def message() -> RecordingMessage:
                made.append(RecordingMessage(self.messages, user))
                return made[-1]

            return message

    server, transport, clock = smtpServer()
    server.delivery = Delivery()
    lines = 300_000  # under maxPipelined, which holds while MAIL and RCPT wait
    server.dataReceived(
        b"MAIL FROM:<a@b.org>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n"
        + b"x\r\n" * lines
        + b".\r\nNOOP\r\n"
    )
    (message,) = made
    assert 0 < len(message.lines) <= server.maxCommandsPerTurn * DATA_UNIT // 3
    assert transport.producerState == "paused"
    clock.advance(0)
    assert message.lines == [b"Received: from client by test"] + [b"x"] * lines
    assert smtpCodes(transport.value()) == [250, 250, 354, 250, 250]
    assert transport.producerState == "producing"


@pytest.mark.parametrize("tls", [False, True])
def test_imapPipelineOverARealConnection(tmp_path: Path, tls: bool) -> None:
    """Over loopback, in clear and under TLS (whose transport pauses and resumes around
    records it has already decrypted), every one of 10,000 pipelined commands of one write
    is answered, in order."""
    from glisten.internet import defer, protocol, ssl

    reactor = makeReactor()
    account = imap4.MemoryAccount()

    class Server(imap4.IMAP4Server):
        authOverPlaintext = True

    Server.portal = portal.Portal(
        IMAPRealm(account), [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")]
    )
    Server.clock = reactor
    factory = protocol.ServerFactory.forProtocol(Server)
    last = b"a%d OK" % (COMMANDS - 1)
    done: defer.Deferred[bytes] = defer.Deferred()

    class Client(protocol.Protocol):
        received = b""

        def connectionMade(self) -> None:
            pipeline = b"".join(b"a%d NOOP\r\n" % i for i in range(COMMANDS))
            self.transport.write(b"l LOGIN bob pw\r\n" + pipeline)

        def dataReceived(self, data: bytes) -> None:
            self.received += data
            if last in self.received[-len(data) - len(last) :] and not done.called:
                done.callback(self.received)
                self.transport.loseConnection()

    if tls:
        cert, key = makeCertificate(tmp_path)
        port = reactor.listenSSL(
            0,
            factory,
            ssl.DefaultOpenSSLContextFactory(str(key), str(cert)),
            interface="127.0.0.1",
        )
        trust = ssl.Certificate.loadPEM(cert.read_bytes())
        reactor.connectSSL(
            "127.0.0.1",
            port.getHost().port,
            protocol.ClientFactory.forProtocol(Client),
            ssl.optionsForClientTLS("localhost", trustRoot=trust),
        )
    else:
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        reactor.connectTCP(
            "127.0.0.1", port.getHost().port, protocol.ClientFactory.forProtocol(Client)
        )
    try:
        received = runUntil(reactor, done)
    finally:
        port.stopListening()
    tags = re.findall(rb"^a(\d+) OK ", received, re.M)
    assert [int(tag) for tag in tags] == list(range(COMMANDS))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([b"CAPA", b"USER bob", b"XYZZY", b"capa"]), max_size=40),
    st.integers(1, 8),
    st.integers(1, 50),
)
@example([b"XYZZY"] * 10, 1, 1)  # the tenth error's reply and the goodbye in one call
def test_pop3CodecBudgetChangesNothingButPace(
    commands: list[bytes], budget: int, chunk: int
) -> None:
    """The POP3 codec with a budget answers the same, in the same order, over more calls."""

    def run(budget: int | None, chunk: int) -> list[bytes]:
        codec = _pop3_codec.ServerConnection(plaintextLogin=True)
        data = b"".join(c + b"\r\n" for c in commands)
        replies: list[bytes] = []
        pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""] * len(data)
        for piece in pieces:
            codec.budget = budget
            events = codec.receiveData(piece)
            out = codec.dataToSend()
            if budget is not None:
                # Each command has one status line (CAPA's list follows its own), and a
                # session that ends says goodbye on a line of its own.
                lines = out.split(b"\r\n")
                farewell = any(isinstance(e, _pop3_codec.ConnectionClosing) for e in events)
                statuses = sum(line.startswith((b"+OK", b"-ERR")) for line in lines)
                assert statuses <= budget + farewell
            replies.append(out)
        return [b"".join(replies)]

    assert run(budget, chunk) == run(None, 1 << 20)
