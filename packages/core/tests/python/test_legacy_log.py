"""The legacy ``glisten.python.log`` API, as Twisted programs use it."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from glisten.logger import Logger
from glisten.python import log
from glisten.python.failure import Failure


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} \[(?P<system>[^\]]*)\] (?P<text>.*)$")


def test_start_logging_writes_log_opened_and_redirects_stdout() -> None:
    out = _run(
        """
        import sys
        from glisten.python import log
        log.startLogging(sys.stdout)
        log.msg("hello", 3)
        log.msg(format="%(a)s and %(b)s", a=1, b=2)
        print("printed")
        log.callWithContext({"system": "mine"}, log.msg, "in context")
        try:
            1 / 0
        except ZeroDivisionError:
            log.err(None, "dividing")
        """
    )
    lines = out.splitlines()
    parsed = [_LINE.match(line) for line in lines]
    assert parsed[0] and parsed[0]["text"] == "Log opened." and parsed[0]["system"] == "-"
    texts = [(m["system"], m["text"]) for m in parsed if m]
    assert ("-", "hello 3") in texts
    assert ("-", "1 and 2") in texts
    assert ("-", "printed") in texts
    assert ("mine", "in context") in texts
    assert ("-", "dividing") in texts
    assert any("ZeroDivisionError" in line for line in lines)
    # Traceback lines are continuation lines, indented with a tab.
    assert any(line.startswith("\t") for line in lines)


def test_start_logging_without_stdout_redirect() -> None:
    out = _run(
        """
        import sys
        from glisten.python import log
        log.startLogging(sys.stdout, setStdout=False)
        print("plain")
        from glisten.logger import Logger
        Logger(namespace="ns").info("new style {x}", x=5)
        """
    )
    lines = out.splitlines()
    assert lines[0].endswith("[-] Log opened.")
    assert "plain" in lines
    assert any(line.endswith("] new style 5") for line in lines)


@pytest.fixture
def observed() -> Any:
    events: list[dict[str, Any]] = []
    log.addObserver(events.append)
    yield events
    log.removeObserver(events.append)


def test_msg_err_observers(observed: list[dict[str, Any]]) -> None:
    log.msg("a", "b", extra=1)
    ev = observed[-1]
    assert ev["message"] == ("a", "b") and ev["isError"] == 0 and ev["extra"] == 1
    assert ev["system"] == "-" and isinstance(ev["time"], float)
    assert log.textFromEventDict(ev) == "a b"

    log.err(ValueError("bad"), "why")
    ev = observed[-1]
    assert ev["isError"] == 1 and isinstance(ev["failure"], Failure) and ev["why"] == "why"
    text = log.textFromEventDict(ev)
    assert text is not None and text.startswith("why\n") and "ValueError" in text
    log.err(Failure(KeyError("k")))
    assert log.textFromEventDict(observed[-1]).startswith("Unhandled Error\n")  # type: ignore[union-attr]

    # New-style events reach legacy observers in legacy form.
    Logger(namespace="x").info("new {v}", v=7)
    ev = observed[-1]
    assert ev["message"] == () and log.textFromEventDict(ev) == "new 7" and ev["isError"] == 0
    Logger(namespace="x").error("boom")
    assert observed[-1]["isError"] == 1


def test_text_from_event_dict_edge_cases() -> None:
    assert log.textFromEventDict({"message": (), "isError": 0}) is None
    assert log.textFromEventDict({"message": (), "isError": 0, "format": "%(x)s", "x": 1}) == "1"
    bad = log.textFromEventDict({"message": (), "isError": 0, "format": "%(x)s"})
    assert bad is not None and "Invalid format string" in bad

    class BrokenStr:
        def __str__(self) -> str:
            raise RuntimeError("no")

    text = log.textFromEventDict({"message": (BrokenStr(),), "isError": 0})
    assert text is not None and "RuntimeError" in text


def test_file_log_observer_format() -> None:
    import io

    f = io.StringIO()
    obs = log.FileLogObserver(f)
    obs.timeFormat = "%Y"
    obs.emit({"message": ("one\ntwo",), "isError": 0, "system": "sys", "time": 0.0})
    obs.emit({"message": (), "isError": 0, "system": "sys", "time": 0.0})
    assert re.fullmatch(r"19\d\d \[sys\] one\n\ttwo\n", f.getvalue())
    obs2 = log.FileLogObserver(io.StringIO())
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4}", obs2.formatTime(0.0))


def test_python_logging_observer(caplog: pytest.LogCaptureFixture) -> None:
    obs = log.PythonLoggingObserver("glisten.test.legacy")
    obs.start()
    try:
        with caplog.at_level(logging.DEBUG, logger="glisten.test.legacy"):
            log.msg("info message")
            log.msg("debugging", logLevel=logging.DEBUG)
            log.err(ValueError("e"), "failed")
    finally:
        obs.stop()
    records = [
        (r.levelno, r.getMessage().splitlines()[0])
        for r in caplog.records
        if r.name == "glisten.test.legacy"
    ]
    assert (logging.INFO, "info message") in records
    assert (logging.DEBUG, "debugging") in records
    assert (logging.ERROR, "failed") in records


def test_legacy_logger_and_null_file() -> None:
    assert log.Logger().logPrefix() == "-"
    f = log.NullFile()
    f.write("x")
    assert f.read() == ""
    assert log.LogPublisher is log.LogPublisherLegacy
