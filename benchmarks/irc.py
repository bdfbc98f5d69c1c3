"""IRC speed, glisten against Twisted's words: server fan-out and client parsing.

- ``server fan-out to 500``: one client sends PRIVMSGs to a channel of 500 clients; the rate is
  messages per second, each delivered to the other 499 (the server formats and writes it per
  recipient). Connections are in-process protocols on counting transports, so the figure is
  the server's own work (parsing, dispatch, fan-out, serialising), without socket costs.
- ``client parse``: an ``IRCClient`` parses 1,000 server lines (PRIVMSG, JOIN, NOTICE, numerics)
  delivered in 4 KiB chunks and dispatches them to its callbacks; the rate is lines per second.
"""

from __future__ import annotations

import time
from typing import Any

from _harness import Case, main

CLIENTS = 500


class _Transport:
    """Counts what is written; enough of ITransport for both frameworks' IRC servers."""

    disconnecting = False
    disconnected = False

    def __init__(self, address: Any) -> None:
        self.written = 0
        self._address = address

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def writeSequence(self, seq: Any) -> None:
        for data in seq:
            self.written += len(data)

    def getPeer(self) -> Any:
        return self._address

    def getHost(self) -> Any:
        return self._address

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        pass

    def unregisterProducer(self) -> None:
        pass

    def loseConnection(self) -> None:
        self.disconnecting = True

    def abortConnection(self) -> None:
        self.disconnecting = True


def _glistenServer() -> tuple[list[Any], list[_Transport]]:
    from glisten.cred.portal import Portal
    from glisten.internet.address import IPv4Address
    from glisten.internet.task import Clock
    from glisten.words import service

    realm = service.InMemoryWordsRealm("bench")
    realm.createGroupOnRequest = True
    portal = Portal(realm, [service.OpenRegistrationChecker()])
    factory = service.IRCFactory(realm, portal, reactor=Clock())
    factory.floodBurst = None
    factory.maxSendQueue = 1 << 40
    address = IPv4Address("TCP", "127.0.0.1", 6667)
    protos, transports = [], []
    for i in range(CLIENTS):
        proto = factory.buildProtocol(address)
        transport = _Transport(address)
        proto.makeConnection(transport)
        proto.dataReceived(b"NICK u%d\r\nUSER u 0 * :u\r\nJOIN #room\r\n" % i)
        protos.append(proto)
        transports.append(transport)
    return protos, transports


def _twistedServer() -> tuple[list[Any], list[_Transport]]:
    from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
    from twisted.cred.portal import Portal
    from twisted.internet.address import IPv4Address
    from twisted.words import service

    realm = service.InMemoryWordsRealm("bench")
    realm.createGroupOnRequest = True
    checker = InMemoryUsernamePasswordDatabaseDontUse()
    for i in range(CLIENTS):
        checker.addUser("u%d" % i, "pw")
    portal = Portal(realm, [checker])
    factory = service.IRCFactory(realm, portal)
    address = IPv4Address("TCP", "127.0.0.1", 6667)
    protos, transports = [], []
    for i in range(CLIENTS):
        proto = factory.buildProtocol(address)
        transport = _Transport(address)
        proto.makeConnection(transport)
        proto.dataReceived(b"PASS pw\r\nNICK u%d\r\nUSER u 0 * :u\r\nJOIN #room\r\n" % i)
        protos.append(proto)
        transports.append(transport)
    return protos, transports


def serverFanOut(impl: str, n: int) -> float:
    protos, transports = _glistenServer() if impl == "glisten" else _twistedServer()
    sender = protos[0]
    line = b"PRIVMSG #room :hello everyone, this is a message of ordinary length\r\n"
    before = transports[1].written
    sender.dataReceived(line)
    per = transports[1].written - before
    assert per > 0, "fan-out did not reach the others"
    count = 200
    best = 0.0
    for _ in range(3):
        start = time.process_time()
        for _ in range(count):
            sender.dataReceived(line)
        elapsed = time.process_time() - start
        best = max(best, count / elapsed)
    assert transports[CLIENTS - 1].written >= per * (1 + 3 * count)
    return best


def _serverLines() -> bytes:
    lines = []
    for i in range(1000):
        kind = i % 5
        if kind == 0:
            lines.append(b":nick%d!user@host.example.org JOIN #channel" % i)
        elif kind == 1:
            lines.append(b":irc.example.org 332 me #channel :Welcome to the channel topic %d" % i)
        elif kind == 2:
            lines.append(b":nick%d!user@host.example.org NOTICE me :notice number %d" % (i, i))
        else:
            lines.append(
                b":nick%d!user@host.example.org PRIVMSG #channel :message %d with some words in it"
                % (i, i)
            )
    return b"".join(line + b"\r\n" for line in lines)


def clientParse(impl: str, n: int) -> None:
    if impl == "glisten":
        from glisten.words.protocols import irc
    else:
        from twisted.words.protocols import irc  # type: ignore[no-redef]
    data = _serverLines()
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    count = [0]

    class Client(irc.IRCClient):  # type: ignore[misc, name-defined]
        nickname = "me"
        performLogin = 0

        def privmsg(self, user: str, channel: str, message: str) -> None:
            count[0] += 1

        def noticed(self, user: str, channel: str, message: str) -> None:
            count[0] += 1

        def userJoined(self, user: str, channel: str) -> None:
            count[0] += 1

        def topicUpdated(self, user: str, channel: str, newTopic: str) -> None:
            count[0] += 1

    for _ in range(n):
        client = Client()
        client.makeConnection(_Transport(None))
        for chunk in chunks:
            client.dataReceived(chunk)
    assert count[0] == 1000 * n, count[0]


def clientParseLines(impl: str, n: int) -> None:
    clientParse(impl, n)


CASES = [
    Case("server fan-out to 500", serverFanOut, selfTimed=True, unit=" msg/s"),
    Case("client parse 1000 lines", clientParse, unit=" runs/s"),
]

if __name__ == "__main__":
    main(CASES)
