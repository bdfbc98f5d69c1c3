"""
The timed-call heap against a plain model, with random schedules, cancels, resets and delays;
and callFromThread from many threads at once.
"""

from __future__ import annotations

import threading
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.base import _TimedCalls
from glisten.internet.defer import Deferred

_op = st.one_of(
    st.tuples(st.just("schedule"), st.integers(0, 50)),
    st.tuples(st.just("cancel"), st.integers(0, 200)),
    st.tuples(st.just("reset"), st.integers(0, 200), st.integers(0, 50)),
    st.tuples(st.just("delay"), st.integers(0, 200), st.integers(-20, 20)),
    st.tuples(st.just("advance"), st.integers(0, 30)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_op, max_size=120))
def test_heapMatchesModel(ops: list[Any]) -> None:
    now = [0.0]
    heap = _TimedCalls(lambda: now[0])
    ran: list[int] = []
    calls: list[Any] = []
    model: dict[int, float] = {}  # index in calls -> due time, for live calls

    def advance(amount: float) -> None:
        now[0] += amount
        before = len(ran)
        heap.runDue()
        group = ran[before:]
        # Exactly the calls due now ran, each once, in the order of their times.
        assert sorted(group) == sorted(i for i, t in model.items() if t <= now[0])
        times = [calls[i].getTime() for i in group]
        assert times == sorted(times)
        for i in group:
            del model[i]

    for op in ops:
        kind = op[0]
        if kind == "schedule":
            i = len(calls)
            calls.append(heap.schedule(op[1], ran.append, (i,), {}))
            model[i] = now[0] + op[1]
        elif kind in ("cancel", "reset", "delay") and calls:
            i = op[1] % len(calls)
            c = calls[i]
            if not c.active():
                continue
            if kind == "cancel":
                c.cancel()
                del model[i]
            elif kind == "reset":
                c.reset(op[2])
                model[i] = now[0] + op[2]
            else:
                c.delay(op[2])
                model[i] += op[2]
        elif kind == "advance":
            advance(op[1])
        assert sorted(id(c) for c in heap.pending()) == sorted(id(calls[i]) for i in model)
        nxt = heap.nextTime()
        assert nxt == (min(model.values()) if model else None)
    advance(10_000)
    assert len(ran) == len(set(ran))
    assert heap.pending() == [] and model == {}


def test_callFromThreadManyThreads(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    perThread, threads = 500, 8
    got: list[int] = []
    done: Deferred[None] = Deferred()

    def receive(x: int) -> None:
        got.append(x)
        if len(got) == perThread * threads:
            done.callback(None)

    def hammer(base: int) -> None:
        for k in range(perThread):
            r.callFromThread(receive, base + k)

    workers = [threading.Thread(target=hammer, args=(t * perThread,)) for t in range(threads)]
    r.callWhenRunning(lambda: [w.start() for w in workers])
    try:
        runUntil(r, done, limit=30)
    finally:
        for w in workers:
            w.join()
    assert sorted(got) == list(range(perThread * threads))
