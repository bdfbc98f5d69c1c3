"""The IMAP4 client: its sans-I/O codec (literals both ways, byte at a time, fuzzed) and
IMAP4Client against IMAP4Server in memory."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.cred import checkers, portal
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport, connectedServerAndClient
from glisten.mail import imap4
from glisten.mail._imap import Atom, IMAPParseError, Limits
from glisten.mail._imap._client import (
    ClientConnection,
    Continuation,
    Greeting,
    Literal,
    Tagged,
    Untagged,
)

from .helpers import results as fired


def test_commands_and_synchronising_literals() -> None:
    codec = ClientConnection()
    assert codec.receiveData(b"* OK [CAPABILITY IMAP4rev1] hi\r\n") == [
        Greeting(b"OK", b"CAPABILITY IMAP4rev1", b"hi")
    ]
    tag = codec.sendCommand(b"APPEND", b"INBOX", Atom(b"()"), Literal(b"abc"))
    codec.sendCommand(b"NOOP")
    assert codec.dataToSend() == tag + b" APPEND INBOX () {3}\r\n"
    # The rest (and the next command) waits for the server's "+".
    assert codec.receiveData(b"+ go\r\n") == []
    assert codec.dataToSend() == b"abc\r\nG0002 NOOP\r\n"
    assert codec.receiveData(b"G0001 OK [APPENDUID 1 2] done\r\n") == [
        Tagged(b"G0001", b"OK", b"APPENDUID 1 2", b"done")
    ]


def test_literal_refused_drops_the_rest() -> None:
    codec = ClientConnection()
    codec.receiveData(b"* OK hi\r\n")
    codec.sendCommand(b"APPEND", b"INBOX", Literal(b"x" * 10))
    codec.sendCommand(b"NOOP")
    codec.dataToSend()
    codec.receiveData(b"G0001 NO [TOOBIG] no\r\n")
    assert codec.dataToSend() == b"G0002 NOOP\r\n"


def test_literal_plus_needs_no_wait() -> None:
    codec = ClientConnection()
    codec.receiveData(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n")
    codec.sendCommand(b"LOGIN", b"a b", Literal(b"p\r\nw"))
    assert codec.dataToSend() == b'G0001 LOGIN "a b" {4+}\r\np\r\nw\r\n'


def test_clear_text_after_starttls_is_dropped() -> None:
    """What follows the ``OK`` to ``STARTTLS`` in the same clear-text read is dropped: a man
    in the middle could pose it as the server's answer over TLS."""
    codec = ClientConnection()
    codec.receiveData(b"* OK hi\r\n")
    tag = codec.sendCommand(b"STARTTLS")
    events = codec.receiveData(tag + b" OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n* 9")
    assert events == [Tagged(tag, b"OK", None, b"go")]
    codec.sendCommand(b"CAPABILITY")
    assert codec.receiveData(b"* CAPABILITY IMAP4rev1\r\n") == [
        Untagged(b"CAPABILITY", None, [b"IMAP4rev1"])
    ]


def test_refused_starttls_drops_nothing() -> None:
    codec = ClientConnection()
    codec.receiveData(b"* OK hi\r\n")
    tag = codec.sendCommand(b"STARTTLS")
    events = codec.receiveData(tag + b" BAD no\r\n* 3 EXI")
    assert events == [Tagged(tag, b"BAD", None, b"no")]
    assert codec.receiveData(b"STS\r\n") == [Untagged(b"EXISTS", 3, [])]


@pytest.mark.parametrize("byteAtATime", [False, True])
def test_untagged_responses(byteAtATime: bool) -> None:
    wire = (
        b"* OK ready\r\n* 3 EXISTS\r\n* 1 FETCH (FLAGS (\\Seen) BODY[HEADER] {5}\r\nab\r\n\r UID 7)\r\n"
        b'* LIST (\\HasNoChildren) "." "A B"\r\n* OK [UIDVALIDITY 5] x\r\n+ idling\r\nt OK done\r\n'
    )
    codec = ClientConnection()
    events: list[Any] = []
    chunks = [wire[i : i + 1] for i in range(len(wire))] if byteAtATime else [wire]
    for chunk in chunks:
        events.extend(codec.receiveData(chunk))
    assert events == [
        Greeting(b"OK", None, b"ready"),
        Untagged(b"EXISTS", 3, []),
        Untagged(
            b"FETCH", 1, [[b"FLAGS", [b"\\Seen"], b"BODY[HEADER]", b"ab\r\n\r", b"UID", b"7"]]
        ),
        Untagged(b"LIST", None, [[b"\\HasNoChildren"], b".", b"A B"]),
        Untagged(b"OK", None, [], b"UIDVALIDITY 5", b"x"),
        Continuation(b"idling"),
        Tagged(b"t", b"OK", None, b"done"),
    ]


