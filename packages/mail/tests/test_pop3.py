"""POP3 server and client adapters, maildir mailboxes, the mail service's POP3 factory and
``glisten mail --pop3``."""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from zope.interface import implementer
from zope.interface.verify import verifyObject

from glisten.cred import checkers, portal
from glisten.internet.task import Clock
from glisten.internet.testing import MemoryReactor, StringTransport, connectedServerAndClient
from glisten.mail import mail, maildir, pop3, pop3client, protocols
from glisten.mail.tap import mailPlugin

from .helpers import results

MESSAGES = [b"Subject: one\r\n\r\nfirst\r\n.dotted\r\n", b"Subject: two\n\nsecond\n"]


@implementer(portal.IRealm)
class Realm:
    def __init__(self, messages: list[bytes]) -> None:
        self.boxes: list[maildir.StringListMailbox] = []
        self.messages = messages
        self.loggedOut = 0

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        assert pop3.IMailbox in interfaces
        box = maildir.StringListMailbox(self.messages)
        self.boxes.append(box)
        return pop3.IMailbox, box, self._logout

    def _logout(self) -> None:
        self.loggedOut += 1


def makeServer(
    clock: Clock | None = None, plaintext: bool = True, secure: bool = False
) -> tuple[pop3.POP3, StringTransport, Realm]:
    realm = Realm(MESSAGES)
    server = pop3.POP3()
    server.portal = portal.Portal(
        realm, [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"secret")]
    )
    server.authOverPlaintext = plaintext
    server.clock = clock or Clock()
    transport = StringTransport()
    server.makeConnection(transport)
    return server, transport, realm


def test_interfaces() -> None:
    assert verifyObject(pop3.IMailbox, maildir.StringListMailbox([]))
    assert verifyObject(pop3.IMailbox, pop3.Mailbox())


def test_session_over_a_string_transport() -> None:
    server, transport, realm = makeServer()
    greeting = transport.value()
    assert greeting.startswith(b"+OK ") and server.magic is not None
    assert server.magic in greeting
    transport.clear()
    server.dataReceived(b"USER bob\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL 2\r\nRETR 1\r\n")
    out = transport.value()
    uid = hashlib.sha1(MESSAGES[1]).hexdigest().encode()
    assert out == (
        b"+OK Password required\r\n+OK Logged in\r\n+OK 2 %d\r\n" % sum(map(len, MESSAGES))
        + b"+OK 2 messages\r\n1 %d\r\n2 %d\r\n.\r\n" % tuple(map(len, MESSAGES))
        + b"+OK 2 "
        + uid
        + b"\r\n"
        + b"+OK\r\nSubject: one\r\n\r\nfirst\r\n..dotted\r\n.\r\n"
    )
    transport.clear()
    server.dataReceived(
        b"TOP 2 0\r\nDELE 1\r\nRETR 1\r\nLIST 1\r\nSTAT\r\nRSET\r\nDELE 2\r\nRETR 9\r\n"
    )
    assert transport.value() == (
        b"+OK\r\nSubject: two\r\n\r\n.\r\n+OK message 1 deleted\r\n-ERR Bad message number argument\r\n"
        b"-ERR Bad message number argument\r\n+OK 1 %d\r\n+OK\r\n+OK message 2 deleted\r\n"
        b"-ERR Bad message number argument\r\n" % len(MESSAGES[1])
    )
    transport.clear()
    server.dataReceived(b"QUIT\r\n")
    assert transport.value() == b"+OK Bye\r\n" and transport.disconnecting
    server.connectionLost(None)
    assert realm.loggedOut == 1 and realm.boxes[0].deleted == set()


def test_failed_login_is_delayed_and_limited() -> None:
    clock = Clock()
    server, transport, _ = makeServer(clock)
    transport.clear()
    server.dataReceived(b"USER bob\r\nPASS wrong\r\nUSER bob\r\n")
    assert transport.value() == b"+OK Password required\r\n"
    clock.advance(server.failedLoginDelay)
    assert transport.value().endswith(
        b"-ERR [AUTH] Authentication failed\r\n+OK Password required\r\n"
    )
    server.dataReceived(b"PASS x\r\n")
    clock.advance(1)
    server.dataReceived(b"USER bob\r\nPASS y\r\n")
    clock.advance(1)
    assert transport.value().endswith(b"-ERR Too many failed logins\r\n")
    assert transport.disconnecting


