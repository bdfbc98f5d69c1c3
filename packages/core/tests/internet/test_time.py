"""
Timed calls, system events, running and stopping, on every reactor.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import threading
from typing import Any

import pytest

from glisten.internet import error
from glisten.internet.base import DelayedCall, _TimedCalls
from glisten.internet.defer import Deferred


def test_callLaterOrder(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    order: list[int] = []
    d: Deferred[None] = Deferred()
    calls = [
        r.callLater(0.02, order.append, 0),
        r.callLater(0, order.append, 1),
        r.callLater(0.01, order.append, 2),
        r.callLater(0.01, order.append, 3),
    ]
    r.callLater(0.03, d.callback, None)
    runUntil(r, d)
    # Run in the order of their times (ties in the order they were scheduled).
    expected = sorted(range(4), key=lambda i: (calls[i].getTime(), i))
    assert order == expected
    assert order[0] == 1


def test_callLaterNegativeDelay(anyReactor: Any) -> None:
    with pytest.raises(ValueError):
        anyReactor.callLater(-1, lambda: None)
    with pytest.raises(ValueError):
        anyReactor.callLater(math.nan, lambda: None)
    with pytest.raises(TypeError):
        anyReactor.callLater("1", lambda: None)
    with pytest.raises(TypeError):
        anyReactor.callLater(1, "not callable")


def test_cancelResetDelay(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    ran: list[str] = []
    c1 = r.callLater(0.01, ran.append, "cancelled")
    c1.cancel()
    assert not c1.active()
    with pytest.raises(error.AlreadyCancelled):
        c1.cancel()
    c2 = r.callLater(100, ran.append, "reset")
    c2.reset(0.01)
    # "middle" is scheduled first so that the order does not depend on how fast this runs.
    r.callLater(0.02, lambda: ran.append("middle"))
    c3 = r.callLater(0, ran.append, "delayed")
    c3.delay(0.03)
    d: Deferred[None] = Deferred()
    r.callLater(0.05, d.callback, None)
    runUntil(r, d)
    assert ran == ["reset", "middle", "delayed"]
    with pytest.raises(error.AlreadyCalled):
        c2.cancel()
    assert not c2.active()


def test_exceptionInDelayedCallIsLogged(anyReactor: Any, runUntil: Any) -> None:
    from glisten.logger import capturedLogs

    r = anyReactor
    d: Deferred[None] = Deferred()

    def boom() -> None:
        raise ZeroDivisionError("boom")

    r.callLater(0, boom)
    r.callLater(0.01, d.callback, "after")
    with capturedLogs() as events:
        assert runUntil(r, d) == "after"
    failures = [e["log_failure"] for e in events if "log_failure" in e]
    assert any(f.check(ZeroDivisionError) for f in failures)


def test_getDelayedCalls(anyReactor: Any) -> None:
    r = anyReactor
    a = r.callLater(10, lambda: None)
    b = r.callLater(20, lambda: None)
    b.cancel()
    assert r.getDelayedCalls() == [a]


def test_heapManyCancellations() -> None:
    now = [0.0]
    heap = _TimedCalls(lambda: now[0])
    ran: list[int] = []
    calls = [heap.schedule(i * 0.001, ran.append, (i,), {}) for i in range(100_000)]
    for i, c in enumerate(calls):
        if i % 4:
            c.cancel()
    # Dead entries are compacted away: the heap stays within twice the live calls.
    assert len(heap.heap) <= 2 * 25_000 + 100
    for c in calls[0:4000:4]:
        c.reset(1000.0)
    now[0] = 200.0
    heap.runDue()
    expected = list(range(4000, 100_000, 4))
    assert ran == expected
    now[0] = 2000.0
    heap.runDue()
    assert ran[len(expected) :] == list(range(0, 4000, 4))
    assert heap.pending() == []
    assert heap.nextTime() is None


def test_heapDelayLater() -> None:
    now = [0.0]
    heap = _TimedCalls(lambda: now[0])
    ran: list[str] = []
    a = heap.schedule(1, ran.append, ("a",), {})
    heap.schedule(2, ran.append, ("b",), {})
    a.delay(2)
    assert heap.nextTime() == 2
    now[0] = 2.5
    heap.runDue()
    assert ran == ["b"]
    now[0] = 3.0
    heap.runDue()
    assert ran == ["b", "a"]


def test_callsAddedWhileRunningWaitForNextPass() -> None:
    now = [0.0]
    heap = _TimedCalls(lambda: now[0])
    ran: list[int] = []

    def again() -> None:
        ran.append(1)
        heap.schedule(0, again, (), {})

    heap.schedule(0, again, (), {})
    heap.runDue()
    assert ran == [1]
    heap.runDue()
    assert ran == [1, 1]


def test_delayedCallRepr() -> None:
    dc = DelayedCall(5, print, (), {}, lambda c: None, lambda c: None, lambda: 1.0)
    assert "pending" in repr(dc) and "print" in repr(dc)


def test_systemEventTriggersWaitForDeferreds(anyReactor: Any) -> None:
    r = anyReactor
    events: list[str] = []
    waiting: Deferred[None] = Deferred()

    def before() -> Deferred[None]:
        events.append("before")
        r.callLater(0.01, waiting.callback, None)
        return waiting

    r.addSystemEventTrigger("before", "shutdown", before)
    r.addSystemEventTrigger("during", "shutdown", lambda: events.append("during"))
    r.addSystemEventTrigger("after", "shutdown", lambda: events.append("after"))
    removed = r.addSystemEventTrigger("during", "shutdown", lambda: events.append("removed"))
    r.removeSystemEventTrigger(removed)
    with pytest.raises(ValueError):
        r.removeSystemEventTrigger(removed)
    with pytest.raises(KeyError):
        r.addSystemEventTrigger("sometime", "shutdown", lambda: None)
    r.callWhenRunning(lambda: events.append("running"))
    r.callWhenRunning(r.stop)
    r.run(installSignalHandlers=False)
    assert events == ["running", "before", "during", "after"]
    assert not r.running


def test_stopErrors(anyReactor: Any) -> None:
    r = anyReactor
    with pytest.raises(error.ReactorNotRunning):
        r.stop()

    def inside() -> None:
        with pytest.raises(error.ReactorAlreadyRunning):
            r.run(installSignalHandlers=False)
        r.stop()
        with pytest.raises(error.ReactorNotRunning):
            r.stop()

    r.callWhenRunning(inside)
    r.run(installSignalHandlers=False)
    with pytest.raises(error.ReactorNotRestartable):
        r.run(installSignalHandlers=False)


def test_crashSkipsShutdown(anyReactor: Any) -> None:
    r = anyReactor
    events: list[str] = []
    r.addSystemEventTrigger("before", "shutdown", lambda: events.append("shutdown"))
    r.callWhenRunning(r.crash)
    r.run(installSignalHandlers=False)
    assert events == []
    assert not r.running


def test_fireSystemEventCustom(anyReactor: Any) -> None:
    r = anyReactor
    seen: list[str] = []
    r.addSystemEventTrigger("during", "custom", seen.append, "x")
    r.fireSystemEvent("custom")
    assert seen == ["x"]


def test_sigtermStopsCleanly(anyReactor: Any) -> None:
    r = anyReactor
    events: list[str] = []
    r.addSystemEventTrigger("before", "shutdown", lambda: events.append("shutdown"))

    def killMe() -> None:
        # Only send the signal once our handler is in place: otherwise it would end pytest.
        if signal.SIGTERM in r._signalsSaved:
            os.kill(os.getpid(), signal.SIGTERM)
        else:
            events.append("handler not installed")
            r.stop()

    r.callWhenRunning(killMe)
    safety = r.callLater(10, r.stop)
    before = signal.getsignal(signal.SIGTERM)
    r.run(installSignalHandlers=True)
    assert events == ["shutdown"]
    assert safety.active(), "the signal did not stop the reactor"
    assert signal.getsignal(signal.SIGTERM) is before


def test_stoppedReactorFreesDescriptors() -> None:
    from glisten.internet.epollreactor import EPollReactor

    gc.collect()
    before = len(os.listdir("/proc/self/fd"))
    r = EPollReactor()
    r.callInThread(lambda: None)
    r.callWhenRunning(r.stop)
    r.run(installSignalHandlers=False)
    assert len(os.listdir("/proc/self/fd")) == before
    assert r.threadpool is None
    assert not [t for t in threading.enumerate() if t.name.startswith("glisten.threadpool")]


def test_descriptorReusedAfterCloseWithoutRemoval(anyReactor: Any, runUntil: Any) -> None:
    import socket

    r = anyReactor
    got: Deferred[bytes] = Deferred()

    class Reader:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def fileno(self) -> int:
            return self.sock.fileno()

        def logPrefix(self) -> str:
            return "reader"

        def doRead(self) -> None:
            if not got.called:
                got.callback(self.sock.recv(10))

        def connectionLost(self, reason: object) -> None:
            pass

    a, b = socket.socketpair()
    fd = a.fileno()
    r.addReader(Reader(a))
    a.close()  # closed without removeReader: a bug elsewhere must not blind the reactor
    b.close()
    c, d = socket.socketpair()
    if c.fileno() != fd:
        c, d = d, c
    assert c.fileno() == fd, "the descriptor number was not reused"
    r.addReader(Reader(c))
    d.send(b"fresh")
    try:
        assert runUntil(r, got) == b"fresh"
    finally:
        c.close()
        d.close()


def test_separateReaderAndWriterOnOneDescriptor(anyReactor: Any, runUntil: Any) -> None:
    import socket

    r = anyReactor
    a, b = socket.socketpair()
    a.setblocking(False)
    events: list[str] = []
    done: Deferred[None] = Deferred()

    class Side:
        def __init__(self, name: str) -> None:
            self.name = name

        def fileno(self) -> int:
            return a.fileno()

        def logPrefix(self) -> str:
            return self.name

        def connectionLost(self, reason: object) -> None:
            pass

        def doRead(self) -> None:
            events.append(f"{self.name} read {a.recv(10)!r}")
            r.removeReader(self)
            if not done.called:
                done.callback(None)

        def doWrite(self) -> None:
            events.append(f"{self.name} write")
            a.send(b"out")
            r.removeWriter(self)

    reader, writer = Side("reader"), Side("writer")
    r.addReader(reader)
    r.addWriter(writer)
    assert r.getReaders() == [reader] and r.getWriters() == [writer]
    b.send(b"in")
    try:
        runUntil(r, done)
        b.settimeout(5)
        assert b.recv(10) == b"out"
    finally:
        a.close()
        b.close()
    assert sorted(events) == ["reader read b'in'", "writer write"]


def test_iterate(anyReactor: Any) -> None:
    r = anyReactor
    ran: list[int] = []
    r.callLater(0, ran.append, 1)
    for _ in range(100):
        r.iterate(0.01)
        if ran:
            break
    assert ran == [1]
    r.callFromThread(ran.append, 2)
    for _ in range(100):
        r.iterate(0.01)
        if len(ran) == 2:
            break
    assert ran == [1, 2]


def test_resetEarlierFromIO(anyReactor: Any, runUntil: Any) -> None:
    import socket

    r = anyReactor
    d: Deferred[str] = Deferred()
    a, b = socket.socketpair()
    call = r.callLater(60, d.callback, "moved")

    class Reader:
        def fileno(self) -> int:
            return a.fileno()

        def logPrefix(self) -> str:
            return "reader"

        def connectionLost(self, reason: object) -> None:
            pass

        def doRead(self) -> None:
            a.recv(10)
            r.removeReader(self)
            # Moved earlier from an I/O callback: the loop's wait must be shortened. (The
            # asyncio reactor keeps one loop timer: it must now be armed for this call.)
            call.reset(0.001)
            armed.append(getattr(r, "_timerTime", call.getTime()))

    armed: list[float] = []
    reader = Reader()
    r.callWhenRunning(r.addReader, reader)
    r.callWhenRunning(b.send, b"go")
    try:
        assert runUntil(r, d, limit=5) == "moved"
        assert armed[0] <= call.getTime()
    finally:
        r.removeReader(reader)
        a.close()
        b.close()
