"""Process-wide logging (global beginner, stdio redirection, legacy startLogging).

These change global state (``sys.stdout``, the global publisher), so each runs in a child
interpreter.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def runPython(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_unhandled_deferred_error_before_and_after_logging_begins() -> None:
    result = runPython(
        """
        import gc, io, sys
        from glisten.internet.defer import Deferred
        from glisten.logger import globalLogBeginner, jsonFileLogObserver, eventsFromJSONLogFile

        def lose():
            d = Deferred()
            d.errback(ValueError("nobody handled me"))
            del d
            gc.collect()

        lose()  # before logging begins: critical events go to stderr
        sys.stderr.flush()
        out = io.StringIO()
        globalLogBeginner.beginLoggingTo([jsonFileLogObserver(out)], redirectStandardIO=False)
        lose()
        events = list(eventsFromJSONLogFile(io.StringIO(out.getvalue())))
        # Each report is two events, as in Twisted: the notice, then the failure.
        reported = [
            (e, events[i + 1])
            for i, e in enumerate(events)
            if e.get("log_format") == "Unhandled error in Deferred:"
        ]
        # The one from before logging began is replayed, then the new one.
        notice, failure = reported[-1]
        print(len(reported), notice["log_level"].name, failure["log_failure"]["type"])
        """
    )
    assert result.returncode == 0, result.stderr
    assert "Unhandled error in Deferred:" in result.stderr
    assert "ValueError: nobody handled me" in result.stderr
    assert result.stdout.strip() == "2 critical builtins.ValueError"


def test_legacy_startLogging_redirects_stdout() -> None:
    result = runPython(
        """
        import sys
        from glisten.python import log
        from glisten.logger import Logger
        real = sys.stdout
        Logger("early").info("logged before startLogging")
        log.startLogging(real)
        log.msg("legacy", "message")
        print("a stray print")
        Logger("modern").warn("modern {n}", n=1)
        """
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # Twisted's legacy file format: buffered early events, then "Log opened.", and "-" as the
    # system of events that name none.
    assert [line.split("] ", 1)[1] for line in lines] == [
        "logged before startLogging",
        "Log opened.",
        "legacy message",
        "a stray print",
        "modern 1",
    ]
    assert all(" [-] " in line for line in lines)


def test_warnings_become_log_events() -> None:
    result = runPython(
        """
        import io, warnings
        from glisten.logger import globalLogBeginner, textFileLogObserver
        out = io.StringIO()
        globalLogBeginner.beginLoggingTo([textFileLogObserver(out)], redirectStandardIO=False)
        warnings.warn("careful now", UserWarning)
        print(out.getvalue().strip())
        """
    )
    assert result.returncode == 0, result.stderr
    assert "builtins.UserWarning: careful now" in result.stdout
