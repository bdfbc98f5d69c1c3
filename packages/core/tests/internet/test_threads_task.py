"""
Threads, the thread pool, name resolution, and the helpers of glisten.internet.task.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
from zope.interface import implementer

from glisten.internet import error, task, threads
from glisten.internet.address import IPv4Address
from glisten.internet.defer import CancelledError, Deferred
from glisten.internet.interfaces import IResolutionReceiver
from glisten.logger import capturedLogs
from glisten.python.threadpool import ThreadPool


def test_callInThreadAndCallFromThread(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    d: Deferred[Any] = Deferred()
    main = threading.current_thread()

    def inThread() -> None:
        worker = threading.current_thread()
        r.callFromThread(d.callback, (worker is not main, worker.name))

    r.callInThread(inThread)
    elsewhere, name = runUntil(r, d)
    assert elsewhere and name.startswith("glisten.threadpool")


def test_deferToThreadPoolAndFailures(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    pool = r.getThreadPool()

    def boom() -> None:
        raise KeyError("in a thread")

    async def go() -> Any:
        value = await threads.deferToThreadPool(r, pool, lambda x: x * 2, 21)
        with pytest.raises(KeyError):
            await threads.deferToThreadPool(r, pool, boom)
        return value

    assert runUntil(r, Deferred.fromCoroutine(go())) == 42


def test_raisingCallableInThreadIsLogged(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    d: Deferred[None] = Deferred()

    def boom() -> None:
        try:
            raise ZeroDivisionError("thread boom")
        finally:
            r.callFromThread(d.callback, None)

    with capturedLogs() as events:
        r.callInThread(boom)
        runUntil(r, d)
    # The log event is emitted by the worker after the callable raised; the pool stops (and
    # joins its threads) on shutdown, so it has been emitted by now.
    assert [e for e in events if "log_failure" in e and e["log_failure"].check(ZeroDivisionError)]


def test_blockingCallFromThread(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    result: Deferred[Any] = Deferred()

    def later(x: int) -> Deferred[int]:
        d: Deferred[int] = Deferred()
        r.callLater(0.001, d.callback, x + 1)
        return d

    def fails() -> None:
        raise ValueError("from the reactor thread")

    def inThread() -> None:
        value = threads.blockingCallFromThread(r, later, 1)
        try:
            threads.blockingCallFromThread(r, fails)
        except ValueError as e:
            r.callFromThread(result.callback, (value, str(e)))

    r.callInThread(inThread)
    assert runUntil(r, result) == (2, "from the reactor thread")

    def inside() -> None:
        with pytest.raises(RuntimeError):
            threads.blockingCallFromThread(r, lambda: None)

    r2 = type(r)()
    d2: Deferred[None] = Deferred()
    r2.callWhenRunning(lambda: (inside(), d2.callback(None)))
    runUntil(r2, d2)


def test_suggestThreadPoolSize(anyReactor: Any) -> None:
    r = anyReactor
    r.suggestThreadPoolSize(3)
    assert r.getThreadPool().max == 3


def test_threadPoolDirect() -> None:
    pool = ThreadPool(0, 2, "direct")
    results: list[Any] = []
    done = threading.Event()
    pool.callInThreadWithCallback(lambda ok, v: (results.append((ok, v)), done.set()), pow, 2, 5)
    pool.start()
    assert done.wait(10)
    assert results == [(True, 32)]
    assert pool.workers <= 2
    with pytest.raises(ValueError):
        pool.adjustPoolsize(3, 1)
    pool.stop()
    assert pool.workers == 0 and pool.joined


def test_threadPoolRunsManyConcurrently() -> None:
    # Work that waits for other work must not deadlock while threads are available.
    pool = ThreadPool(0, 4)
    pool.start()
    barrier = threading.Barrier(4, timeout=10)
    ok: list[bool] = []
    lock = threading.Lock()

    def wait() -> None:
        barrier.wait()
        with lock:
            ok.append(True)

    for _ in range(4):
        pool.callInThread(wait)
    pool.stop()
    assert ok == [True] * 4


@implementer(IResolutionReceiver)
class Receiver:
    def __init__(self) -> None:
        self.addresses: list[Any] = []
        self.began: Any = None
        self.done: Deferred[list[Any]] = Deferred()

    def resolutionBegan(self, resolution: Any) -> None:
        self.began = resolution

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.done.callback(self.addresses)


def test_nameResolver(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    rec = Receiver()
    r.nameResolver.resolveHostName(rec, "localhost", 80, [IPv4Address])
    addresses = runUntil(r, rec.done)
    assert rec.began.name == "localhost"
    assert IPv4Address("TCP", "127.0.0.1", 80) in addresses


def test_resolveAndCancel(anyReactor: Any, runUntil: Any) -> None:
    r = anyReactor
    rec = Receiver()
    r.nameResolver.resolveHostName(rec, "localhost")
    rec.began.cancel()
    # Cancelling completes at once; the late result is dropped.
    assert rec.done.called and rec.done.result == []

    async def go() -> Any:
        a = await r.resolve("localhost")
        b = await r.resolve("10.1.2.3")
        try:
            await r.resolve("no-such-host.invalid")
        except error.DNSLookupError:
            return a, b
        raise AssertionError("resolved an invalid name")

    assert runUntil(r, Deferred.fromCoroutine(go())) == ("127.0.0.1", "10.1.2.3")


def test_installNameResolver(anyReactor: Any) -> None:
    r = anyReactor

    class Fixed:
        def resolveHostName(
            self, receiver: Any, hostName: str, portNumber: int = 0, *a: Any, **k: Any
        ) -> Any:
            receiver.resolutionBegan(None)
            receiver.addressResolved(IPv4Address("TCP", "127.0.0.9", portNumber))
            receiver.resolutionComplete()
            return receiver

    old = r.installNameResolver(Fixed())
    assert old is not None
    d = r.resolve("anything.example")
    assert d.result == "127.0.0.9"


# --------------------------------------------------------------------------- task


def test_loopingCallWithClock() -> None:
    clock = task.Clock()
    calls: list[float] = []
    lc = task.LoopingCall(lambda: calls.append(clock.seconds()))
    lc.clock = clock
    d = lc.start(1.0)
    assert calls == [0.0]
    clock.pump([1.0, 1.0, 0.5, 0.5])
    assert calls == [0.0, 1.0, 2.0, 3.0]
    lc.stop()
    assert d.result is lc
    with pytest.raises(ValueError):
        lc.start(-1)


def test_loopingCallWithCountAndSkips() -> None:
    clock = task.Clock()
    counts: list[int] = []
    lc = task.LoopingCall.withCount(counts.append)
    lc.clock = clock
    lc.start(1.0)
    clock.advance(1.0)
    clock.advance(3.5)
    clock.advance(0.5)
    lc.stop()
    assert counts == [1, 1, 3, 1]


def test_loopingCallFailureStops() -> None:
    clock = task.Clock()
    lc = task.LoopingCall(lambda: 1 / 0)
    lc.clock = clock
    d = lc.start(1)
    failures: list[Any] = []
    d.addErrback(failures.append)
    assert not lc.running
    assert failures[0].check(ZeroDivisionError)


def test_loopingCallWaitsForDeferred() -> None:
    clock = task.Clock()
    pending: list[Deferred[None]] = []

    def f() -> Deferred[None]:
        d: Deferred[None] = Deferred()
        pending.append(d)
        return d

    lc = task.LoopingCall(f)
    lc.clock = clock
    lc.start(1)
    clock.advance(5)
    assert len(pending) == 1
    pending[0].callback(None)
    clock.advance(1)
    assert len(pending) == 2


def test_clock() -> None:
    clock = task.Clock()
    ran: list[str] = []
    a = clock.callLater(2, ran.append, "a")
    clock.callLater(1, ran.append, "b")
    assert [c.getTime() for c in clock.getDelayedCalls()] == [1, 2]
    a.reset(0.5)
    clock.advance(0.5)
    assert ran == ["a"]
    clock.advance(0.5)
    assert ran == ["a", "b"]
    with pytest.raises(ValueError):
        clock.callLater(-1, ran.append, "c")
    c = clock.callLater(1, ran.append, "c")
    c.cancel()
    clock.advance(2)
    assert ran == ["a", "b"] and clock.seconds() == 3


def test_deferLater() -> None:
    clock = task.Clock()
    d = task.deferLater(clock, 2, lambda x: x * 3, 7)
    clock.advance(1)
    assert not d.called
    clock.advance(1)
    assert d.result == 21
    d2 = task.deferLater(clock, 1)
    d2.cancel()
    d2.addErrback(lambda f: f.trap(CancelledError))
    assert clock.getDelayedCalls() == []


def test_cooperator() -> None:
    clock = task.Clock()
    coop = task.Cooperator(scheduler=lambda f: clock.callLater(0, f))
    out: list[str] = []

    def gen(name: str, n: int) -> Any:
        for i in range(n):
            out.append(f"{name}{i}")
            yield None

    d1 = coop.coiterate(gen("a", 3))
    t2 = coop.cooperate(gen("b", 3))
    d2 = t2.whenDone()
    for _ in range(10):
        clock.advance(0)
    assert d1.called and d2.called
    assert sorted(out) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    t3 = coop.cooperate(gen("c", 100))
    t3.pause()
    clock.advance(0)
    assert not any(x.startswith("c") for x in out)
    t3.resume()
    t3.stop()
    failures: list[Any] = []
    t3.whenDone().addErrback(failures.append)
    assert failures[0].check(task.TaskStopped)
    coop.stop()
    with pytest.raises(task.SchedulerStopped):
        coop.stop()


def test_cooperatorWaitsForYieldedDeferred() -> None:
    clock = task.Clock()
    coop = task.Cooperator(scheduler=lambda f: clock.callLater(0, f))
    gate: Deferred[None] = Deferred()
    out: list[int] = []

    def gen() -> Any:
        out.append(1)
        yield gate
        out.append(2)

    d = coop.coiterate(gen())
    for _ in range(5):
        clock.advance(0)
    assert out == [1]
    gate.callback(None)
    for _ in range(5):
        clock.advance(0)
    assert out == [1, 2] and d.called


def test_reactExitCodes(tmp_path: Any) -> None:
    script = """
