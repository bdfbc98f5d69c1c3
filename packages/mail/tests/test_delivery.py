"""Maildir delivery, aliases, the mail service's domains, no open relay, the durable queue
and the relay manager."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from zope.interface import implementer

from glisten.internet import defer
from glisten.internet.interfaces import IHostnameResolver
from glisten.internet.testing import StringTransport
from glisten.mail import alias, bounce, mail, maildir, protocols, relaymanager, smtp
from glisten.mail._queue import Envelope

from .helpers import RecordingDelivery, makeReactor, runUntil


def codes(data: bytes) -> list[int]:
    return [int(line[:3]) for line in data.split(b"\r\n") if line[3:4] == b" "]


def test_maildirNames() -> None:
    names = {maildir._generateMaildirName() for _ in range(1000)}
    assert len(names) == 1000
    assert all("/" not in n and ":" not in n for n in names)


def test_maildirMessage(tmp_path: Path) -> None:
    box = tmp_path / "box"
    maildir.initializeMaildir(str(box))
    assert {p.name for p in box.iterdir()} >= {"new", "cur", "tmp", ".Trash"}
    name = maildir._generateMaildirName()
    m = maildir.MaildirMessage("u", None, str(box / "tmp" / name), str(box / "new" / name))
    m.lineReceived(b"Subject: x")
    m.lineReceived(b"")
    assert list((box / "new").iterdir()) == []
    d = m.eomReceived()
    assert d.result == str(box / "new" / name).encode()
    assert (box / "new" / name).read_bytes() == b"Subject: x\n\n"
    assert list((box / "tmp").iterdir()) == []
    m2 = maildir.MaildirMessage("u", None, str(box / "tmp" / "x"), str(box / "new" / "x"))
    m2.lineReceived(b"gone")
    m2.connectionLost()
    assert list((box / "tmp").iterdir()) == []


def service(tmp_path: Path, queue: bool = False) -> mail.MailService:
    svc = mail.MailService()
    domain = maildir.MaildirDirdbmDomain(svc, str(tmp_path / "example.com"))
    domain.addUser("alice", "secret")
    svc.addDomain("example.com", domain)
    if queue:
        svc.setQueue(relaymanager.Queue(str(tmp_path / "queue")))
    return svc


def session(svc: mail.MailService, lines: bytes, peer: str = "192.0.2.7", **kw: Any) -> bytes:
    from glisten.internet.address import IPv4Address

    factory = protocols.ESMTPFactory(svc)
    for k, v in kw.items():
        setattr(factory, k, v)
    factory.domain = b"mx.example.com"
    p = factory.buildProtocol(None)
    t = StringTransport(peerAddress=IPv4Address("TCP", peer, 4000))
    p.makeConnection(t)
    p.dataReceived(lines)
    return bytes(t.value())


def test_localDeliveryToMaildir(tmp_path: Path) -> None:
    svc = service(tmp_path)
    out = session(
        svc,
        b"EHLO c\r\nMAIL FROM:<x@y.org>\r\nRCPT TO:<Alice@example.com>\r\n"
        b"RCPT TO:<bob@example.com>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n",
    )
    assert codes(out) == [220, 250, 250, 250, 550, 354, 250]
    [msg] = list((tmp_path / "example.com" / "alice" / "new").iterdir())
    text = msg.read_bytes()
    assert text.startswith(b"Received: from c ([192.0.2.7])") and text.endswith(b"body\n")


@pytest.mark.parametrize(
    "rcpt",
    [
        b"<victim@elsewhere.org>",
        b"<@example.com:victim@elsewhere.org>",
        b"<victim%elsewhere.org@example.com>",
        b'<"victim@elsewhere.org"@example.com>',
        b"<victim@[192.0.2.1]>",
        b"<victim@elsewhere.org@example.com>",
        b"<victim@ELSEWHERE.org>",
        b"<victim@example.com.elsewhere.org>",
        b"<elsewhere.org!victim@example.com>",
    ],
)
def test_noOpenRelay(tmp_path: Path, rcpt: bytes) -> None:
    svc = service(tmp_path, queue=True)
    out = session(svc, b"EHLO c\r\nMAIL FROM:<x@y.org>\r\nRCPT TO:" + rcpt + b"\r\nDATA\r\n")
    assert codes(out)[-2] in (501, 550) and codes(out)[-1] in (503, 554)
    assert len(svc.queue) == 0


def test_relayForTrustedNetworkAndAuthenticatedUsers(tmp_path: Path) -> None:
    import base64
    import ipaddress

    svc = service(tmp_path, queue=True)
    out = session(
        svc,
        b"EHLO c\r\nMAIL FROM:<x@y.org> RET=HDRS ENVID=q1\r\n"
        b"RCPT TO:<v@elsewhere.org> NOTIFY=NEVER\r\nDATA\r\nhi\r\n.\r\n",
        peer="127.0.0.1",
    )
    assert codes(out)[-1] == 250 and len(svc.queue) == 1
    env = svc.queue.getEnvelope(svc.queue.getWaiting()[0])
    assert (env.sender, env.recipients) == ("x@y.org", ["v@elsewhere.org"])
    assert (env.ret, env.envid, env.notify) == ("HDRS", "q1", ["NEVER"])
    svc.relayNetworks = [ipaddress.ip_network("192.0.2.0/24")]
    out = session(svc, b"EHLO c\r\nMAIL FROM:<x@y.org>\r\nRCPT TO:<v@elsewhere.org>\r\n")
    assert codes(out)[-1] == 250
    svc.relayNetworks = [ipaddress.ip_network("198.51.100.0/24")]
    auth = b"AUTH PLAIN " + base64.b64encode(b"\0alice@example.com\0secret") + b"\r\n"
    out = session(
        svc,
        b"EHLO c\r\n" + auth + b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<v@elsewhere.org>\r\n",
        authOverPlaintext=True,
    )
    assert codes(out)[-3:] == [235, 250, 250]
    bad = b"AUTH PLAIN " + base64.b64encode(b"\0alice\0wrong") + b"\r\n"
    out = session(
        svc,
        b"EHLO c\r\n" + bad + b"MAIL FROM:<a@b.c>\r\nRCPT TO:<v@elsewhere.org>\r\n",
        authOverPlaintext=True,
    )
    assert codes(out)[-3:] == [535, 250, 550]


def test_submissionRequiresAuth(tmp_path: Path) -> None:
    svc = service(tmp_path, queue=True)
    out = session(svc, b"EHLO c\r\nMAIL FROM:<a@b.c>\r\n", requireAuthentication=True)
    assert codes(out)[-1] == 530


def test_postmasterWithoutDomain(tmp_path: Path) -> None:
    svc = mail.MailService()
    domain = maildir.MaildirDirdbmDomain(svc, str(tmp_path / "d"), postmaster=True)
    svc.addDomain("example.com", domain)
    out = session(
        svc, b"EHLO c\r\nMAIL FROM:<x@y.org>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nhi\r\n.\r\n"
    )
    assert codes(out)[-1] == 250
    assert len(list((tmp_path / "d" / "postmaster" / "new").iterdir())) == 1


def test_aliases(tmp_path: Path) -> None:
    svc = service(tmp_path)
    target = tmp_path / "archive.mbox"
    aliases = tmp_path / "aliases"
    aliases.write_text(
        f"# comment\narchive: {target}\nteam: alice@example.com,\n  {target}\nbroken\n"
    )
    table = alias.loadAliasFile(svc.domains, str(aliases))
    assert set(table) == {"archive", "team"} and len(table["team"]) == 2
    svc.domains["example.com"].setAliasGroup(table)
    out = session(
        svc,
        b"EHLO c\r\nMAIL FROM:<x@y.org>\r\nRCPT TO:<team@example.com>\r\n"
        b"DATA\r\nFrom here\r\n.\r\n",
    )
    assert codes(out)[-1] == 250
    assert b"\n>From here\n" in target.read_bytes()
    assert len(list((tmp_path / "example.com" / "alice" / "new").iterdir())) == 1


def test_processAlias(tmp_path: Path) -> None:
    reactor = makeReactor()
    # grep -q exits 0 only if the message reached its standard input.
    a = alias.ProcessAlias("/bin/grep -q hello", {}, None, reactor=reactor)
    m = a.createMessageReceiver()
    m.lineReceived(b"hello")
    failing = alias.ProcessAlias("/bin/grep -q absent", {}, None, reactor=reactor)
    f = failing.createMessageReceiver()
    f.lineReceived(b"hello")
    results = defer.DeferredList([m.eomReceived(), f.eomReceived()], consumeErrors=True)
    (ok1, r1), (ok2, r2) = runUntil(reactor, results)
    assert ok1 and r1 == 0
    assert not ok2 and isinstance(r2.value, alias.ProcessAliasFailed)
    # No shell: metacharacters are plain arguments; the environment is empty but PATH.
    echo = alias.ProcessAlias("/bin/echo $HOME; rm -rf /", {}, None, reactor=reactor)
    assert echo.program == ["/bin/echo", "$HOME;", "rm", "-rf", "/"]


def test_processAliasRunsAsNobodyUnderRoot() -> None:
    if os.getuid() != 0:
        pytest.skip("only meaningful as root")
    reactor = makeReactor()
    a = alias.ProcessAlias("/bin/sh -c 'test $(id -u) = 65534'", {}, None, reactor=reactor)
    m = a.createMessageReceiver()
    assert runUntil(reactor, m.eomReceived()) == 0


# -- the queue ------------------------------------------------------------------------------


def test_queueIsDurableAndSweepsHalfWrites(tmp_path: Path) -> None:
    q = relaymanager.Queue(str(tmp_path))
    m = q.createNewMessage("a@b.org", ["x@example.net"], ret="HDRS")
    m.lineReceived(b"Subject: q")
    assert q.getWaiting() == []
    half = q.createNewMessage("a@b.org", ["y@example.net"])
    half.lineReceived(b"lost")
    name = m.eomReceived().result
    assert q.getWaiting() == [name]
    (tmp_path / "stray-D").write_bytes(b"x")
    again = relaymanager.Queue(str(tmp_path))
    assert again.getWaiting() == [name]
    env = again.getEnvelope(name)
    assert env.sender == "a@b.org" and env.recipients == ["x@example.net"] and env.ret == "HDRS"
    assert Path(again.getPath(name)).read_bytes() == b"Subject: q\r\n"
    assert sorted(os.listdir(tmp_path)) == sorted([name + "-D", name + "-H"])
    again.setRelaying(name)
    again.done(name)
    assert os.listdir(tmp_path) == []


def test_bounce() -> None:
    frm, to, text = bounce.generateBounce(
        b"Subject: orig\r\n\r\nbody\r\n",
        "a@b.org",
        ["x@example.net"],
        "550 no such user",
        ret="HDRS",
        envid="E1",
    )
    assert frm == "" and to == "a@b.org"
    import email

    msg = email.message_from_bytes(text)
    assert msg.get_content_type() == "multipart/report"
    parts = msg.get_payload()
    assert isinstance(parts, list) and parts[1].get_content_type() == "message/delivery-status"
    assert b"Final-Recipient: rfc822; x@example.net" in text and b"Original-Envelope-Id: E1" in text
    assert b"body" not in text.split(b"text/rfc822-headers")[1]


class FakeResolver:
    def __init__(self, mx: dict[str, list[tuple[int, str]]]) -> None:
        self.mx = mx

    def lookupMailExchange(self, name: str) -> defer.Deferred[Any]:
        from glisten.names import dns
        from glisten.names import error as dnserror

        if name not in self.mx:
            return defer.fail(dnserror.DNSNameError(name))
        answers = [
            dns.RRHeader(name, dns.MX, payload=dns.Record_MX(p, h)) for p, h in self.mx[name]
        ]
        return defer.succeed((answers, [], []))


def test_mxCalculator() -> None:
    calc = relaymanager.MXCalculator(
        FakeResolver(
            {
                "a.example": [(20, "mx2.a.example"), (10, "mx1.a.example")],
                "b.example": [],
                "null.example": [(0, ".")],
            }
        )
    )
    assert defer.ensureDeferred(calc.getMXAll("a.example")).result == [
        "mx1.a.example",
        "mx2.a.example",
    ]
    calc.markBad("mx1.a.example")
    assert defer.ensureDeferred(calc.getMXAll("a.example")).result[0] == "mx2.a.example"
    assert defer.ensureDeferred(calc.getMXAll("b.example")).result == ["b.example"]
    for name in ("null.example", "nx.example"):
        failures: list[Any] = []
        defer.ensureDeferred(calc.getMXAll(name)).addErrback(failures.append)
        assert failures
    assert defer.ensureDeferred(calc.getMXAll("[192.0.2.1]")).result == ["192.0.2.1"]


def _nextHop(reactor: Any, delivery: Any, interface: str = "127.0.0.1") -> Any:
    class Factory(smtp.SMTPFactory):
        def buildProtocol(self, addr: Any) -> Any:
            p = smtp.ESMTP()
            p.delivery = delivery
            p.host = b"nexthop"
            return p

    return reactor.listenTCP(0, Factory(), interface=interface)


def _relayAll(reactor: Any, queue: Any, port: Any, resolver: Any) -> None:
    """Relay everything in ``queue`` to exchangers on ``port``, then close ``port``."""
    manager = relaymanager.SmartHostSMTPRelayingManager(
        queue, reactor=reactor, resolver=resolver, port=port.getHost().port
    )
    try:
        manager.checkState()
        runUntil(reactor, manager.whenIdle())
    finally:
        port.stopListening()


def test_relayManagerDeliversAndBounces(tmp_path: Path) -> None:
    reactor = makeReactor()
    hop = RecordingDelivery(b"example.com", b"origin.org")
    port = _nextHop(reactor, hop)
    q = relaymanager.Queue(str(tmp_path))
    for rcpt in ("x@example.com", "nobody@example.com"):
        m = q.createNewMessage("sender@origin.org", [rcpt])
        m.lineReceived(b"Subject: relayed")
        m.eomReceived()
    mx = [(10, "127.0.0.1")]
    _relayAll(reactor, q, port, FakeResolver({"example.com": mx, "origin.org": mx}))
    assert q.getWaiting() == [] and os.listdir(tmp_path) == []
    assert b"Received: from " + smtp.DNSNAME + b" by test\nSubject: relayed" in hop.messages
    # The refused recipient bounced back to the sender, as a DSN from the null sender.
    [dsn] = [m for m in hop.messages if b"multipart/report" in m]
    assert b"Final-Recipient: rfc822; nobody@example.com" in dsn
    assert hop.recipients[-1] == "sender@origin.org"


@implementer(IHostnameResolver)
class _OnlyIPv6Resolver:
    """A name resolver that knows only an IPv6 address (an AAAA record) for every name."""

    def resolveHostName(
        self, receiver: Any, hostName: str, portNumber: int = 0, *args: Any, **kw: Any
    ) -> Any:
        from glisten.internet.address import IPv6Address

        receiver.resolutionBegan(None)
        receiver.addressResolved(IPv6Address("TCP", "::1", portNumber))
        receiver.resolutionComplete()
        return None


def test_relayManagerReachesAnExchangerOnlyOverIPv6(tmp_path: Path) -> None:
    """The exchanger's addresses come from a resolver that also gives AAAA records: an
    exchanger with only an IPv6 address gets the mail (RFC 5321 5.1)."""
    reactor = makeReactor()
    reactor.installNameResolver(_OnlyIPv6Resolver())
    hop = RecordingDelivery(b"example.com")
    port = _nextHop(reactor, hop, interface="::1")
    q = relaymanager.Queue(str(tmp_path))
    m = q.createNewMessage("sender@origin.org", ["x@example.com"])
    m.lineReceived(b"Subject: over IPv6")
    m.eomReceived()
    _relayAll(reactor, q, port, FakeResolver({"example.com": [(10, "mx6.example.com")]}))
    assert q.getWaiting() == [] and os.listdir(tmp_path) == []
    assert any(b"Subject: over IPv6" in message for message in hop.messages)


def test_relayManagerRetriesWithBackoffThenExpires(tmp_path: Path) -> None:
    reactor = makeReactor()
    q = relaymanager.Queue(str(tmp_path))
    m = q.createNewMessage("sender@origin.org", ["x@down.example"])
    m.lineReceived(b"hi")
    name = m.eomReceived().result
    # A port nothing listens on: connection refused, a temporary failure.
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q,
        reactor=reactor,
        smartHostAddr=("127.0.0.1", 1),
        retryBase=60,
    )
    manager.checkState()
    runUntil(reactor, manager.whenIdle())
    env = q.getEnvelope(name)
    assert env.attempts == 1 and q.getWaiting() == [name]
    import time

    assert 50 < env.nextAttempt - time.time() <= 60
    assert manager.retryDelay(2) == 120 and manager.retryDelay(30) == manager.retryMax
    manager.checkState()  # not due yet: nothing happens
    assert q.getRelayed() == []
    env.nextAttempt = 0
    env.created -= 10 * 86400
    manager._reactor = reactor = makeReactor()
    manager.checkState()
    runUntil(reactor, manager.whenIdle())
    [bounceId] = q.getWaiting()
    assert bounceId != name and q.getEnvelope(bounceId).recipients == ["sender@origin.org"]


def test_envelopeRoundTrip() -> None:
    env = Envelope("a", ["b@c"], 1.0, attempts=2, ret="FULL")
    assert Envelope.load(env.dump()) == env
    assert env.domain == "c"


def test_sendmailStringMessage() -> None:
    d = smtp.sendmail("127.0.0.1", "a@b.c", "x@y.z", "hi", reactor=_NoConnect())
    assert isinstance(d, defer.Deferred)


class _NoConnect:
    def connectTCP(self, host: str, port: int, factory: Any) -> Any:
        assert host == "127.0.0.1" and port == 25
        assert isinstance(factory.file, io.BytesIO)
        return None


def test_dsnHonoured(tmp_path: Path) -> None:
    """NOTIFY=NEVER suppresses the bounce; RET, ENVID and NOTIFY travel to the next hop."""
    reactor = makeReactor()
    hop = RecordingDelivery(b"example.com")
    seen: list[Any] = []
    original = hop.validateTo

    def validateTo(user: smtp.User) -> Any:
        seen.append((user.protocol.mailParams, user.params))
        return original(user)

    hop.validateTo = validateTo  # type: ignore[method-assign]
    port = _nextHop(reactor, hop)
    q = relaymanager.Queue(str(tmp_path))
    for rcpt, notify in (
        ("x@example.com", ["FAILURE", "SUCCESS"]),
        ("nobody@example.com", ["NEVER"]),
    ):
        m = q.createNewMessage("s@origin.org", [rcpt], ret="HDRS", envid="E+1", notify=notify)
        m.lineReceived(b"Subject: dsn")
        m.eomReceived()
    manager = relaymanager.SmartHostSMTPRelayingManager(
        q, reactor=reactor, smartHostAddr=("127.0.0.1", port.getHost().port)
    )
    try:
        manager.checkState()
        runUntil(reactor, manager.whenIdle())
    finally:
        port.stopListening()
    assert q.getWaiting() == []  # delivered one, refused the other without a bounce
    params = {str(p.notify and sorted(p.notify)): (m.ret, m.envid) for m, p in seen}
    assert params == {"['FAILURE', 'SUCCESS']": ("HDRS", b"E+1"), "['NEVER']": ("HDRS", b"E+1")}


def test_maildirMessageCommitsInThreadPool(tmp_path: Path) -> None:
    reactor = makeReactor()
    box = tmp_path / "box"
    maildir.initializeMaildir(str(box))
    name = maildir._generateMaildirName()
    m = maildir.MaildirMessage("u", None, str(box / "tmp" / name), str(box / "new" / name), reactor)
    m.lineReceived(b"threaded")
    d = m.eomReceived()
    assert not d.called  # the commit runs in the reactor's thread pool
    assert runUntil(reactor, d) == str(box / "new" / name).encode()
    assert (box / "new" / name).read_bytes() == b"threaded\n"
    reactor.getThreadPool().stop()


def test_queueCommitsInThreadPool(tmp_path: Path) -> None:
    reactor = makeReactor()
    q = relaymanager.Queue(str(tmp_path), reactor)
    m = q.createNewMessage("a@b.org", ["x@example.net"])
    m.lineReceived(b"threaded")
    d = m.eomReceived()
    assert not d.called and q.getWaiting() == []
    name = runUntil(reactor, d)
    assert q.getWaiting() == [name]
    assert Path(q.getPath(name)).read_bytes() == b"threaded\r\n"
    assert relaymanager.Queue(str(tmp_path)).getWaiting() == [name]
