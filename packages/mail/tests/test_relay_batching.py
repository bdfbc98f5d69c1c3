"""The relay manager sends several queued messages per connection, and tells senders about
messages that are late (DSN ``NOTIFY=DELAY``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.defer import Deferred
from glisten.mail import bounce, relaymanager, smtp

from .helpers import RecordingDelivery, RecordingMessage, makeReactor, runUntil


class Hop:
    """A next hop that remembers which connection carried which message."""

    def __init__(
        self,
        reactor: Any,
        dropOnMessage: int | None = None,
        esmtp: bool = True,
        domains: tuple[bytes, ...] = (b"example.com",),
    ) -> None:
        self.connections = 0
        #: (connection number, recipients, text) per message taken.
        self.received: list[tuple[int, list[str], bytes]] = []
        self.dropOnMessage = dropOnMessage
        hop = self

        class Delivery(RecordingDelivery):
            def __init__(self, connection: int) -> None:
                super().__init__(*domains)
                self.connection = connection
                self.pending: list[str] = []

            def validateTo(self, user: smtp.User) -> Any:
                super().validateTo(user)
                self.pending.append(str(user.dest))
                return lambda: Message(self, user)

        class Message(RecordingMessage):
            def __init__(self, delivery: Delivery, user: Any) -> None:
                super().__init__([], user)
                self.delivery = delivery

            def eomReceived(self) -> Any:
                d = self.delivery
                if hop.dropOnMessage is not None and len(hop.received) == hop.dropOnMessage:
                    # The connection dies before the reply to this message's data.
                    hop.dropOnMessage = None
                    self.user.protocol.transport.abortConnection()
                    return Deferred()
                if d.pending:
                    hop.received.append((d.connection, d.pending, b"\n".join(self.lines)))
                    d.pending = []
                return super().eomReceived()

        class Factory(smtp.SMTPFactory):
            def buildProtocol(self, addr: Any) -> Any:
                hop.connections += 1
                p = smtp.ESMTP() if esmtp else smtp.SMTP()
                p.delivery = Delivery(hop.connections)
                p.host = b"nexthop"
                p.factory = self
                return p

        self.port = reactor.listenTCP(0, Factory(), interface="127.0.0.1")

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port.getHost().port)


def queueMessage(
    q: relaymanager.Queue, sender: str, recipients: list[str], subject: str, **params: Any
) -> str:
    m = q.createNewMessage(sender, recipients, **params)
    m.lineReceived(b"Subject: " + subject.encode())
    m.lineReceived(b"")
    m.lineReceived(b"body of " + subject.encode())
    return str(m.eomReceived().result)


async def relay(manager: relaymanager.SmartHostSMTPRelayingManager) -> None:
    manager.checkState()
    await manager.whenIdle()


def run(reactor: Any, scenario: Any) -> None:
    """Run the coroutine ``scenario`` in one run of ``reactor`` (which cannot restart)."""
    d = defer.ensureDeferred(scenario)
    if d.called:
        # Done without any I/O: no reactor run needed (nor stoppable).
        failures: list[Any] = []
        d.addErrback(failures.append)
        if failures:
            failures[0].raiseException()
        return
    runUntil(reactor, d)


def test_messagesForOneDomainShareConnections(tmp_path: Path) -> None:
    """Five due messages (one with two recipients) go out over three connections of at most
    two messages each; a refused sender in the middle of a batch does not stop the rest."""
    reactor = makeReactor()
    hop = Hop(reactor)
    q = relaymanager.Queue(str(tmp_path))
    queueMessage(q, "s@origin.org", ["a@example.com", "b@example.com"], "m0")
    for i in range(1, 5):
        sender = "bad@origin.org" if i == 2 else "s@origin.org"
        queueMessage(q, sender, [f"r{i}@example.com"], f"m{i}")
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, 1, 2, reactor=reactor, smartHostAddr=hop.address, delayWarning=None
    )

    async def scenario() -> None:
        while q.getWaiting():
            before = len(q)
            await relay(manager)
            # The refused sender's bounce goes back to origin.org through the same hop: it
            # is refused there too (not our domain) and dropped, being a bounce.
            assert len(q) < before

    try:
        run(reactor, scenario())
    finally:
        hop.port.stopListening()
    assert hop.connections == 4  # 2 + 2 + 1 messages, then the bounce alone
    perConnection = [(c, rcpts) for c, rcpts, _text in hop.received]
    assert perConnection == [
        (1, ["a@example.com", "b@example.com"]),
        (1, ["r1@example.com"]),
        # connection 2 carried m2 (refused sender) and m3
        (2, ["r3@example.com"]),
        (3, ["r4@example.com"]),
    ]
    assert len(q) == 0


def test_batchSizeOneIsOneMessagePerConnection(tmp_path: Path) -> None:
    reactor = makeReactor()
    hop = Hop(reactor)
    q = relaymanager.Queue(str(tmp_path))
    for i in range(3):
        queueMessage(q, "s@origin.org", [f"r{i}@example.com"], f"m{i}")
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, 3, 1, reactor=reactor, smartHostAddr=hop.address
    )
    try:
        run(reactor, relay(manager))
    finally:
        hop.port.stopListening()
    assert hop.connections == 3 and len(hop.received) == 3 and len(q) == 0


def test_unansweredMessagesOfABatchAreRetried(tmp_path: Path) -> None:
    """The connection drops while the second message waits for its reply: the first is done,
    the second and third are deferred (and go out again: at least once, never lost)."""
    reactor = makeReactor()
    hop = Hop(reactor, dropOnMessage=1)
    q = relaymanager.Queue(str(tmp_path))
    names = [queueMessage(q, "s@origin.org", [f"r{i}@example.com"], f"m{i}") for i in range(3)]
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, 1, 10, reactor=reactor, smartHostAddr=hop.address
    )

    async def scenario() -> None:
        await relay(manager)
        assert sorted(q.getWaiting()) == names[1:]
        for name in names[1:]:
            envelope = q.getEnvelope(name)
            assert envelope.attempts == 1 and "ConnectionLost" in envelope.lastError
            envelope.nextAttempt = 0
        await relay(manager)

    try:
        run(reactor, scenario())
    finally:
        hop.port.stopListening()
    assert len(q) == 0
    assert [rcpts for _c, rcpts, _t in hop.received] == [
        ["r0@example.com"],
        ["r1@example.com"],
        ["r2@example.com"],
    ]
    assert [c for c, _r, _t in hop.received] == [1, 2, 2]


def test_batchesGroupByDomain(tmp_path: Path) -> None:
    """Messages for two domains never share a connection."""
    reactor = makeReactor()
    hop = Hop(reactor)
    q = relaymanager.Queue(str(tmp_path))
    queueMessage(q, "s@origin.org", ["a@example.com"], "m0")
    queueMessage(q, "s@origin.org", ["x@other.example"], "m1")
    queueMessage(q, "s@origin.org", ["b@example.com"], "m2")
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, 5, 10, reactor=reactor, smartHostAddr=hop.address, delayWarning=None
    )
    try:
        run(reactor, relay(manager))
    finally:
        hop.port.stopListening()
    assert hop.connections >= 2
    byConnection: dict[int, list[str]] = {}
    for c, rcpts, _t in hop.received:
        byConnection.setdefault(c, []).extend(rcpts)
    assert ["a@example.com", "b@example.com"] in byConnection.values()


# -- delay notices (RFC 3461 NOTIFY=DELAY, RFC 3464 Action: delayed) ----------------------


def notices(q: relaymanager.Queue) -> list[bytes]:
    out = []
    for name in sorted(q.getWaiting()):
        if q.getEnvelope(name).sender == "":
            out.append(Path(q.getPath(name)).read_bytes())
    return out


def downManager(q: relaymanager.Queue, reactor: Any) -> relaymanager.SmartHostSMTPRelayingManager:
    # A port nothing listens on: every attempt is a temporary failure.
    return relaymanager.SmartHostSMTPRelayingManager(
        q, 10, 10, reactor=reactor, smartHostAddr=("127.0.0.1", 1), delayWarning=3600
    )


def age(q: relaymanager.Queue, seconds: float) -> None:
    for name in q.getWaiting():
        envelope = q.getEnvelope(name)
        envelope.created -= seconds
        envelope.nextAttempt = 0
        for r in envelope.delayNotified:
            envelope.delayNotified[r] -= seconds


@pytest.mark.parametrize(
    ("notify", "told"),
    [
        ([], True),
        (["DELAY"], True),
        (["DELAY", "FAILURE"], True),
        (["FAILURE"], False),
        (["FAILURE", "SUCCESS"], False),
        (["NEVER"], False),
    ],
)
def test_delayNoticeHonoursNotify(tmp_path: Path, notify: list[str], told: bool) -> None:
    reactor = makeReactor()
    q = relaymanager.Queue(str(tmp_path))
    queueMessage(q, "s@origin.org", ["x@down.example"], "late", notify=notify, envid="E7")
    manager = downManager(q, reactor)

    async def scenario() -> None:
        await relay(manager)
        assert notices(q) == []  # not late yet
        age(q, 3601)
        await relay(manager)

    run(reactor, scenario())
    found = notices(q)
    assert len(found) == (1 if told else 0)
    if told:
        [text] = found
        assert b"Subject: Delayed Mail (still being retried)" in text
        assert b"Action: delayed" in text and b"Action: failed" not in text
        assert b"Final-Recipient: rfc822; x@down.example" in text
        assert b"Original-Envelope-Id: E7" in text
        assert b"Will-Retry-Until: " in text and b"Status: 4.0.0" in text
        # A delay notice quotes only the header (RFC 3461 4.3).
        assert b"text/rfc822-headers" in text and b"body of late" not in text


def test_delayNoticeOncePerPeriodAndDurable(tmp_path: Path) -> None:
    reactor = makeReactor()
    q = relaymanager.Queue(str(tmp_path))
    original = queueMessage(q, "s@origin.org", ["x@down.example", "y@down.example"], "late")

    async def scenario() -> None:
        manager = downManager(q, reactor)
        age(q, 3601)
        await relay(manager)
        assert len(notices(q)) == 1
        told = q.getEnvelope(original).delayNotified
        assert set(told) == {"x@down.example", "y@down.example"}
        # More failed attempts within the period: no second notice, also after a restart.
        for _ in range(3):
            age(q, 60)
            await relay(manager)
        restarted = relaymanager.Queue(str(tmp_path))
        assert restarted.getEnvelope(original).delayNotified == told
        manager = downManager(restarted, reactor)
        age(restarted, 60)
        await relay(manager)
        assert len(notices(restarted)) == 1
        # A period later the sender hears again.
        age(restarted, 3600)
        await relay(manager)
        assert len(notices(restarted)) == 2

    run(reactor, scenario())


def test_noDelayNoticeWhenDisabledOrForBounces(tmp_path: Path) -> None:
    reactor = makeReactor()
    q = relaymanager.Queue(str(tmp_path / "1"))
    queueMessage(q, "", ["x@down.example"], "a bounce")
    q2 = relaymanager.Queue(str(tmp_path / "2"))
    queueMessage(q2, "s@origin.org", ["x@down.example"], "late")

    async def scenario() -> None:
        age(q, 7200)
        await relay(downManager(q, reactor))
        manager = downManager(q2, reactor)
        manager.delayWarning = None
        age(q2, 7200)
        await relay(manager)

    run(reactor, scenario())
    assert notices(q) == [Path(q.getPath(q.getWaiting()[0])).read_bytes()]  # just itself
    assert notices(q2) == []


def test_generateDelayNotice() -> None:
    until = time.time() + 86400
    _f, to, text = bounce.generateBounce(
        b"Subject: s\r\n\r\nsecret body\r\n",
        "s@origin.org",
        ["x@a.example"],
        "451 try later",
        ret="FULL",
        status="4.0.0",
        action="delayed",
        retryUntil=until,
    )
    assert to == "s@origin.org"
    assert b"Action: delayed" in text and b"secret body" not in text
    with pytest.raises(ValueError):
        bounce.generateBounce(b"", "s@o.org", "x@a.example", action="bogus")


# -- one queue entry per domain and transaction --------------------------------------------


def test_recipientsOfOneDomainShareAQueueEntry(tmp_path: Path) -> None:
    """A transaction for two recipients in one domain, one in another and one in the first
    domain with other DSN parameters is queued as three entries; the next transaction on the
    same connection starts new ones."""
    from .test_delivery import codes, service, session

    svc = service(tmp_path, queue=True)
    out = session(
        svc,
        b"EHLO c\r\nMAIL FROM:<s@origin.org>\r\n"
        b"RCPT TO:<a@far.example>\r\nRCPT TO:<b@FAR.example>\r\nRCPT TO:<c@other.example>\r\n"
        b"RCPT TO:<d@far.example> NOTIFY=NEVER\r\nRCPT TO:<e@far.example>\r\n"
        b"DATA\r\nSubject: shared\r\n\r\nonce\r\n.\r\n"
        b"MAIL FROM:<s@origin.org>\r\nRCPT TO:<f@far.example>\r\nDATA\r\nnext\r\n.\r\n",
        peer="127.0.0.1",
    )
    assert all(c < 400 for c in codes(out)) and codes(out).count(354) == 2
    q = svc.queue
    entries = sorted(
        (q.getEnvelope(n).recipients, q.getEnvelope(n).notify, Path(q.getPath(n)).read_bytes())
        for n in q.getWaiting()
    )
    assert [(r, n) for r, n, _t in entries] == [
        (["a@far.example", "b@FAR.example", "e@far.example"], []),
        (["c@other.example"], []),
        (["d@far.example"], ["NEVER"]),
        (["f@far.example"], []),
    ]
    assert entries[0][2].endswith(b"Subject: shared\r\n\r\nonce\r\n")
    assert entries[0][2].count(b"once") == 1 and entries[3][2].endswith(b"next\r\n")


def test_sharedEntryFailsForEveryRecipient(tmp_path: Path) -> None:
    """When the shared entry cannot be written, every recipient's answer says so."""
    from glisten.mail import relay

    from .test_smtp import FailingMessage

    class Broken(FailingMessage):
        envelope = relaymanager.Envelope("s@o.org", ["a@x.example"], 0.0)

    shared = relay._Shared(Broken(), Broken.envelope)
    shared.add("b@x.example")
    other = relay._SharedRecipient(shared)
    errors: list[Any] = []
    shared.eomReceived().addErrback(errors.append)
    other.eomReceived().addErrback(errors.append)
    late = relay._SharedRecipient(shared)
    late.eomReceived().addErrback(errors.append)
    assert [e.check(OSError) for e in errors] == [OSError] * 3
    assert Broken.envelope.recipients == ["a@x.example", "b@x.example"]