import sys
from glisten.internet import task
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.defer import succeed, fail
kind = sys.argv[1]
def main(reactor):
    if kind == "ok":
        return succeed(None)
    if kind == "exit":
        return fail(SystemExit(3))
    async def later():
        raise ValueError("boom")
    return later()
task.react(main, _reactor=EPollReactor())
"""
    codes = []
    for kind in ("ok", "exit", "error"):
        p = subprocess.run([sys.executable, "-c", script, kind], capture_output=True, timeout=60)
        codes.append(p.returncode)
    assert codes == [0, 3, 1]


def test_globalReactorInstalledOnFirstImport() -> None:
    script = """
import sys
assert "glisten.internet.reactor" not in sys.modules
import importlib, pkgutil, glisten
for info in pkgutil.walk_packages(glisten.__path__, "glisten."):
    if info.name == "glisten.internet.reactor":
        continue
    try:
        importlib.import_module(info.name)
    except Exception:
        continue  # a missing optional dependency; not this test's concern
    assert "glisten.internet.reactor" not in sys.modules, info.name + " installed the reactor"
from glisten.internet import reactor
from glisten.internet.epollreactor import EPollReactor
assert isinstance(reactor, EPollReactor)
from glisten.internet.main import installReactor
from glisten.internet import error
try:
    installReactor(EPollReactor())
