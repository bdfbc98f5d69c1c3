"""The legacy log API: startLogging, msg, err, and a custom observer."""

import sys

from glisten.python import log


def observer(eventDict):
    text = log.textFromEventDict(eventDict)
    if text is not None:
        captured.append(("error" if eventDict["isError"] else "info", text.splitlines()[0]))


captured = []


def main():
    log.startLogging(sys.stdout)
    log.addObserver(observer)
    log.msg("a message", "in", "parts")
    log.msg(format="%(count)d items in %(place)s", count=3, place="the box")
    try:
        {}["missing"]
    except KeyError:
        log.err(None, "while looking something up")
    log.callWithContext({"system": "custom-system"}, log.msg, "with a system")
    print("printed text is logged too")
    log.removeObserver(observer)
    for kind, text in captured:
        sys.__stdout__.write("observed %s: %s\n" % (kind, text))


if __name__ == "__main__":
    main()
