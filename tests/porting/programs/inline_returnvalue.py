"""inlineCallbacks with returnValue, as most existing Twisted code is written."""

import warnings

from glisten.internet import defer, reactor, task

warnings.simplefilter("ignore", DeprecationWarning)


@defer.inlineCallbacks
def fetch(key):
    value = yield task.deferLater(reactor, 0.01, lambda: key * 2)
    if value > 10:
        defer.returnValue("big %d" % (value,))
    defer.returnValue("small %d" % (value,))


@defer.inlineCallbacks
def failing():
    yield task.deferLater(reactor, 0, lambda: None)
    raise ValueError("expected failure")


@defer.inlineCallbacks
def main():
    print((yield fetch(3)))
    print((yield fetch(8)))
    results = yield defer.gatherResults([fetch(i) for i in range(1, 4)])
    print(results)
    try:
        yield failing()
    except ValueError as e:
        print("caught:", e)
    print("plain return works too:", (yield plain()))


@defer.inlineCallbacks
def plain():
    yield None
    return "returned"


if __name__ == "__main__":
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