def test_delayNoticeWhileWaitingForTheNextAttempt(tmp_path: Path) -> None:
    """With back-off the next attempt may be hours away: the notice does not wait for it."""
    reactor = makeReactor()
    q = relaymanager.Queue(str(tmp_path))
    name = queueMessage(q, "s@origin.org", ["x@down.example"], "late")
    manager = downManager(q, reactor)
    run(reactor, relay(manager))
    envelope = q.getEnvelope(name)
    assert envelope.attempts == 1 and envelope.nextAttempt > time.time() + 30
    envelope.created -= 3601
    manager.checkState()
    assert envelope.attempts == 1 and q.getRelayed() == []
    [text] = notices(q)
    assert b"Action: delayed" in text
    assert relaymanager.Queue(str(tmp_path)).getEnvelope(name).delayNotified
    manager.checkState()  # (which starts sending the notice itself)
    assert [q.getEnvelope(n).sender for n in q.getWaiting() + q.getRelayed()] == [
        "s@origin.org",
        "",
    ]


def test_unreadableMessageDoesNotStopItsBatch(tmp_path: Path) -> None:
    reactor = makeReactor()
    hop = Hop(reactor)
    q = relaymanager.Queue(str(tmp_path))
    names = [queueMessage(q, "s@origin.org", [f"r{i}@example.com"], f"m{i}") for i in range(3)]
    Path(q.getPath(names[1])).rename(tmp_path / "elsewhere")
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, 1, 10, reactor=reactor, smartHostAddr=hop.address
    )
    try:
        run(reactor, relay(manager))
    finally:
        hop.port.stopListening()
    assert [rcpts for _c, rcpts, _t in hop.received] == [["r0@example.com"], ["r2@example.com"]]
    assert hop.connections == 1
    assert q.getWaiting() == [names[1]]
    assert "cannot read" in q.getEnvelope(names[1]).lastError


