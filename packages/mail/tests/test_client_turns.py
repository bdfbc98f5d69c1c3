"""One read from a server is worked through ``maxCommandsPerTurn`` at a time by the SMTP,
POP3 and IMAP4 clients, as the servers do with a client's pipeline (issue 29): a hostile
server's flood of replies pauses reading and waits for the reactor's next turn instead of
stalling the process's other connections. The fake clock runs every following turn in one
``advance(0)``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.cred import checkers, portal
from glisten.internet.error import ConnectionDone
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.mail import imap4, pop3client, smtp
from glisten.mail._imap._client import ClientConnection as IMAPClientCodec
from glisten.mail._pop3._client import ClientConnection as POP3ClientCodec
from glisten.python.failure import Failure

from .helpers import makeCertificate, makeReactor, runUntil
from .helpers import results as fired
from .test_imap4 import Realm as IMAPRealm

UNITS = 10_000


def turnsPending(clock: Clock) -> list[Any]:
    return [call for call in clock.getDelayedCalls() if "_takeTurn" in repr(call)]


# -- SMTP ---------------------------------------------------------------------------------

#: Messages a client sends: four replies each (MAIL, RCPT, DATA, the text's end).
MESSAGES = UNITS // 4
SMTP_ROUND = b"250 sender ok\r\n250 rcpt ok\r\n354 go\r\n250 taken\r\n"


class Sender(smtp.SMTPClient):
    """Sends ``count`` one-line messages and records what the server answered."""

    def __init__(self, count: int) -> None:
        super().__init__(b"client.example")
        self.count = count
        self.sent: list[int] = []
        self.errors: list[Exception] = []

    def getMailFrom(self) -> Any:
        return None if len(self.sent) == self.count else "a@b.example"

    def getMailTo(self) -> Any:
        return ["c@d.example"]

    def getMailData(self) -> Any:
        return io.BytesIO(b"Subject: %d\r\n\r\nhi\r\n" % len(self.sent))

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        self.sent.append(code)

    def sendError(self, exc: Exception) -> None:
        self.errors.append(exc)
        super().sendError(exc)


def smtpClient(count: int = MESSAGES) -> tuple[Sender, StringTransport, Clock]:
    client = Sender(count)
    clock = Clock()
    client.clock = clock
    transport = StringTransport()
    client.makeConnection(transport)
    return client, transport, clock


def test_smtpRepliesAreActedOnATurnAtATime() -> None:
    client, transport, clock = smtpClient()
    client.dataReceived(b"220 hi\r\n250 hello\r\n" + SMTP_ROUND * MESSAGES + b"221 bye\r\n")
    per = client.maxCommandsPerTurn
    # 64 replies: the greeting, HELO's answer and 62 of the messages' (15 whole messages).
    assert len(client.sent) == (per - 2) // 4
    assert transport.producerState == "paused"
    assert len(turnsPending(clock)) == 1
    clock.advance(0)
    assert client.sent == [250] * MESSAGES
    assert not client.errors
    written = transport.value()
    assert written.count(b"MAIL FROM:<a@b.example>\r\n") == MESSAGES
    # Each message's text went out in its turn, in order, and QUIT last.
    assert written.index(b"Subject: 0\r\n") < written.index(b"Subject: 1\r\n")
    assert written.endswith(b"QUIT\r\n")
    assert transport.disconnecting
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_smtpLostConnectionLeavesNoTurn() -> None:
    client, transport, clock = smtpClient()
    client.dataReceived(b"220 hi\r\n250 hello\r\n" + SMTP_ROUND * MESSAGES)
    assert turnsPending(clock)
    client.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    sent = len(client.sent)
    clock.advance(0)
    assert len(client.sent) == sent
    assert isinstance(client.errors[-1], smtp.SMTPConnectError)


def test_smtpTrickledRepliesGetAFreshBudget() -> None:
    """Replies that come a read at a time are each acted on at once: no turn is skipped."""
    client, transport, clock = smtpClient(count=200)
    client.dataReceived(b"220 hi\r\n250 hello\r\n")
    for _ in range(200):
        client.dataReceived(SMTP_ROUND)
    assert client.sent == [250] * 200
    assert not turnsPending(clock)


# -- POP3 ---------------------------------------------------------------------------------


def pop3Client() -> tuple[pop3client.POP3Client, StringTransport, Clock]:
    """A client that has read a greeting and a ``CAPA`` offering PIPELINING."""
    client = pop3client.POP3Client()
    clock = Clock()
    client.clock = clock
    transport = StringTransport()
    client.makeConnection(transport)
    client.dataReceived(b"+OK hello\r\n")
    caps = client.capabilities()
    client.dataReceived(b"+OK\r\nPIPELINING\r\n.\r\n")
    assert b"PIPELINING" in fired(caps)
    transport.clear()
    return client, transport, clock


def test_pop3AnswersAreReadATurnAtATime() -> None:
    client, transport, clock = pop3Client()
    done: list[bytes] = []
    for _ in range(UNITS):
        client.noop().addCallback(done.append)
    assert transport.value() == b"NOOP\r\n" * UNITS
    client.dataReceived(b"".join(b"+OK %d\r\n" % i for i in range(UNITS)))
    assert len(done) == client.maxCommandsPerTurn
    assert transport.producerState == "paused"
    clock.advance(0)
    assert done == [b"%d" % i for i in range(UNITS)]
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_pop3LongAnswerIsReadInSlices() -> None:
    """A multi-line answer of many empty lines costs a unit per 64 of them: a whole read
    of them is read over several turns."""
    client, transport, clock = pop3Client()
    d = client.retrieve(0)
    client.dataReceived(b"+OK\r\n" + b"\r\n" * UNITS + b".\r\n")
    assert not d.called
    assert turnsPending(clock)
    clock.advance(0)
    assert fired(d) == [b""] * UNITS
    assert not turnsPending(clock)


def test_pop3LostConnectionLeavesNoTurn() -> None:
    client, transport, clock = pop3Client()
    failed: list[Failure] = []
    for _ in range(UNITS):
        client.noop().addErrback(failed.append)
    client.dataReceived(b"+OK\r\n" * UNITS)
    client.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    assert len(failed) == UNITS - client.maxCommandsPerTurn


# -- IMAP4 --------------------------------------------------------------------------------


class Watcher(imap4.IMAP4Client):
    def __init__(self) -> None:
        super().__init__()
        self.counts: list[int | None] = []

    def newMessages(self, exists: int | None, recent: int | None) -> None:
        self.counts.append(exists)


def imapClient() -> tuple[Watcher, StringTransport, Clock]:
    client = Watcher()
    clock = Clock()
    client.clock = clock
    transport = StringTransport()
    client.makeConnection(transport)
    client.dataReceived(b"* OK [CAPABILITY IMAP4rev1] hi\r\n")
    transport.clear()
    return client, transport, clock


def test_imapUntaggedFloodIsReadATurnAtATime() -> None:
    client, transport, clock = imapClient()
    d = client.noop()
    [tag] = transport.value().split()[:1]
    flood = b"".join(b"* %d EXISTS\r\n" % i for i in range(UNITS))
    client.dataReceived(flood + tag + b" OK done\r\n")
    assert len(client.counts) == client.maxCommandsPerTurn
    assert transport.producerState == "paused"
    assert not d.called
    clock.advance(0)
    assert client.counts == list(range(UNITS))
    assert fired(d) == b"done"
    assert transport.producerState == "producing"
    assert not turnsPending(clock)


def test_imapLostConnectionLeavesNoTurn() -> None:
    client, transport, clock = imapClient()
    d = client.noop()
    client.dataReceived(b"* 1 EXISTS\r\n" * UNITS)
    assert turnsPending(clock)
    client.connectionLost(Failure(ConnectionDone()))
    assert not turnsPending(clock)
    failures: list[Failure] = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(ConnectionDone)
    clock.advance(0)
    assert len(client.counts) == client.maxCommandsPerTurn


def test_imapBadResponseAfterATurnStillFails() -> None:
    """A malformed response read on a later turn fails the client as it would at once."""
    client, transport, clock = imapClient()
    d = client.noop()
    client.dataReceived(b"* 1 EXISTS\r\n" * 100 + b"garbage\r\n")
    assert not transport.disconnecting
    clock.advance(0)
    failures: list[Failure] = []
    d.addErrback(failures.append)
    assert failures and failures[0].check(imap4.IllegalServerResponse)
    assert transport.disconnecting


# -- the codecs: a budget changes the pace, nothing else ------------------------------------

_IMAP_RESPONSES = [
    b"* 1 EXISTS\r\n",
    b"* 2 RECENT\r\n",
    b"* OK [UIDVALIDITY 5] x\r\n",
    b"* 3 FETCH (FLAGS (\\Seen))\r\n",
    b"* 4 FETCH (BODY[] {5}\r\nab\r\nc UID 9)\r\n",
    b"* 5 FETCH (BODY[1] {0}\r\n BODY[2] {2}\r\n\r\n)\r\n",
    b"+ go on\r\n",
    b"G0001 OK done\r\n",
    b"G0002 NO [ALERT] no\r\n",
]


def _imapEvents(data: bytes, budget: int | None, chunk: int) -> list[Any]:
    codec = IMAPClientCodec()
    events: list[Any] = []
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        codec.budget = budget
        events.extend(codec.receiveData(piece))
    while True:
        codec.budget = budget
        more = codec.receiveData(b"")
        if budget is not None:
            assert len(more) <= budget
        if not more and codec.budget != 0:
            return events
        events.extend(more)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(_IMAP_RESPONSES), max_size=40), st.integers(1, 8), st.integers(1, 60)
)
def test_imapCodecBudgetChangesNothingButPace(
    responses: list[bytes], budget: int, chunk: int
) -> None:
    """With a budget the IMAP client codec gives the same events in the same order, over
    more calls, never more than the budget per call; fed whole or in pieces."""
    data = b"* OK hi\r\n" + b"".join(responses)
    assert _imapEvents(data, budget, chunk) == _imapEvents(data, None, len(data))


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from([b"", b"x", b".dot", b"a" * 300]), max_size=60),
    st.integers(1, 4),
    st.integers(1, 200),
)
def test_pop3CodecBudgetChangesNothingButPace(lines: list[bytes], budget: int, chunk: int) -> None:
    """The POP3 client codec with a budget gives the same answers, over more calls."""

    def run(budget: int | None, chunk: int) -> list[Any]:
        codec = POP3ClientCodec()
        codec.send(b"RETR", b"1")
        codec.send(b"NOOP")
        text = b"".join(
            (b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines
        )
        data = b"+OK hi\r\n+OK\r\n" + text + b".\r\n+OK fine\r\n"
        events: list[Any] = []
        for i in range(0, len(data), chunk):
            codec.budget = budget
            events.extend(codec.receiveData(data[i : i + chunk]))
        for _ in range(len(data)):
            codec.budget = budget
            events.extend(codec.receiveData(b""))
        return events

    assert run(budget, chunk) == run(None, 1 << 20)


def test_imapClientStartsTLSAndReadsAFloodOverARealConnection(tmp_path: Path) -> None:
    """Over loopback: ``login`` goes through STARTTLS (what the codec drops after its ``OK``
    is nothing a real server sends), then the 10,000 untagged responses of one ``FETCH``
    reach the client whole and in order, paced on the real reactor, under TLS."""
    from glisten.internet import defer, protocol, ssl

    reactor = makeReactor()
    account = imap4.MemoryAccount()
    inbox = account.mailboxes["INBOX"]
    for _ in range(UNITS):
        inbox.addMessage(io.BytesIO(b"Subject: x\r\n\r\nx\r\n"), (b"\\Seen",))
    cert, key = makeCertificate(tmp_path)

    class Server(imap4.IMAP4Server):
        pass

    Server.portal = portal.Portal(
        IMAPRealm(account), [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")]
    )
    Server.clock = reactor
    Server.ctx = ssl.DefaultOpenSSLContextFactory(str(key), str(cert))
    trust = ssl.Certificate.loadPEM(cert.read_bytes())
    done: defer.Deferred[Any] = defer.Deferred()

    class Client(Watcher):
        def serverGreeting(self, caps: Any) -> None:
            context = ssl.optionsForClientTLS("localhost", trustRoot=trust)
            d = self.startTLS(context).addCallback(lambda _: self.login(b"bob", b"pw"))
            d.addCallback(lambda _: self.select("INBOX"))
            d.addCallback(lambda _: self.fetchFlags("1:*"))
            d.addCallback(lambda flags: (self, flags)).chainDeferred(done)

    Client.clock = reactor
    port = reactor.listenTCP(0, protocol.ServerFactory.forProtocol(Server), interface="127.0.0.1")
    reactor.connectTCP("127.0.0.1", port.getHost().port, protocol.ClientFactory.forProtocol(Client))
    try:
        client, flags = runUntil(reactor, done)
    finally:
        port.stopListening()
    assert client.startedTLS
    assert sorted(flags) == list(range(1, UNITS + 1))
    assert all(flags[n]["FLAGS"] == ["\\Seen"] for n in flags)
    client.transport.loseConnection()
