"""A client that never reads, over real sockets: the server drops it once what it queued for
that client passes ``maxSendQueue``, and goes on serving the others."""

from __future__ import annotations

import socket
import time

from glisten.cred.portal import Portal
from glisten.words import service

from .conftest import ReactorThread, waitUntil


def test_nonReadingClientIsDisconnected(reactorThread: ReactorThread) -> None:
    rt = reactorThread
    realm = service.InMemoryWordsRealm("slow.test")
    realm.createGroupOnRequest = True
    factory = service.IRCFactory(
        realm, Portal(realm, [service.OpenRegistrationChecker()]), reactor=rt.reactor
    )
    factory.floodBurst = None
    factory.maxSendQueue = 256 * 1024
    ports: list[int] = []
    rt.call(
        lambda: ports.append(rt.reactor.listenTCP(0, factory, interface="127.0.0.1").getHost().port)
    )
    port = waitUntil(lambda: ports and ports[0], what="listening")

    def client(nick: str, rcvbuf: int | None = None) -> socket.socket:
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.connect(("127.0.0.1", port))
        s.sendall(b"NICK %s\r\nUSER %s 0 * :x\r\nJOIN #flood\r\n" % (nick.encode(), nick.encode()))
        return s

    sleeper = client("sleeper", rcvbuf=4096)
    talker = client("talker")
    talker.settimeout(5)
    waitUntil(lambda: len(realm.groups.get("flood", service.Group("x")).users) == 2, what="joined")
    line = b"PRIVMSG #flood :" + b"z" * 400 + b"\r\n"
    deadline = time.monotonic() + 60
    sleeperUser = realm.users["sleeper"]
    while sleeperUser.mind is not None and time.monotonic() < deadline:
        talker.sendall(line * 50)
        # Drain what the talker gets so that only the sleeper is slow.
        talker.setblocking(False)
        try:
            while talker.recv(65536):
                pass
        except BlockingIOError:
            pass
        talker.setblocking(True)
    assert sleeperUser.mind is None, "the non-reading client was never dropped"
    # The server still serves the talker.
    talker.settimeout(5)
    talker.sendall(b"PING :alive\r\n")
    seen = b""
    while b"PONG" not in seen:
        seen += talker.recv(65536)
    talker.close()
    sleeper.close()
