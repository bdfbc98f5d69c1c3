"""context, threadable, monkey."""

from __future__ import annotations

import threading
from typing import Any

from glisten.python import context, monkey, threadable


def test_context() -> None:
    assert context.get("k") is None
    seen: list[Any] = []

    def inner() -> None:
        seen.append(context.get("k"))
        seen.append(context.call({"k": 2}, context.get, "k"))
        seen.append(context.get("k"))

    context.call({"k": 1}, inner)
    assert seen == [1, 2, 1] and context.get("k", "d") == "d"
    other: list[Any] = []
    context.call({"k": 1}, lambda: _inThread(lambda: other.append(context.get("k"))))
    assert other == [None]


def _inThread(f: Any) -> None:
    t = threading.Thread(target=f)
    t.start()
    t.join()


def test_threadable() -> None:
    class Counter:
        synchronized = ["add"]

        def __init__(self) -> None:
            self.n = 0

        def add(self) -> None:
            n = self.n
            self.n = n + 1

    threadable.synchronize(Counter)
    c = Counter()
    threads = [threading.Thread(target=lambda: [c.add() for _ in range(2000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.n == 8000
    assert Counter.add.__name__ == "add"
    assert threadable.getThreadID() == threading.get_ident()
    out: list[bool] = []
    _inThread(lambda: out.append(threadable.isInIOThread()))
    assert out == [False]


def test_monkey_patcher() -> None:
    class Thing:
        a = 1

    t = Thing()
    patcher = monkey.MonkeyPatcher((t, "a", 2), (t, "b", 3))
    assert patcher.runWithPatches(lambda: (t.a, t.b)) == (2, 3)  # type: ignore[attr-defined]
    assert t.a == 1 and not hasattr(t, "b")
    with monkey.MonkeyPatcher((t, "a", 5)):
        assert t.a == 5
    assert t.a == 1
