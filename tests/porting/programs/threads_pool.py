"""deferToThread and callFromThread: blocking work off the reactor thread."""

import threading
import time

from glisten.internet import defer, reactor, threads


def blocking(n):
    time.sleep(0.01)
    return n * 10, threading.current_thread() is not main_thread


main_thread = threading.current_thread()


@defer.inlineCallbacks
def main():
    results = yield defer.gatherResults([threads.deferToThread(blocking, n) for n in range(3)])
    print("results:", results)
    done = defer.Deferred()

    def worker():
        reactor.callFromThread(done.callback, threading.current_thread() is not main_thread)

    reactor.callInThread(worker)
    print("callback ran from another thread's request:", (yield done))
    try:
        yield threads.deferToThread(lambda: 1 / 0)
    except ZeroDivisionError:
        print("exception crossed back: ZeroDivisionError")
    value = yield threads.deferToThread(
        threads.blockingCallFromThread, reactor, lambda: defer.succeed("blocking call result")
    )
    print(value)


if __name__ == "__main__":
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