def test_sendThatCannotStartIsATemporaryFailure(tmp_path: Path) -> None:
    reactor = makeReactor()
    q = relaymanager.Queue(str(tmp_path))
    name = queueMessage(q, "s@origin.org", ["r@example.com"], "m")
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, reactor=reactor, smartHostAddr=("127.0.0.1", 1)
    )

    def broken(*args: Any) -> Any:
        raise ValueError("no such thing")

    manager._send = broken  # type: ignore[method-assign]
    run(reactor, relay(manager))
    envelope = q.getEnvelope(name)
    assert q.getWaiting() == [name] and envelope.attempts == 1
    assert "ValueError: no such thing" in envelope.lastError


def test_aCrashBacksOff(tmp_path: Path) -> None:
    """A bug in settling a batch defers its messages like a failed attempt (no tight loop)."""
    reactor = makeReactor()
    hop = Hop(reactor)
    q = relaymanager.Queue(str(tmp_path))
    name = queueMessage(q, "s@origin.org", ["r@example.com"], "m")
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, reactor=reactor, smartHostAddr=hop.address
    )

    def broken(*args: Any) -> None:
        raise RuntimeError("bug")

    manager._settleOutcome = broken  # type: ignore[method-assign]
    try:
        run(reactor, relay(manager))
    finally:
        hop.port.stopListening()
    envelope = q.getEnvelope(name)
    assert q.getWaiting() == [name] and envelope.attempts == 1
    assert envelope.nextAttempt > time.time() + 30 and hop.connections == 1


