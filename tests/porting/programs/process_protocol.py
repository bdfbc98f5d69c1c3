"""spawnProcess with a ProcessProtocol, and getProcessOutput."""

import sys

from glisten.internet import defer, protocol, reactor, utils


class Collector(protocol.ProcessProtocol):
    def __init__(self):
        self.out = b""
        self.err = b""
        self.ended = defer.Deferred()

    def connectionMade(self):
        self.transport.write(b"line one\nline two\n")
        self.transport.closeStdin()

    def outReceived(self, data):
        self.out += data

    def errReceived(self, data):
        self.err += data

    def processEnded(self, reason):
        self.ended.callback(reason.value.exitCode)


CHILD = "import sys\nfor line in sys.stdin:\n    sys.stdout.write(line.upper())\nsys.stderr.write('done\\n')\nsys.exit(3)\n"


@defer.inlineCallbacks
def main():
    collector = Collector()
    reactor.spawnProcess(collector, sys.executable, [sys.executable, "-c", CHILD], env=None)
    code = yield collector.ended
    print("exit code:", code)
    print("stdout:", collector.out.decode().split())
    print("stderr:", collector.err.decode().strip())
    output = yield utils.getProcessOutput(
        sys.executable, ["-c", "print('via getProcessOutput')"], env=None
    )
    print(output.decode().strip())
    value = yield utils.getProcessValue(sys.executable, ["-c", "raise SystemExit(7)"], env=None)
    print("getProcessValue:", value)


if __name__ == "__main__":
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
