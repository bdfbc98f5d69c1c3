"""DeferredQueue, DeferredLock and DeferredSemaphore coordinating work."""

from glisten.internet import defer, reactor, task


@defer.inlineCallbacks
def main():
    queue = defer.DeferredQueue()
    got = []
    waiters = [queue.get().addCallback(got.append) for _ in range(2)]
    queue.put("a")
    queue.put("b")
    queue.put("c")
    yield defer.gatherResults(waiters)
    got.append((yield queue.get()))
    print("queue:", got)

    lock = defer.DeferredLock()
    order = []

    def critical(name):
        order.append(name + " in")
        return task.deferLater(reactor, 0.01, lambda: order.append(name + " out"))

    yield defer.gatherResults([lock.run(critical, n) for n in ("x", "y")])
    print("lock:", order)

    semaphore = defer.DeferredSemaphore(2)
    running = []
    peak = [0]

    def job(n):
        running.append(n)
        peak[0] = max(peak[0], len(running))
        return task.deferLater(reactor, 0.01, lambda: running.remove(n) or n * n)

    results = yield defer.gatherResults([semaphore.run(job, n) for n in range(5)])
    print("semaphore:", results, "peak:", peak[0])


if __name__ == "__main__":
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
