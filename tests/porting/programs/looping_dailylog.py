"""A LoopingCall "daemon" that writes a line to a DailyLogFile every tick, then stops."""

import os
import sys
import tempfile

from glisten.internet import reactor, task
from glisten.python import logfile


def main():
    directory = tempfile.mkdtemp()
    log = logfile.DailyLogFile("daemon.log", directory)
    state = {"ticks": 0}

    def tick():
        state["ticks"] += 1
        log.write("tick %d\n" % state["ticks"])
        log.flush()
        if state["ticks"] == 5:
            loop.stop()

    loop = task.LoopingCall(tick)
    d = loop.start(0.01, now=True)

    def finished(loopingCall):
        log.close()
        print("loop stopped after", state["ticks"], "ticks; same object:", loopingCall is loop)
        with open(os.path.join(directory, "daemon.log")) as f:
            sys.stdout.write(f.read())
        print("suffix example:", log.suffix((2026, 1, 2)))
        reactor.stop()

    d.addCallback(finished)


if __name__ == "__main__":
    reactor.callWhenRunning(main)
    reactor.run()
