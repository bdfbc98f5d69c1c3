"""The fast paths of the event pipeline keep the documented semantics.

Every log event (an HTTP server's access log writes one per request) goes through
``Logger.emit``, one or two :class:`LogPublisher` objects and usually a
:class:`FilteringLogObserver` with one :class:`LogLevelFilterPredicate`; those paths avoid
per-event allocations and repeated work. These tests pin down that they still behave as the
general code does: filtered events never reach the observer, the others reach every observer
as the very same dictionary, observers added or removed during delivery take effect from the
next event, and cached per-namespace levels follow every change.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from glisten.logger import (
    FilteringLogObserver,
    LimitedHistoryLogObserver,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    LogPublisher,
    PredicateResult,
)

LogEvent = dict[str, Any]


def test_filtered_events_never_reach_the_observer() -> None:
    passed: list[LogEvent] = []
    dropped: list[LogEvent] = []
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)
    observer = FilteringLogObserver(passed.append, [predicate], dropped.append)
    log = Logger(namespace="app.web", observer=observer)
    log.debug("d")
    log.info("i")
    log.warn("w")
    log.error("e")
    log.critical("c")
    assert [e["log_format"] for e in passed] == ["w", "e", "c"]
    assert [e["log_format"] for e in dropped] == ["d", "i"]


def test_filtered_events_without_negative_observer_are_dropped() -> None:
    passed: list[LogEvent] = []
    observer = FilteringLogObserver(passed.append, [LogLevelFilterPredicate(LogLevel.error)])
    Logger(namespace="x", observer=observer).info("quiet")
    Logger(namespace="x", observer=observer).error("loud")
    assert [e["log_format"] for e in passed] == ["loud"]


def test_observers_receive_the_identical_event() -> None:
    first: list[LogEvent] = []
    second: list[LogEvent] = []
    filtered: list[LogEvent] = []
    inner = LogPublisher(
        first.append,
        FilteringLogObserver(filtered.append, [LogLevelFilterPredicate(LogLevel.info)]),
    )
    outer = LogPublisher(inner, second.append)
    Logger(namespace="n", observer=outer).info("hello {who}", who="world")
    assert len(first) == len(second) == len(filtered) == 1
    assert first[0] is second[0] is filtered[0]
    event = first[0]
    assert event["who"] == "world"
    assert event["log_format"] == "hello {who}"
    assert event["log_level"] is LogLevel.info
    assert event["log_namespace"] == "n"
    assert isinstance(event["log_time"], float)


def test_emit_overrides_caller_log_keys() -> None:
    events: list[LogEvent] = []
    log = Logger(namespace="right", observer=events.append)
    log.emit(LogLevel.warn, "f", log_namespace="wrong", log_level="wrong", other=1)
    [event] = events
    assert event["log_namespace"] == "right"
    assert event["log_level"] is LogLevel.warn
    assert event["log_logger"] is log
    assert event["other"] == 1


def test_cached_level_follows_changes() -> None:
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)

    def verdict(namespace: str | None, level: LogLevel) -> PredicateResult:
        return predicate({"log_namespace": namespace, "log_level": level})

    no, maybe = PredicateResult.no, PredicateResult.maybe
    assert verdict("a.b.c", LogLevel.debug) is no
    assert verdict("a.b.c", LogLevel.info) is maybe
    predicate.setLogLevelForNamespace("a.b", LogLevel.error)
    assert verdict("a.b.c", LogLevel.warn) is no
    assert verdict("a.b.c", LogLevel.error) is maybe
    assert verdict("a.x", LogLevel.info) is maybe
    predicate.setLogLevelForNamespace("a.b.c", LogLevel.debug)
    assert verdict("a.b.c", LogLevel.debug) is maybe
    assert verdict("a.b", LogLevel.warn) is no
    predicate.setLogLevelForNamespace(None, LogLevel.critical)
    assert verdict(None, LogLevel.error) is no
    assert verdict("z", LogLevel.error) is no
    predicate.clearLogLevels()
    assert verdict("a.b.c", LogLevel.debug) is no
    assert verdict("a.b", LogLevel.warn) is maybe
    assert verdict(None, LogLevel.info) is maybe


def test_level_cache_is_bounded() -> None:
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)
    predicate.setLogLevelForNamespace("hot", LogLevel.error)
    for i in range(3 * LogLevelFilterPredicate._CACHE_SIZE):
        assert predicate({"log_namespace": f"n{i}", "log_level": LogLevel.info}) is (
            PredicateResult.maybe
        )
    assert len(predicate._rankCache) <= LogLevelFilterPredicate._CACHE_SIZE
    assert predicate({"log_namespace": "hot.x", "log_level": LogLevel.warn}) is (PredicateResult.no)


def test_predicate_refuses_missing_or_bad_level() -> None:
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.debug)
    assert predicate({"log_namespace": "a"}) is PredicateResult.no
    assert predicate({"log_namespace": "a", "log_level": 4}) is PredicateResult.no
    assert predicate({"log_namespace": "a", "log_level": "critical"}) is PredicateResult.no
    assert predicate({"log_level": LogLevel.debug}) is PredicateResult.maybe


@pytest.mark.parametrize("count", [1, 2])
def test_invalid_predicate_result_is_an_error(count: int) -> None:
    def bad(event: LogEvent) -> Any:
        return True

    def maybe(event: LogEvent) -> PredicateResult:
        return PredicateResult.maybe

    observer = FilteringLogObserver(lambda e: None, [maybe] * (count - 1) + [bad])
    with pytest.raises(TypeError):
        observer({"log_level": LogLevel.info})


def test_predicate_yes_passes_without_asking_further() -> None:
    asked: list[str] = []

    def yes(event: LogEvent) -> PredicateResult:
        asked.append("yes")
        return PredicateResult.yes

    def no(event: LogEvent) -> PredicateResult:
        asked.append("no")
        return PredicateResult.no

    passed: list[LogEvent] = []
    FilteringLogObserver(passed.append, [yes])({"x": 1})
    FilteringLogObserver(passed.append, [yes, no])({"x": 2})
    assert [e["x"] for e in passed] == [1, 2]
    assert asked == ["yes", "yes"]


def test_observer_changes_during_delivery_apply_to_the_next_event() -> None:
    publisher = LogPublisher()
    late: list[LogEvent] = []
    seenByRemoved: list[LogEvent] = []

    def removed(event: LogEvent) -> None:
        seenByRemoved.append(event)

    def changer(event: LogEvent) -> None:
        publisher.addObserver(late.append)
        publisher.removeObserver(removed)

    publisher.addObserver(changer)
    publisher.addObserver(removed)
    publisher({"n": 1})
    assert seenByRemoved == [{"n": 1}]
    assert late == []
    publisher({"n": 2})
    assert seenByRemoved == [{"n": 1}]
    assert late == [{"n": 2}]
    assert publisher.observers == [changer, late.append]


def test_broken_observer_does_not_stop_delivery() -> None:
    good: list[LogEvent] = []

    def broken(event: LogEvent) -> None:
        raise RuntimeError("observer bug")

    publisher = LogPublisher(broken, good.append)
    event: LogEvent = {"log_format": "x", "log_level": LogLevel.info}
    publisher(event)
    assert good[0] is event
    [report] = good[1:]
    assert report["observer"] is broken
    assert report["log_original_event"] is event


def test_trace_passes_through_publishers_and_filters() -> None:
    sink: list[LogEvent] = []
    filtering = FilteringLogObserver(sink.append, [LogLevelFilterPredicate(LogLevel.info)])
    inner = LogPublisher(filtering)
    outer = LogPublisher(inner)
    log = Logger(namespace="t", observer=outer)
    trace: list[Any] = []
    log.info("traced", log_trace=trace)
    assert trace == [
        (log, outer),
        (outer, inner),
        (inner, filtering),
        (filtering, sink.append),
    ]


def test_levels_as_keys_compare_and_pickle() -> None:
    ranks = {level: level.value for level in LogLevel}
    assert ranks[LogLevel.warn] == 2
    assert len({LogLevel.info, LogLevel.info, LogLevel.error}) == 2
    assert LogLevel.info <= LogLevel.info < LogLevel.warn
    assert LogLevel.critical >= LogLevel.error > LogLevel.debug
    with pytest.raises(TypeError):
        assert LogLevel.info < 3
    assert pickle.loads(pickle.dumps(LogLevel.error)) is LogLevel.error


class _Owner:
    log = Logger()


class _CountingLogger(Logger):
    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _CountingLogger.made += 1
        super().__init__(*args, **kwargs)


class _SubclassOwner:
    log = _CountingLogger(observer=lambda event: None)


def test_logger_bound_to_instance_and_class() -> None:
    owner = _Owner()
    bound = owner.log
    assert type(bound) is Logger
    assert bound.namespace == f"{__name__}._Owner"
    assert bound.source is owner
    assert _Owner.log.source is _Owner
    events: list[LogEvent] = []
    Logger(observer=events.append).__get__(owner, _Owner).info("hi")
    assert events[0]["log_source"] is owner
    assert events[0]["log_namespace"] == f"{__name__}._Owner"


def test_logger_subclass_binding_uses_its_init() -> None:
    before = _CountingLogger.made
    bound = _SubclassOwner().log
    assert type(bound) is _CountingLogger
    assert _CountingLogger.made == before + 1
    assert bound.namespace == f"{__name__}._SubclassOwner"


def test_history_buffer_in_a_publisher_records_and_replays() -> None:
    history = LimitedHistoryLogObserver(size=2)
    publisher = LogPublisher(history)
    for n in range(3):
        publisher({"n": n})
    assert [e["n"] for e in history.events()] == [1, 2]
    publisher.removeObserver(history)
    publisher({"n": 3})
    assert len(history) == 2
    assert publisher.observers == []


class _BrokenHistory(LimitedHistoryLogObserver):
    def __call__(self, event: LogEvent) -> None:
        raise RuntimeError("broken buffer")


def test_broken_observer_is_reported_as_itself() -> None:
    good: list[LogEvent] = []
    broken = _BrokenHistory()
    history = LimitedHistoryLogObserver()
    publisher = LogPublisher(history, broken, good.append)
    publisher({"log_format": "x"})
    [event, report] = good
    assert report["observer"] is broken
    assert len(history) == 2


def test_subclass_level_lookup_is_asked_every_time() -> None:
    class Moody(LogLevelFilterPredicate):
        current = LogLevel.debug

        def logLevelForNamespace(self, namespace: str | None) -> LogLevel:
            return self.current

    predicate = Moody()
    event: LogEvent = {"log_namespace": "a", "log_level": LogLevel.info}
    assert predicate(event) is PredicateResult.maybe
    predicate.current = LogLevel.error
    assert predicate(event) is PredicateResult.no
