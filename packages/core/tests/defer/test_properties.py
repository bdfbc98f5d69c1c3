"""Property tests: any chain gives the same outcome whenever the Deferred fires, and matches
a plain model of the callback/errback semantics."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from glisten.internet.defer import Deferred, succeed
from glisten.python.failure import Failure

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("cb"), st.integers(-5, 5)),
        st.tuples(st.just("cbraise"), st.just(0)),
        st.tuples(st.just("cbfail"), st.just(0)),
        st.tuples(st.just("cbdeferred"), st.integers(-5, 5)),
        st.tuples(st.just("eb"), st.integers(-5, 5)),
        st.tuples(st.just("ebpass"), st.just(0)),
        st.tuples(st.just("ebraise"), st.just(0)),
        st.tuples(st.just("both"), st.integers(-5, 5)),
        st.tuples(st.just("pair"), st.integers(-5, 5)),
    ),
    max_size=12,
)


def _model(start: tuple[str, Any], ops: list[tuple[str, int]]) -> tuple[str, Any]:
    state, value = start
    for op, k in ops:
        if state == "ok":
            if op in ("cb", "cbdeferred", "pair"):
                value = value + k
            elif op == "cbraise":
                state, value = "fail", ValueError
            elif op == "cbfail":
                state, value = "fail", KeyError
            elif op == "both":
                value = k
        else:
            if op in ("eb", "pair"):
                state, value = "ok", k * 100
            elif op == "ebraise":
                value = TypeError
            elif op == "both":
                state, value = "ok", k
    return state, value


def _add(d: Deferred[Any], op: str, k: int) -> None:
    if op == "cb":
        d.addCallback(lambda r: r + k)
    elif op == "cbraise":
        d.addCallback(lambda r: (_ for _ in ()).throw(ValueError(r)))
    elif op == "cbfail":
        d.addCallback(lambda r: Failure(KeyError(r)))
    elif op == "cbdeferred":
        d.addCallback(lambda r: succeed(r + k))
    elif op == "eb":
        d.addErrback(lambda f: k * 100)
    elif op == "ebpass":
        d.addErrback(lambda f: f)
    elif op == "ebraise":
        d.addErrback(lambda f: (_ for _ in ()).throw(TypeError()))
    elif op == "both":
        d.addBoth(lambda r: k)
    elif op == "pair":
        d.addCallbacks(lambda r: r + k, lambda f: k * 100)


def _outcome(d: Deferred[Any]) -> tuple[str, Any]:
    result = d.result
    if isinstance(result, Failure):
        d.addErrback(lambda f: None)
        return "fail", result.type
    return "ok", result


def _fire(d: Deferred[Any], start: tuple[str, Any]) -> None:
    if start[0] == "ok":
        d.callback(start[1])
    else:
        d.errback(start[1]())


@given(
    start=st.one_of(
        st.tuples(st.just("ok"), st.integers(-5, 5)),
        st.tuples(st.just("fail"), st.sampled_from([OSError, LookupError])),
    ),
    ops=_ops,
    data=st.data(),
)
def test_chainMatchesModelWheneverFired(
    start: tuple[str, Any], ops: list[tuple[str, int]], data: Any
) -> None:
    expected = _model(start, ops)
    fireAt = data.draw(st.integers(0, len(ops)))
    d: Deferred[Any] = Deferred()
    for i, (op, k) in enumerate(ops):
        if i == fireAt:
            _fire(d, start)
        _add(d, op, k)
    if fireAt == len(ops):
        _fire(d, start)
    assert _outcome(d) == expected


@given(ops=_ops, pauseAt=st.integers(0, 12))
def test_pausedChainGivesTheSameOutcome(ops: list[tuple[str, int]], pauseAt: int) -> None:
    expected = _model(("ok", 1), ops)
    d: Deferred[Any] = Deferred()
    d.callback(1)
    for i, (op, k) in enumerate(ops):
        if i == pauseAt:
            d.pause()
        _add(d, op, k)
    if d.paused:
        d.unpause()
    assert _outcome(d) == expected


@given(ops=_ops)
def test_nestedDeferredGivesTheSameOutcome(ops: list[tuple[str, int]]) -> None:
    expected = _model(("ok", 1), ops)
    inner: Deferred[Any] = Deferred()
    outer = succeed(None)
    outer.addCallback(lambda _: inner)
    for op, k in ops:
        _add(outer, op, k)
    inner.callback(1)
    assert _outcome(outer) == expected
