"""glisten and asyncio in one program.

The asyncio reactor runs glisten on an asyncio event loop (uvloop too), so one process can use
glisten protocols and asyncio libraries: a Deferred can be awaited in a coroutine, a coroutine
becomes a Deferred with ``Deferred.fromCoroutine``, and an asyncio future with
``Deferred.fromFuture``.
"""

from __future__ import annotations

import asyncio

from glisten.internet import asyncioreactor

asyncioreactor.install()  # before anything imports the global reactor

from glisten.internet import defer, reactor, task  # noqa: E402


async def asyncioWork() -> str:
    await asyncio.sleep(0.01)  # an asyncio library call
    return "from asyncio"


def glistenWork() -> defer.Deferred[str]:
    return task.deferLater(reactor, 0.01, lambda: "from a Deferred")


async def main() -> None:
    print(await glistenWork())  # await a Deferred in a coroutine
    print(await defer.Deferred.fromFuture(asyncio.ensure_future(asyncioWork())))


if __name__ == "__main__":
    task.react(lambda _: defer.Deferred.fromCoroutine(main()))
