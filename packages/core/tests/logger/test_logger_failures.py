"""Failures in events, and the legacy glisten.python.log API."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

from glisten.logger import (
    Logger,
    LogLevel,
    LogPublisher,
    STDLibLogHandler,
    STDLibLogObserver,
    eventAsText,
    eventsFromJSONLogFile,
    formatEvent,
    jsonFileLogObserver,
    textFileLogObserver,
)
from glisten.python import log as legacy
from glisten.python.failure import Failure


def raiseBoom() -> None:
    raise ZeroDivisionError("boom")


def test_failure_captures_current_exception_with_traceback() -> None:
    events: list[dict[str, Any]] = []
    log = Logger(observer=events.append)
    try:
        raiseBoom()
    except ZeroDivisionError:
        log.failure("while doing {what}", what="math")
    [event] = events
    assert event["log_level"] is LogLevel.critical
    assert isinstance(event["log_failure"], Failure)
    text = eventAsText(event, includeTimestamp=False, includeSystem=False)
    assert text.startswith("while doing math\n")
    assert "raiseBoom" in text and "ZeroDivisionError: boom" in text
    out = io.StringIO()
    textFileLogObserver(out)(event)
    assert "\tTraceback" in out.getvalue() or "\t" in out.getvalue()


def test_failure_explicit_and_level() -> None:
    events: list[dict[str, Any]] = []
    Logger(observer=events.append).failure(
        "Unhandled error in Deferred:", failure=Failure(ValueError("v")), level=LogLevel.error
    )
    assert events[0]["log_level"] is LogLevel.error
    assert "ValueError: v" in eventAsText(events[0])


def test_failure_json_round_trip() -> None:
    out = io.StringIO()
    log = Logger(observer=jsonFileLogObserver(out))
    try:
        raiseBoom()
    except ZeroDivisionError:
        log.failure("oops")
    [loaded] = list(eventsFromJSONLogFile(io.StringIO(out.getvalue())))
    assert loaded["log_failure"]["type"] == "builtins.ZeroDivisionError"
    assert loaded["log_failure"]["value"] == "boom"
    text = eventAsText(loaded, includeTimestamp=False, includeSystem=False)
    assert text.startswith("oops\n") and "raiseBoom" in text


def test_stdlib_observer_passes_exc_info() -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    target = logging.getLogger("glisten-test-excinfo")
    target.propagate = False
    handler = Collect()
    target.addHandler(handler)
    try:
        Logger(observer=STDLibLogObserver("glisten-test-excinfo")).failure(
            "bad", failure=Failure(KeyError("k"))
        )
    finally:
        target.removeHandler(handler)
    [record] = records
    assert record.levelno == logging.CRITICAL
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)


def test_stdlib_handler_turns_exceptions_into_failures() -> None:
    events: list[dict[str, Any]] = []
    source = logging.getLogger("glisten-test-handler")
    source.propagate = False
    handler = STDLibLogHandler(observer=LogPublisher(events.append))
    source.addHandler(handler)
    try:
        try:
            raiseBoom()
        except ZeroDivisionError:
            source.exception("caught")
    finally:
        source.removeHandler(handler)
    [event] = events
    assert formatEvent(event) == "caught"
    assert "ZeroDivisionError: boom" in eventAsText(event)


def test_legacy_msg_err_and_observers() -> None:
    legacyEvents: list[dict[str, Any]] = []
    newEvents: list[dict[str, Any]] = []
    from glisten.logger import globalLogPublisher

    globalLogPublisher.addObserver(newEvents.append)
    legacy.addObserver(legacyEvents.append)
    try:
        legacy.msg("hello", "there", system="sys")
        try:
            raiseBoom()
        except ZeroDivisionError:
            legacy.err(None, "context")
        legacy.err(KeyError("k"))
        Logger("modern").warn("new {x}", x=1)
        legacy.callWithLogger(_Prefixed(), raiseBoom)
    finally:
        legacy.removeObserver(legacyEvents.append)
        globalLogPublisher.removeObserver(newEvents.append)
    assert legacyEvents[0]["message"] == ("hello", "there")
    assert legacyEvents[0]["system"] == "sys" and legacyEvents[0]["isError"] == 0
    assert legacy.textFromEventDict(legacyEvents[0]) == "hello there"
    assert formatEvent(newEvents[0]) == "hello there"
    assert newEvents[0]["log_system"] == "sys"
    assert legacyEvents[1]["isError"] == 1 and legacyEvents[1]["why"] == "context"
    assert "ZeroDivisionError" in (legacy.textFromEventDict(legacyEvents[1]) or "")
    assert newEvents[1]["log_level"] is LogLevel.critical
    assert "context\n" in eventAsText(newEvents[1])
    assert isinstance(legacyEvents[2]["failure"], Failure)
    assert legacy.textFromEventDict(legacyEvents[3]) == "new 1"
    assert legacyEvents[3]["isError"] == 0
    assert legacyEvents[4]["system"] == "prefix" and legacyEvents[4]["isError"] == 1


class _Prefixed:
    def logPrefix(self) -> str:
        return "prefix"


def test_legacy_file_observer() -> None:
    out = io.StringIO()
    observer = legacy.FileLogObserver(out)
    observer.emit({"message": ("a", "b"), "time": 0.0, "system": "s", "isError": 0})
    observer.emit({"message": (), "time": 0.0, "system": "s", "isError": 0})
    assert out.getvalue().endswith(" [s] a b\n")
    assert out.getvalue().count("\n") == 1


def test_failuresHandled_and_failureHandler() -> None:
    events: list[dict[str, Any]] = []
    log = Logger(observer=events.append)
    with log.failuresHandled("doing {what}", what="x") as op:
        raiseBoom()
    assert op.failed and not op.succeeded
    assert op.failure is not None and op.failure.check(ZeroDivisionError)
    assert formatEvent(events[0]) == "doing x"
    with log.failuresHandled("fine") as ok:
        pass
    assert ok.succeeded and not ok.failed and len(events) == 1
    handler = log.failureHandler("handled", LogLevel.error)
    with handler:
        raiseBoom()
    with handler:
        pass
    assert len(events) == 2 and events[1]["log_level"] is LogLevel.error
    assert "ZeroDivisionError" in eventAsText(events[1])
    # As Twisted's: KeyboardInterrupt is logged and swallowed too.
    with handler:
        raise KeyboardInterrupt()
    assert len(events) == 3 and events[2]["log_failure"].check(KeyboardInterrupt)


def test_extractField() -> None:
    from glisten.logger import extractField, flattenEvent

    event: dict[str, Any] = {"log_format": "{a.real} {b[0]}", "a": 3, "b": ["x"]}
    assert extractField("a.real", event) == 3
    assert extractField("b[0]", event) == "x"
    flattenEvent(event)
    assert event["log_flattened"] == {
        "a.real!s:": "3",
        "a.real!:": 3,
        "b[0]!s:": "x",
        "b[0]!:": "x",
    }
    with pytest.raises(KeyError):
        extractField("missing", {"log_format": "{missing}"})


def test_extractField_after_json_keeps_values(tmp_path: Any) -> None:
    import io

    from glisten.logger import (
        Logger,
        LogPublisher,
        eventAsText,
        eventsFromJSONLogFile,
        extractField,
        formatEvent,
        jsonFileLogObserver,
    )

    class Source:
        a = 3
        b = 4

        def __repr__(self) -> str:
            return "<Source>"

    out = io.StringIO()
    publisher = LogPublisher(jsonFileLogObserver(out))
    log = Logger(observer=publisher, source=Source())
    log.info("a={log_source.a} b={log_source.b!r:>4} f={f()} name={name}", f=lambda: 7, name="n")
    events = list(eventsFromJSONLogFile(io.StringIO(out.getvalue())))
    assert len(events) == 1
    event = events[0]
    a = extractField("log_source.a", event)
    b = extractField("log_source.b", event)
    assert (a, b) == (3, 4) and a + b == 7
    assert extractField("f()", event) == 7 and extractField("name", event) == "n"
    assert formatEvent(event) == "a=3 b=   4 f=7 name=n"
    assert "a=3 b=   4" in eventAsText(event)


def test_json_circular_value_still_written() -> None:
    from glisten.logger import eventAsJSON, eventFromJSON, formatEvent

    loop: list[Any] = []
    loop.append(loop)
    event = {"log_format": "x={x}", "x": loop, "log_namespace": "n", "log_time": 0.0}
    back = eventFromJSON(eventAsJSON(event))
    assert formatEvent(back) == "x=[[...]]"


def test_old_flattened_keys_still_render() -> None:
    from glisten.logger import extractField, formatEvent

    event = {"log_format": "{a} {b!r}", "log_flattened": {"a": "3", "b!r": "'x'"}}
    assert formatEvent(event) == "3 'x'"
    assert extractField("a", event) == "3"
