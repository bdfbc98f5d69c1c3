"""Log beginner, text and JSON files, stdlib bridge."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.logger import (
    LogBeginner,
    Logger,
    LoggingFile,
    LogLevel,
    LogPublisher,
    STDLibLogHandler,
    STDLibLogObserver,
    eventAsJSON,
    eventFromJSON,
    eventsFromJSONLogFile,
    formatEvent,
    jsonFileLogObserver,
    textFileLogObserver,
)


class FakeStdio:
    def __init__(self) -> None:
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()


class FakeWarnings:
    def __init__(self) -> None:
        self.shown: list[tuple[Any, ...]] = []

    def showwarning(self, *args: Any) -> None:
        self.shown.append(args)


def makeBeginner(size: int | None = None) -> tuple[LogBeginner, LogPublisher, io.StringIO, Any]:
    publisher = LogPublisher()
    errors = io.StringIO()
    stdio = FakeStdio()
    beginner = LogBeginner(publisher, errors, stdio, FakeWarnings(), initialBufferSize=size)
    return beginner, publisher, errors, stdio


def test_early_events_are_buffered_and_replayed() -> None:
    beginner, publisher, errors, _ = makeBeginner()
    log = Logger(observer=publisher)
    log.info("early {n}", n=1)
    log.critical("early critical")
    assert errors.getvalue() == "early critical\n"
    events: list[dict[str, Any]] = []
    beginner.beginLoggingTo([events.append], redirectStandardIO=False)
    log.info("late")
    assert [formatEvent(e) for e in events] == ["early 1", "early critical", "late"]
    # After logging began, critical events no longer go to the error stream.
    log.critical("again")
    assert errors.getvalue() == "early critical\n"


def test_buffer_is_bounded_and_discardable() -> None:
    beginner, publisher, _, _ = makeBeginner(size=2)
    log = Logger(observer=publisher)
    for i in range(5):
        log.info("{i}", i=i)
    events: list[dict[str, Any]] = []
    beginner.beginLoggingTo([events.append], redirectStandardIO=False)
    assert [formatEvent(e) for e in events] == ["3", "4"]

    beginner2, publisher2, _, _ = makeBeginner()
    Logger(observer=publisher2).info("gone")
    events2: list[dict[str, Any]] = []
    beginner2.beginLoggingTo([events2.append], discardBuffer=True, redirectStandardIO=False)
    assert events2 == []


def test_begin_twice_warns() -> None:
    beginner, _, _, _ = makeBeginner()
    events: list[dict[str, Any]] = []
    beginner.beginLoggingTo([events.append], redirectStandardIO=False)
    beginner.beginLoggingTo([], redirectStandardIO=False)
    assert "primary log target selected twice" in formatEvent(events[-1])
    assert events[-1]["log_level"] is LogLevel.warn


def test_redirected_stdio_and_warnings() -> None:
    beginner, _, _, stdio = makeBeginner()
    events: list[dict[str, Any]] = []
    beginner.beginLoggingTo([events.append])
    print("printed line", file=stdio.stdout)
    stdio.stderr.write("partial")
    assert len(events) == 1
    stdio.stderr.write(" line\n")
    assert [(formatEvent(e), e["log_level"]) for e in events] == [
        ("printed line", LogLevel.info),
        ("partial line", LogLevel.error),
    ]
    beginner.showwarning(UserWarning("careful"), UserWarning, "f.py", 3)
    assert "f.py:3: builtins.UserWarning: careful" == formatEvent(events[-1])


def test_logging_file_reentrancy_goes_to_fallback() -> None:
    fallback = io.StringIO()
    publisher = LogPublisher()
    f = LoggingFile(Logger(observer=publisher), fallback=fallback)
    publisher.addObserver(lambda e: f.write("from observer\n"))
    f.write(b"bytes line\n")
    assert fallback.getvalue() == "from observer\n"
    f.write("tail")
    f.close()
    with pytest.raises(ValueError):
        f.write("x")


def test_text_file_observer() -> None:
    out = io.StringIO()
    observer = textFileLogObserver(out, timeFormat=None)
    Logger("ns", observer=observer).warn("line {n}\nsecond", n=1)
    assert out.getvalue() == "- [ns#warn] line 1\n\tsecond\n"


def roundTrip(events: list[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    observer = jsonFileLogObserver(out, **kw)
    for event in events:
        observer(event)
    return list(eventsFromJSONLogFile(io.StringIO(out.getvalue())))


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


def test_json_round_trip_keeps_the_message_and_fields() -> None:
    events: list[dict[str, Any]] = []
    log = Logger("app.web", observer=events.append)
    log.info("{peer!r} asked for {path:>6} ({obj})", peer="1.2.3.4", path="/x", obj=Opaque(), n=5)
    [loaded] = roundTrip(events)
    assert formatEvent(loaded) == formatEvent(events[0]) == "'1.2.3.4' asked for     /x (<opaque>)"
    assert loaded["log_level"] is LogLevel.info
    assert loaded["log_namespace"] == "app.web"
    assert loaded["n"] == 5
    assert loaded["obj"] == {"unpersistable": True, "repr": "<opaque>"}
    assert loaded["log_time"] == events[0]["log_time"]


def test_json_newline_delimited_and_byte_at_a_time() -> None:
    events = [{"log_format": "m{i}", "i": i, "log_level": LogLevel.warn} for i in range(3)]
    out = io.StringIO()
    observer = jsonFileLogObserver(out, recordSeparator="")
    for event in events:
        observer(event)
    assert "\x1e" not in out.getvalue()
    for line in out.getvalue().splitlines():
        json.loads(line)
    loaded = list(eventsFromJSONLogFile(io.StringIO(out.getvalue()), bufferSize=1))
    assert [formatEvent(e) for e in loaded] == ["m0", "m1", "m2"]
    out2 = io.StringIO()
    observer2 = jsonFileLogObserver(out2)
    for event in events:
        observer2(event)
    loaded2 = list(eventsFromJSONLogFile(io.StringIO(out2.getvalue()), bufferSize=1))
    assert [formatEvent(e) for e in loaded2] == ["m0", "m1", "m2"]


def test_json_damaged_records_are_skipped_and_reported() -> None:
    from glisten.logger import capturedLogs

    good = eventAsJSON({"log_format": "good"})
    text = f"\x1e{good}\n\x1e{{broken\n\x1e{good}"  # a bad record, then a truncated one
    with capturedLogs() as reports:
        loaded = list(eventsFromJSONLogFile(io.StringIO(text)))
    assert [formatEvent(e) for e in loaded] == ["good"]
    messages = [formatEvent(r) for r in reports]
    assert any("Unable to read JSON record" in m for m in messages)
    assert any("truncated" in m for m in messages)
    with capturedLogs() as reports:
        big = list(
            eventsFromJSONLogFile(
                io.StringIO("x" * 100 + "\n" + good + "\n"), maxRecordSize=50, bufferSize=10
            )
        )
    assert [formatEvent(e) for e in big] == ["good"]
    assert any("larger than" in formatEvent(r) for r in reports)
    with pytest.raises(ValueError):
        eventFromJSON("[1]")
    assert list(eventsFromJSONLogFile(io.StringIO(""))) == []


def test_json_survives_circular_fields() -> None:
    loop: list[Any] = []
    loop.append(loop)
    loaded = eventFromJSON(eventAsJSON({"log_format": "c {x}", "x": loop}))
    assert formatEvent(loaded) == "c [[...]]"


@settings(max_examples=60)
@given(st.text(max_size=200))
def test_json_reader_never_raises(text: str) -> None:
    from glisten.logger import capturedLogs

    with capturedLogs():
        for event in eventsFromJSONLogFile(io.StringIO(text), bufferSize=7):
            assert isinstance(event, dict)


def test_stdlib_observer_and_handler_without_loops() -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    stdlibLogger = logging.getLogger("glisten-test-bridge")
    stdlibLogger.setLevel(logging.DEBUG)
    stdlibLogger.propagate = False
    collector = Collect()
    stdlibLogger.addHandler(collector)
    events: list[dict[str, Any]] = []
    publisher = LogPublisher(events.append)
    publisher.addObserver(STDLibLogObserver(name="glisten-test-bridge"))
    bridge = STDLibLogHandler(observer=publisher)
    stdlibLogger.addHandler(bridge)
    try:
        Logger("ns", observer=publisher).warn("from glisten {x}", x=1)
        stdlibLogger.error("from stdlib %d", 2)
    finally:
        stdlibLogger.removeHandler(collector)
        stdlibLogger.removeHandler(bridge)
    assert [r.getMessage() for r in records] == ["from glisten 1", "from stdlib 2"]
    assert records[0].levelno == logging.WARNING
    assert [formatEvent(e) for e in events] == ["from glisten 1", "from stdlib 2"]
    assert events[1]["log_level"] is LogLevel.error
    assert events[1]["log_namespace"] == "glisten-test-bridge"


@pytest.mark.parametrize(
    ("timeFormat", "distinct"), [("%Y-%m-%d %H:%M:%S", 2), ("%H:%M:%S.%f", 3), (None, 1)]
)
def test_text_file_time_rendered_once_a_second(timeFormat: str | None, distinct: int) -> None:
    """The observer renders each second's time once, unless the format shows fractions."""
    out = io.StringIO()
    observer = textFileLogObserver(out, timeFormat=timeFormat)
    for when in (1_000_000.25, 1_000_000.75, 1_000_001.5):
        observer({"log_format": "x", "log_time": when, "log_system": "s"})
    stamps = [line.split(" [s] ")[0] for line in out.getvalue().splitlines()]
    assert len(stamps) == 3 and len(set(stamps)) == distinct
