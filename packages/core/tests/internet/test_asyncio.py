"""
The asyncio reactor sharing a loop with asyncio code (and uvloop's loop when installed).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
from typing import Any

import pytest

from glisten.internet import error
from glisten.internet.asyncioreactor import AsyncioSelectorReactor
from glisten.internet.defer import Deferred
from glisten.internet.protocol import Factory
from glisten.python.failure import Failure

from .test_tcp import ClientCatcher, Echo, Recorder

LOOPS = ["asyncio"] + (["uvloop"] if importlib.util.find_spec("uvloop") else [])


def _newLoop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        import uvloop  # type: ignore[import-not-found]

        return uvloop.new_event_loop()  # type: ignore[no-any-return]
    return asyncio.new_event_loop()


@pytest.mark.parametrize("kind", LOOPS)
def test_sharesLoopWithAsyncio(kind: str, runUntil: Any) -> None:
    loop = _newLoop(kind)
    r = AsyncioSelectorReactor(loop)
    port = r.listenTCP(0, Factory.forProtocol(Echo), interface="127.0.0.1")

    async def asyncioClient() -> bytes:
        # Plain asyncio streams talking to a glisten server on the same loop.
        reader, writer = await asyncio.open_connection("127.0.0.1", port.getHost().port)
        writer.write(b"from asyncio")
        data = await reader.readexactly(12)
        writer.close()
        await writer.wait_closed()
        return data

    async def go() -> Any:
        client = Recorder()
        r.connectTCP("127.0.0.1", port.getHost().port, ClientCatcher(client))
        await client.made
        client.transport.write(b"glisten")
        mine = await client.waitFor(7)
        theirs = await Deferred.fromFuture(asyncio.ensure_future(asyncioClient(), loop=loop))
        return mine, theirs

    assert runUntil(r, Deferred.fromCoroutine(go())) == (b"glisten", b"from asyncio")
    # A loop passed in belongs to the caller: it stays open.
    assert not loop.is_closed()
    loop.close()


def test_ownLoopClosedOnStop() -> None:
    r = AsyncioSelectorReactor()
    loop = r._asyncioEventloop
    r.callWhenRunning(r.stop)
    r.run(installSignalHandlers=False)
    assert loop.is_closed()


def test_timersOrderedAfterEarlierInsert(runUntil: Any) -> None:
    r = AsyncioSelectorReactor()
    out: list[int] = []
    d: Deferred[None] = Deferred()
    later = r.callLater(0.05, out.append, 2)
    sooner: list[Any] = []
    r.callWhenRunning(lambda: sooner.append(r.callLater(0.01, out.append, 1)))
    r.callLater(0.06, d.callback, None)
    runUntil(r, d)
    # The timer is re-armed for a call earlier than the one it was armed for.
    expected = [1, 2] if sooner[0].getTime() < later.getTime() else [2, 1]
    assert out == expected


class _Watched:
    """
    A bare selectable on one end of a socket pair, recording what the reactor calls on it.
    """

    def __init__(self, name: str, sock: socket.socket, log: list[Any]) -> None:
        self.name = name
        self.sock = sock
        self.log = log

    def fileno(self) -> int:
        return self.sock.fileno()

    def logPrefix(self) -> str:
        return self.name

    def doRead(self) -> object:
        self.log.append((self.name, "read", self.sock.recv(100)))
        return None

    def connectionLost(self, reason: Failure) -> None:
        self.log.append((self.name, "lost", reason.type))


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    return a, b


@pytest.mark.parametrize("kind", LOOPS)
def test_doReadSwappedOnInstanceAndReasonDisconnects(kind: str, runUntil: Any) -> None:
    loop = _newLoop(kind)
    r = AsyncioSelectorReactor(loop)
    a, b = _pair()
    log: list[Any] = []
    w = _Watched("w", a, log)
    r.addReader(w)
    d: Deferred[None] = Deferred()

    def swapped() -> object:
        # Transports replace doRead on the instance after registering (while connecting): the
        # reactor must call the current one, and act on the reason it returns.
        log.append(("w", "swapped", a.recv(100)))
        r.callLater(0, d.callback, None)
        return error.ConnectionDone()

    w.doRead = swapped  # type: ignore[method-assign]
    b.send(b"hi")
    runUntil(r, d)
    assert log == [("w", "swapped", b"hi"), ("w", "lost", error.ConnectionDone)]
    assert w not in r.getReaders()
    loop.close()
    a.close()
    b.close()


@pytest.mark.parametrize("kind", LOOPS)
def test_noEventAfterRemoveReaderInSameTurn(kind: str, runUntil: Any) -> None:
    loop = _newLoop(kind)
    r = AsyncioSelectorReactor(loop)
    (a1, b1), (a2, b2) = _pair(), _pair()
    log: list[Any] = []
    d: Deferred[None] = Deferred()

    class RemovesBoth(_Watched):
        def doRead(self) -> object:
            _Watched.doRead(self)
            r.removeReader(first)
            r.removeReader(second)
            r.callLater(0.01, d.callback, None)
            return None

    first = RemovesBoth("first", a1, log)
    second = RemovesBoth("second", a2, log)
    r.addReader(first)
    r.addReader(second)
    # Both readable before the loop's first poll: both events arrive in the same turn, and
    # whichever runs first unregisters the other, which must then not be called.
    b1.send(b"1")
    b2.send(b"2")
    runUntil(r, d)
    assert len(log) == 1
    assert r.getReaders() == []
    loop.close()
    for s in (a1, b1, a2, b2):
        s.close()


@pytest.mark.parametrize("kind", LOOPS)
def test_reusedDescriptorNumberGoesToNewReader(kind: str, runUntil: Any) -> None:
    loop = _newLoop(kind)
    r = AsyncioSelectorReactor(loop)
    a, b = _pair()
    log: list[Any] = []
    old = _Watched("old", a, log)
    r.addReader(old)
    fd = a.fileno()
    # The old socket is closed under its registration and the number handed out again.
    a.close()
    c, d2 = _pair()
    if c.fileno() != fd:
        os.dup2(c.fileno(), fd)
        c.close()
        c = socket.socket(fileno=fd)
    assert c.fileno() == fd
    d: Deferred[None] = Deferred()

    class New(_Watched):
        def doRead(self) -> object:
            _Watched.doRead(self)
            r.removeReader(self)
            d.callback(None)
            return None

    r.addReader(New("new", c, log))
    d2.send(b"n")
    runUntil(r, d)
    assert log == [("new", "read", b"n")]
    assert r.getReaders() == []
    loop.close()
    for s in (b, c, d2):
        s.close()
