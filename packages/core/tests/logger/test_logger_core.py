"""Logger, levels, publisher, filters and formatting."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.logger import (
    FilteringLogObserver,
    InvalidLogLevelError,
    LimitedHistoryLogObserver,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    LogPublisher,
    PredicateResult,
    capturedLogs,
    eventAsText,
    formatEvent,
    formatEventAsClassicLogText,
    formatTime,
    formatWithCall,
)


def collect() -> tuple[list[dict[str, Any]], LogPublisher]:
    events: list[dict[str, Any]] = []
    return events, LogPublisher(events.append)


def test_levels_order_and_lookup() -> None:
    assert LogLevel.debug < LogLevel.info < LogLevel.warn < LogLevel.error < LogLevel.critical
    assert LogLevel.levelWithName("warn") is LogLevel.warn
    assert list(LogLevel.iterconstants())[0] is LogLevel.debug
    with pytest.raises(InvalidLogLevelError):
        LogLevel.levelWithName("loud")


def test_emit_carries_structured_fields() -> None:
    events, pub = collect()
    log = Logger(observer=pub)
    log.info("hello {who}", who="world", extra=3)
    [event] = events
    assert event["who"] == "world"
    assert event["extra"] == 3
    assert event["log_level"] is LogLevel.info
    assert event["log_format"] == "hello {who}"
    assert event["log_namespace"] == __name__
    assert event["log_logger"] is log
    assert isinstance(event["log_time"], float)
    assert formatEvent(event) == "hello world"


@pytest.mark.parametrize("name", ["debug", "info", "warn", "error", "critical"])
def test_level_methods(name: str) -> None:
    events, pub = collect()
    getattr(Logger(observer=pub), name)("x")
    assert events[0]["log_level"] is LogLevel.levelWithName(name)


def test_invalid_level_reported_and_message_kept() -> None:
    events, pub = collect()
    Logger(observer=pub).emit("loud", "kept {x}", x=1)  # type: ignore[arg-type]
    assert len(events) == 2
    assert "invalid log level" in formatEvent(events[0]).lower()
    assert events[1]["log_level"] is LogLevel.error
    assert formatEvent(events[1]) == "kept 1"


class Thing:
    log = Logger()


def test_descriptor_binds_source_and_namespace() -> None:
    thing = Thing()
    assert thing.log.source is thing
    assert thing.log.namespace == f"{__name__}.Thing"
    assert Thing.log.source is Thing


def test_format_call_syntax_and_specs() -> None:
    calls: list[int] = []

    def expensive() -> int:
        calls.append(1)
        return 42

    assert formatWithCall("{v()} {w:>4} {w!r}", {"v": expensive, "w": "a"}) == "42    a 'a'"
    assert calls == [1]
    assert formatEvent({"log_format": "{a[0]}-{b.real}", "a": [7], "b": 3}) == "7-3"
    assert formatEvent({"log_format": "{x:{width}}|", "x": 1, "width": 3}) == "  1|"


def test_unformattable_events_do_not_raise() -> None:
    assert formatEvent({}) == ""
    assert "Unable to format event" in formatEvent({"log_format": "{missing}"})
    assert "Unable to format event" in formatEvent({"log_format": "{0}"})
    assert "Unable to format event" in formatEvent({"log_format": "{"})
    assert "Unable to format event" in formatEvent({"log_format": 7})

    class BadRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    text = formatEvent({"log_format": "{x!r}", "x": BadRepr()})
    assert "MESSAGE LOST" in text or "Unable to format" in text


@given(st.text(max_size=40), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
def test_formatEvent_never_raises(fmt: str, fields: dict[str, int]) -> None:
    event: dict[str, Any] = dict(fields)
    event["log_format"] = fmt
    assert isinstance(formatEvent(event), str)


def test_classic_text() -> None:
    event = {
        "log_format": "a\nb",
        "log_namespace": "ns",
        "log_level": LogLevel.warn,
        "log_time": 0.0,
    }
    text = formatEventAsClassicLogText(event, formatTime=lambda t: "T")
    assert text == "T [ns#warn] a\n\tb\n"
    assert formatEventAsClassicLogText({"log_format": ""}) is None
    assert eventAsText({"log_format": "m", "log_system": "sys"}, includeTimestamp=False) == (
        "[sys] m"
    )
    assert formatTime(None) == "-"
    assert formatTime(0.0, None) == "-"
    assert formatTime(86400.0, "%Y").startswith("1970")


def test_publisher_add_remove_and_broken_observer() -> None:
    events, pub = collect()
    with pytest.raises(TypeError):
        pub.addObserver(3)  # type: ignore[arg-type]
    seen: list[dict[str, Any]] = []
    pub.addObserver(seen.append)
    pub.addObserver(seen.append)
    pub({"log_format": "one"})
    assert len(seen) == 1
    pub.removeObserver(seen.append)
    pub.removeObserver(seen.append)
    pub({"log_format": "two"})
    assert len(seen) == 1 and len(events) == 2


def test_broken_observer_is_reported_to_the_others() -> None:
    events, pub = collect()

    def broken(event: dict[str, Any]) -> None:
        raise ValueError("observer bug")

    pub.addObserver(broken)
    pub({"log_format": "hello"})
    assert [formatEvent(e) for e in events][0] == "hello"
    report = events[1]
    assert report["log_level"] is LogLevel.critical
    assert "Temporarily disabling observer" in formatEvent(report)
    assert "observer bug" in eventAsText(report)


def test_trace() -> None:
    events, pub = collect()
    outer = LogPublisher(pub)
    trace: list[Any] = []
    Logger(observer=outer).info("t", log_trace=trace)
    assert (outer, pub) in trace
    assert trace[-1] == (pub, events.append)


def test_level_filter_by_namespace() -> None:
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)
    predicate.setLogLevelForNamespace("a.b", LogLevel.debug)
    assert predicate.logLevelForNamespace("a.b.c.d") is LogLevel.debug
    assert predicate.logLevelForNamespace("a") is LogLevel.warn
    assert predicate.logLevelForNamespace("a.bc") is LogLevel.warn
    with pytest.raises(InvalidLogLevelError):
        predicate.setLogLevelForNamespace("x", "loud")  # type: ignore[arg-type]
    events, pub = collect()
    dropped: list[dict[str, Any]] = []
    filtered = FilteringLogObserver(pub, [predicate], dropped.append)
    Logger("a.b.c", observer=filtered).debug("kept")
    Logger("a.x", observer=filtered).info("dropped")
    Logger("a.x", observer=filtered).error("kept too")
    filtered({"log_format": "no level"})
    assert [formatEvent(e) for e in events] == ["kept", "kept too"]
    assert len(dropped) == 2
    predicate.clearLogLevels()
    assert predicate.logLevelForNamespace("a.b") is LogLevel.warn


def test_filter_yes_short_circuits_and_bad_result_raises() -> None:
    events, pub = collect()
    observer = FilteringLogObserver(
        pub, [lambda e: PredicateResult.yes, lambda e: PredicateResult.no]
    )
    observer({"x": 1})
    assert len(events) == 1
    bad = FilteringLogObserver(pub, [lambda e: True])  # type: ignore[list-item,return-value]
    with pytest.raises(TypeError):
        bad({})


def test_limited_history() -> None:
    history = LimitedHistoryLogObserver(size=3)
    for i in range(5):
        history({"i": i})
    seen: list[dict[str, Any]] = []
    history.replayTo(seen.append)
    assert [e["i"] for e in seen] == [2, 3, 4]


def test_capturedLogs() -> None:
    log = Logger()
    with capturedLogs(level=LogLevel.info) as events:
        log.debug("hidden")
        log.info("shown {n}", n=1)
    log.info("after")
    assert [formatEvent(e) for e in events] == ["shown 1"]