def test_plaintext_refused_by_default() -> None:
    server, transport, _ = makeServer(plaintext=False)
    transport.clear()
    server.dataReceived(b"USER bob\r\n")
    assert transport.value().startswith(b"-ERR [AUTH] Plaintext")


def test_apop_login() -> None:
    server, transport, realm = makeServer(plaintext=False)
    assert server.magic is not None
    digest = hashlib.md5(server.magic + b"secret").hexdigest().encode()
    transport.clear()
    server.dataReceived(b"APOP bob " + digest + b"\r\nSTAT\r\n")
    assert transport.value().startswith(b"+OK Logged in\r\n+OK 2 ")


def test_timeout() -> None:
    clock = Clock()
    server, transport, _ = makeServer(clock)
    clock.advance(301)
    assert transport.value().endswith(b"-ERR Timeout, closing connection\r\n")
    assert transport.disconnecting


class Client(pop3client.POP3Client):
    allowInsecureLogin = True

    def __init__(self) -> None:
        super().__init__()
        self.greetings: list[bytes] = []

    def serverGreeting(self, greeting: bytes) -> None:
        self.greetings.append(greeting)


def connected() -> Any:
    realm = Realm(MESSAGES)
    p = portal.Portal(realm, [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"secret")])

    def makeServer() -> pop3.POP3:
        server = pop3.POP3()
        server.portal = p
        server.authOverPlaintext = True
        server.clock = Clock()
        return server

    return connectedServerAndClient(makeServer, Client)


def test_client_against_server_in_memory() -> None:
    client, server, pump = connected()
    assert client.greetings and client.serverChallenge == server.magic
    login = client.login(b"bob", b"secret")
    pump.flush()
    assert results(login) == b"Logged in"
    caps = results(client.capabilities())
    assert b"PIPELINING" in caps and caps[b"SASL"] == [b"PLAIN", b"CRAM-MD5"]
    stat, sizes, uids, message, top = (
        client.stat(),
        client.listSize(),
        client.listUID(),
        client.retrieve(0),
        client.retrieve(1, lines=0),
    )
    pump.flush()
    assert results(stat) == (2, sum(map(len, MESSAGES)))
    assert results(sizes) == [len(m) for m in MESSAGES]
    assert results(uids) == [hashlib.sha1(m).hexdigest().encode() for m in MESSAGES]
    assert results(message) == [b"Subject: one", b"", b"first", b".dotted"]
    assert results(top) == [b"Subject: two", b""]
    seen: list[Any] = []
    consumer = client.listSize(seen.append)
    deleted = client.delete(0)
    again = client.retrieve(0)
    pump.flush()
    assert results(consumer) == seen.append and seen == [
        (0, len(MESSAGES[0])),
        (1, len(MESSAGES[1])),
    ]
    assert results(deleted) == b"message 1 deleted"
    failure = results(again)
    assert failure.check(pop3client.ServerErrorResponse)
    listing = client.listSize()
    quit = client.quit()
    pump.flush()
    assert results(listing) == [None, len(MESSAGES[1])]
    assert results(quit) == b"Bye"


def test_client_refuses_plaintext_without_tls() -> None:
    client, server, pump = connected()
    client.serverChallenge = None
    client.allowInsecureLogin = False
    d = client.login(b"bob", b"secret")
    pump.flush()
    assert results(d).check(pop3client.InsecureAuthenticationDisallowed)


def test_client_pipelines_only_when_offered() -> None:
    client = Client()
    transport = StringTransport()
    client.makeConnection(transport)
    client.dataReceived(b"+OK hi\r\n")
    client.noop()
    client.noop()
    assert transport.value() == b"NOOP\r\n"
    client.dataReceived(b"+OK\r\n")
    assert transport.value() == b"NOOP\r\nNOOP\r\n"
    client.dataReceived(b"+OK\r\n")
    client.capabilities()
    client.dataReceived(b"+OK\r\nPIPELINING\r\n.\r\n")
    transport.clear()
    client.noop()
    client.stat()
    assert transport.value() == b"NOOP\r\nSTAT\r\n"


