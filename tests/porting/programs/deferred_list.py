"""DeferredList and gatherResults, with failures handled and consumed."""

from glisten.internet import defer


def show(label):
    def cb(result):
        print(label, result)
        return result

    return cb


def main():
    d1, d2, d3 = defer.Deferred(), defer.Deferred(), defer.Deferred()
    dl = defer.DeferredList([d1, d2, d3], consumeErrors=True)
    dl.addCallback(lambda results: [(ok, r if ok else r.getErrorMessage()) for ok, r in results])
    dl.addCallback(show("DeferredList:"))
    d3.callback("third")
    d1.callback("first")
    d2.errback(ValueError("second failed"))

    first = defer.DeferredList([defer.Deferred(), defer.succeed("quick")], fireOnOneCallback=True)
    first.addCallback(show("fireOnOneCallback:"))

    g = defer.gatherResults([defer.succeed(1), defer.succeed(2)])
    g.addCallback(show("gatherResults:"))

    bad = defer.gatherResults([defer.succeed(1), defer.fail(KeyError("k"))], consumeErrors=True)
    bad.addErrback(lambda f: print("gatherResults failed with", f.value.subFailure.type.__name__))

    chained = defer.succeed(5)
    chained.addCallback(lambda x: defer.succeed(x * 2))
    chained.addCallback(lambda x: x + 1)
    chained.addCallback(show("chained:"))

    trapped = defer.fail(ZeroDivisionError("zero"))
    trapped.addErrback(lambda f: f.trap(ZeroDivisionError) and "trapped " + f.type.__name__)
    trapped.addCallback(show("trap:"))


if __name__ == "__main__":
    main()
