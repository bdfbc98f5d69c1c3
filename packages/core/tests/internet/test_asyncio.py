"""
The asyncio reactor sharing a loop with asyncio code (and uvloop's loop when installed).
"""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest

from glisten.internet.asyncioreactor import AsyncioSelectorReactor
from glisten.internet.defer import Deferred
from glisten.internet.protocol import Factory

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