def test_client_line_too_long_fails_pending() -> None:
    client = Client()
    transport = StringTransport()
    client.makeConnection(transport)
    d = client.noop()
    client.dataReceived(b"+OK " + b"x" * 10000)
    assert results(d).check(pop3client.LineTooLong)
    assert transport.disconnecting


# -- maildir ---------------------------------------------------------------------------


def deliver(folder: Path, body: bytes, name: str) -> Path:
    path = folder / "new" / name
    path.write_bytes(body)
    os.utime(path, ns=(len(list((folder / "new").iterdir())) * 10**9,) * 2)
    return path


def test_maildir_mailbox(tmp_path: Path) -> None:
    folder = tmp_path / "box"
    maildir.initializeMaildir(str(folder))
    deliver(folder, b"Subject: a\n\nA\n", "1.a.host")
    second = deliver(folder, b"Subject: b\n\nB\n", "2.b.host")
    box = maildir.MaildirMailbox(str(folder))
    assert verifyObject(pop3.IMailbox, box)
    assert box.listMessages() == [14, 14]
    assert box.getUidl(1) == b"2.b.host"
    # Another reader moved the message to cur and flagged it: still found, same uid.
    os.rename(second, folder / "cur" / "2.b.host:2,S")
    with box.getMessage(1) as f:
        assert f.read() == b"Subject: b\n\nB\n"
    box.deleteMessage(0)
    assert box.listMessages() == [0, 14] and box.listMessages(0) == 0
    box.undeleteMessages()
    box.deleteMessage(0)
    box.deleteMessage(1)
    (folder / "new" / "1.a.host").unlink()  # gone already: fine
    box.sync()
    assert list((folder / "cur").iterdir()) == [] and list((folder / "new").iterdir()) == []
    with pytest.raises(ValueError):
        box.getMessage(5)


def test_pop3_over_the_mail_service(tmp_path: Path) -> None:
    service = mail.MailService()
    domain = maildir.MaildirDirdbmDomain(service, str(tmp_path / "ex"))
    domain.addUser("alice", "pw")
    service.addDomain("example.com", domain)
    deliver(tmp_path / "ex" / "alice", b"Subject: hi\n\nhello\n", "1.x.host")
    factory = protocols.POP3Factory(service)
    factory.authOverPlaintext = True

    def makeServer() -> Any:
        server = factory.buildProtocol(None)
        server.failedLoginDelay = 0
        return server

    client, server, pump = connectedServerAndClient(makeServer, Client)
    # scrypt hashes cannot check APOP: not offered.
    assert server.magic is None and client.serverChallenge is None
    caps = client.capabilities()
    pump.flush()
    capabilities = results(caps)
    assert capabilities[b"IMPLEMENTATION"] == [b"glisten"]
    assert capabilities[b"SASL"] == [b"PLAIN"]
    bad = client.login(b"alice@example.org", b"pw")
    pump.flush()
    assert results(bad).check(pop3client.ServerErrorResponse)
    good = client.login(b"alice@example.com", b"pw")
    message = client.retrieve(0)
    pump.flush()
    assert results(good) == b"Logged in"
    assert results(message) == [b"Subject: hi", b"", b"hello"]
    # A bare user name is tried against each domain.
    client2, _, pump2 = connectedServerAndClient(makeServer, Client)
    d = client2.login(b"ALICE", b"pw")
    pump2.flush()
    assert results(d) == b"Logged in"


def test_tap_pop3(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    mailPlugin.addArguments(parser)
    options = parser.parse_args(
        ["-d", f"example.com={tmp_path / 'ex'}", "-u", "a=b", "--pop3", "tcp:1110", "--no-smtp"]
    )
    reactor = MemoryReactor()
    svc: Any = mailPlugin.makeService(options, reactor)
    svc.startService()
    [(port, factory, _, _)] = reactor.tcpServers
    assert port == 1110 and isinstance(factory, protocols.POP3Factory)
    assert not factory.authOverPlaintext and factory.contextFactory is None
    svc.stopService()
