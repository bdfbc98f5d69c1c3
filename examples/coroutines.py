"""Deferreds and coroutines together: await a Deferred, wrap a coroutine, time out a call.

Run: ``hatch run python examples/coroutines.py``.
"""

from __future__ import annotations

from glisten.internet import defer, task
from glisten.internet.interfaces import IReactorTime


async def slowAnswer(reactor: IReactorTime, delay: float) -> int:
    await task.deferLater(reactor, delay, lambda: None)
    return 42


async def main(reactor: IReactorTime) -> None:
    print("answer:", await slowAnswer(reactor, 0.01))
    both = await defer.gatherResults(
        [defer.ensureDeferred(slowAnswer(reactor, 0.01)), defer.succeed(7)]
    )
    print("gathered:", both)
    late = defer.ensureDeferred(slowAnswer(reactor, 10))
    late.addTimeout(0.05, reactor)
    try:
        await late
    except defer.TimeoutError:
        print("timed out, as asked")


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