def test_client_limits() -> None:
    codec = ClientConnection(Limits(maxLine=50, maxLiteral=10))
    with pytest.raises(IMAPParseError):
        codec.receiveData(b"* OK " + b"x" * 100)
    codec = ClientConnection(Limits(maxLiteral=10))
    codec.receiveData(b"* OK hi\r\n")
    with pytest.raises(IMAPParseError):
        codec.receiveData(b"* 1 FETCH (BODY[] {4294967296}\r\n")
    with pytest.raises(IMAPParseError):
        ClientConnection().receiveData(b"garbage\r\n")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 40))
def test_client_fuzz_only_parse_errors(data: bytes, step: int) -> None:
    codec = ClientConnection(Limits(maxLine=100, maxLiteral=50, maxDepth=6))
    try:
        for i in range(0, len(data), step):
            codec.receiveData(data[i : i + step])
    except IMAPParseError:
        pass


# -- IMAP4Client against IMAP4Server in memory -------------------------------------------


@implementer(portal.IRealm)
class Realm:
    def __init__(self) -> None:
        self.account = imap4.MemoryAccount("bob")

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        return imap4.IAccount, self.account, lambda: None


def results(d: Any) -> Any:
    result = fired(d)
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result


def inMemoryPair(account: Any = None) -> tuple[Any, Any, Any, Realm]:
    """An IMAP4Client (insecure login allowed) talking to an IMAP4Server in memory.

    :return: the client, the server, the pump and the realm.
    """
    realm = Realm()
    if account is not None:
        realm.account = account
    p = portal.Portal(realm, [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")])

    def makeServer() -> imap4.IMAP4Server:
        server = imap4.IMAP4Server()
        server.portal = p
        server.authOverPlaintext = True
        server.clock = Clock()
        return server

    def makeClient() -> imap4.IMAP4Client:
        client = imap4.IMAP4Client()
        client.allowInsecureLogin = True
        return client

    client, server, pump = connectedServerAndClient(makeServer, makeClient)
    return client, server, pump, realm


def test_client_against_server_in_memory() -> None:
    client, server, pump, realm = inMemoryPair()

    def run(d: Any) -> Any:
        pump.flush()
        return results(d)

    run(client.login(b"bob", b"pw"))
    run(client.append("INBOX", io.BytesIO(b"Subject: a\r\n\r\nbody\r\n"), ["\\Seen"]))
    info = run(client.select("INBOX"))
    assert info["EXISTS"] == 1 and info["READ-WRITE"]
    assert run(client.fetchFlags("1")) == {1: {"FLAGS": ["\\Seen"]}}
    assert run(client.fetchBody("1"))[1]["RFC822.TEXT"] == b"body\r\n"
    assert run(client.search("SEEN")) == [1]
    assert run(client.removeFlags(imap4.MessageSet(1), ["\\Seen"], silent=0)) == {1: {"FLAGS": []}}
    run(client.create("Other"))
    run(client.copy("1", "Other"))
    assert run(client.status("Other", "MESSAGES")) == {"MESSAGES": 1}
    started = client.idle()
    pump.flush()
    assert results(started) is None
    heard: list[Any] = []
    client.newMessages = lambda exists, recent: heard.append(exists)  # type: ignore[method-assign]
    realm.account.select("INBOX").addMessage(io.BytesIO(b"Subject: b\r\n\r\n"), [], None)
    pump.flush()
    assert heard == [2]
    run(client.idleDone())
    with pytest.raises(imap4.IMAP4ClientError):
        run(client.select("Missing"))
    run(client.logout())


def test_client_refuses_plaintext_login() -> None:
    client = imap4.IMAP4Client()
    transport = StringTransport()
    client.makeConnection(transport)
    client.dataReceived(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n")
    d = client.login(b"bob", b"pw")
    with pytest.raises(imap4.NoSupportedAuthentication):
        results(d)
    assert transport.value() == b""


@pytest.mark.parametrize(
    ("authenticator", "insecure"),
    [(imap4.CramMD5ClientAuthenticator, False), (imap4.PLAINAuthenticator, True)],
)
def test_authenticate_with_registered_mechanisms(authenticator: Any, insecure: bool) -> None:
    client, server, pump, _ = inMemoryPair()
    client.allowInsecureLogin = insecure
    client.registerAuthenticator(imap4.LOGINAuthenticator(b"bob"))  # the server lacks it
    client.registerAuthenticator(authenticator(b"bob"))
    d = client.authenticate(b"pw")
    pump.flush()
    assert b"Logged in" in bytes(results(d))
    d = client.select("INBOX")
    pump.flush()
    assert results(d)["READ-WRITE"]


def test_authenticate_failures() -> None:
    client, server, pump, _ = inMemoryPair()
    client.allowInsecureLogin = False
    # PLAIN would reveal the password without TLS: not used.
    client.registerAuthenticator(imap4.PLAINAuthenticator(b"bob"))
    d = client.authenticate(b"pw")
    pump.flush()
    with pytest.raises(imap4.NoSupportedAuthentication):
        results(d)
    client.registerAuthenticator(imap4.CramMD5ClientAuthenticator(b"bob"))
    d = client.authenticate(b"wrong")
    pump.flush()
    server.clock.advance(server.failedLoginDelay)  # a failed login is answered late
    pump.flush()
    with pytest.raises(imap4.IMAP4ClientError):
        results(d)