except error.ReactorAlreadyInstalledError:
    print("ok")
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.stdout.strip() == "ok", p.stderr


@pytest.mark.parametrize("name", ["epoll", "poll", "select", "asyncio"])
def test_installReactorByName(name: str) -> None:
    script = f"""
from glisten.application.reactors import installReactor, NoSuchReactor
r = installReactor({name!r})
from glisten.internet import reactor
assert reactor is r
from glisten.internet import task
def main(reactor):
    return task.deferLater(reactor, 0.001, lambda: None)
task.react(main)
"""
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_noSuchReactor() -> None:
    from glisten.application.reactors import NoSuchReactor, getReactorTypes, installReactor

    with pytest.raises(NoSuchReactor):
        installReactor("kqueue-on-linux")
    assert [r.shortName for r in getReactorTypes()] == ["epoll", "poll", "select", "asyncio"]


def test_installSimpleResolver(anyReactor: Any) -> None:
    from glisten.internet.defer import fail, succeed

    r = anyReactor

    class Simple:
        def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:
            if name == "known.example":
                return succeed("127.0.0.7")
            return fail(error.DNSLookupError(name))

    r.installResolver(Simple())
    assert r.resolve("known.example").result == "127.0.0.7"
    rec = Receiver()
    r.nameResolver.resolveHostName(rec, "known.example", 8080)
    assert rec.done.result == [IPv4Address("TCP", "127.0.0.7", 8080)]
    rec2 = Receiver()
    r.nameResolver.resolveHostName(rec2, "unknown.example")
    assert rec2.done.result == []