@pytest.mark.parametrize(
    ("notify", "esmtp", "told"),
    [
        (["SUCCESS"], False, True),
        (["FAILURE", "SUCCESS"], False, True),
        (["SUCCESS"], True, False),  # the next hop has DSN: NOTIFY travels on instead
        (["FAILURE"], False, False),
        ([], False, False),
    ],
)
def test_relayedNotice(tmp_path: Path, notify: list[str], esmtp: bool, told: bool) -> None:
    """NOTIFY=SUCCESS, and the next hop knows no DSN: the sender hears it was relayed."""
    reactor = makeReactor()
    hop = Hop(reactor, esmtp=esmtp, domains=(b"example.com", b"origin.org"))
    q = relaymanager.Queue(str(tmp_path))
    queueMessage(q, "s@origin.org", ["r@example.com", "nobody@example.com"], "m", notify=notify)
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, reactor=reactor, smartHostAddr=hop.address
    )
    manager.checkState()
    try:
        runUntil(reactor, manager.whenIdle())
    finally:
        hop.port.stopListening()
    # Notices go back to the sender through the same hop: "relayed" for r@, and the bounce
    # for nobody@ unless NOTIFY leaves out FAILURE.
    bounced = not notify or "FAILURE" in notify
    assert [rcpts for _c, rcpts, _t in hop.received] == [["r@example.com"]] + [["s@origin.org"]] * (
        told + bounced
    )
    relayed = [t for _c, _r, t in hop.received if b"Action: relayed" in t]
    assert len(relayed) == (1 if told else 0) and len(q) == 0
    if told:
        [text] = relayed
        assert b"Final-Recipient: rfc822; r@example.com" in text
        assert b"nobody@example.com" not in text.split(b"text/rfc822-headers")[0]
        assert b"Status: 2.0.0" in text and b"body of m" not in text


def test_oneSessionPerBatch() -> None:
    """A second connection for the same batch (two addresses of an exchanger that both
    connected in one turn of a happy-eyeballs race) gets no session: it would send the
    batch again, and its end would answer for the session that does the work."""
    from glisten.mail._relayclient import BatchSenderFactory, Outgoing

    factory = BatchSenderFactory(
        [Outgoing("id1", "s@origin.org", ["x@example.com"], "/nonexistent", {})], None, b"me"
    )
    first = factory.buildProtocol(None)
    assert first is not None
    assert factory.buildProtocol(None) is None
    assert not factory.deferred.called
