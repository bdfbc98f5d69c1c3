"""glisten.python.failure.Failure."""

from __future__ import annotations

import io
import logging
import pickle
import sys
import traceback
from collections.abc import Generator
from typing import Any

import pytest

from glisten.python.failure import (
    DefaultException,
    Failure,
    NoCurrentExceptionError,
    format_frames,
)


class MyError(ValueError):
    pass


class BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def _raiser() -> None:
    raise MyError("deep")


def _caught() -> Failure:
    try:
        _raiser()
    except MyError:
        return Failure()
    raise AssertionError("not reached")


# -- creation -------------------------------------------------------------------------------


def test_fromCurrentException() -> None:
    f = _caught()
    assert f.type is MyError
    assert isinstance(f.value, MyError)
    assert f.tb is not None
    names = [frame[0] for frame in f.frames]
    assert names == ["_caught", "_raiser"]


def test_noCurrentException() -> None:
    with pytest.raises(NoCurrentExceptionError):
        Failure()


def test_fromExceptionWithoutTraceback() -> None:
    e = KeyError("k")
    f = Failure(e)
    assert f.value is e
    assert f.type is KeyError
    assert f.tb is None
    assert f.frames == []


def test_fromRaisedExceptionKeepsItsTraceback() -> None:
    try:
        _raiser()
    except MyError as e:
        err = e
    f = Failure(err)
    assert [frame[0] for frame in f.frames] == [
        "test_fromRaisedExceptionKeepsItsTraceback",
        "_raiser",
    ]


def test_explicitTypeAndTraceback() -> None:
    try:
        _raiser()
    except MyError:
        _, value, tb = sys.exc_info()
    assert value is not None
    f = Failure(value, ValueError, tb)
    assert f.type is ValueError
    assert f.tb is tb


def test_copyOfFailure() -> None:
    original = _caught()
    copy = Failure(original)
    assert copy.value is original.value
    assert copy.type is original.type
    assert copy.tb is original.tb
    assert copy.count != original.count


@pytest.mark.parametrize("bad", ["a string", ValueError, 3])
def test_rejectsNonExceptions(bad: Any) -> None:
    with pytest.raises(TypeError):
        Failure(bad)


def test_countsAreUnique() -> None:
    counts = {Failure(ValueError()).count for _ in range(100)}
    assert len(counts) == 100


def test_defaultException() -> None:
    assert issubclass(DefaultException, Exception)


# -- check and trap -------------------------------------------------------------------------


def test_checkExactAndBaseClasses() -> None:
    f = Failure(MyError())
    assert f.check(MyError) is MyError
    assert f.check(KeyError, ValueError) is ValueError
    assert f.check(Exception) is Exception
    assert f.check(KeyError, TypeError) is None


def test_checkByQualifiedName() -> None:
    f = Failure(KeyError())
    assert f.check("builtins.KeyError") == "builtins.KeyError"
    assert f.check("builtins.LookupError") == "builtins.LookupError"
    assert f.check("builtins.ValueError") is None


def test_parents() -> None:
    f = Failure(KeyError())
    assert f.parents == [
        "builtins.KeyError",
        "builtins.LookupError",
        "builtins.Exception",
        "builtins.BaseException",
        "builtins.object",
    ]


def test_trapReturnsMatch() -> None:
    f = Failure(MyError())
    assert f.trap(KeyError, ValueError) is ValueError


def test_trapReraisesOriginalException() -> None:
    f = _caught()
    with pytest.raises(MyError) as info:
        f.trap(KeyError)
    assert info.value is f.value
    # The original frames are still in the traceback.
    assert "_raiser" in "".join(traceback.format_tb(info.value.__traceback__))


# -- messages and tracebacks ----------------------------------------------------------------


def test_getErrorMessage() -> None:
    assert Failure(ValueError("hello")).getErrorMessage() == "hello"


def test_getErrorMessageWithBrokenStr() -> None:
    message = Failure(BrokenStr()).getErrorMessage()
    assert "BrokenStr" in message


def test_defaultTraceback() -> None:
    f = _caught()
    text = f.getTraceback()
    lines = text.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert f'File "{__file__}"' in text
    assert "in _raiser" in text
    # Source lines are shown.
    assert 'raise MyError("deep")' in text
    assert lines[-1] == f"{__name__}.MyError: deep"


def test_defaultTracebackWithoutFrames() -> None:
    text = Failure(KeyError("k")).getTraceback()
    assert text == "Traceback (most recent call last):\nFailure: builtins.KeyError: 'k'\n"


def test_briefTraceback() -> None:
    f = _caught()
    text = f.getBriefTraceback()
    lines = text.splitlines()
    assert lines[0] == f"Traceback: {MyError!s}: deep"
    assert lines[-1].endswith(":_raiser")
    assert f.getTraceback(detail="brief") == text


def test_briefTracebackWithoutFrames() -> None:
    text = Failure(KeyError("k")).getBriefTraceback()
    assert text == "Traceback (failure with no frames): <class 'KeyError'>: 'k'\n"


def test_verboseTracebackWithoutCapturedVars() -> None:
    f = _caught()
    text = f.getTraceback(detail="verbose")
    assert text.startswith(f"*--- Failure #{f.count} ---\n")
    assert "Capture of Locals and Globals disabled" in text
    assert text.endswith(f"*--- End of Failure #{f.count} ---\n")


def test_verboseTracebackWithCapturedVars() -> None:
    def withLocal() -> Failure:
        secret = "local-value"
        try:
            raise ValueError(secret)
        except ValueError:
            return Failure(captureVars=True)

    text = withLocal().getTraceback(detail="verbose")
    assert " [ Locals ]" in text
    assert "secret : 'local-value'" in text


def test_invalidDetail() -> None:
    with pytest.raises(ValueError):
        Failure(KeyError()).getTraceback(detail="loud")
    with pytest.raises(ValueError):
        format_frames([], lambda s: None, "loud")


def test_printTracebackToFile() -> None:
    f = _caught()
    out = io.StringIO()
    f.printTraceback(out)
    assert out.getvalue() == f.getTraceback()
    out = io.StringIO()
    f.printBriefTraceback(out)
    assert out.getvalue() == f.getBriefTraceback()
    out = io.StringIO()
    f.printDetailedTraceback(out)
    assert out.getvalue() == f.getTraceback(detail="verbose")


def test_printTracebackDefaultsToStderr(capsys: pytest.CaptureFixture[str]) -> None:
    Failure(KeyError("to stderr")).printTraceback()
    assert "to stderr" in capsys.readouterr().err


def test_reprAndStr() -> None:
    f = Failure(KeyError("k"))
    assert repr(f) == "<glisten.python.failure.Failure builtins.KeyError: 'k'>"
    assert str(f) == f"[Failure instance: {f.getBriefTraceback()}]"


def test_stackIsEmpty() -> None:
    assert _caught().stack == []


# -- raising --------------------------------------------------------------------------------


def test_raiseException() -> None:
    f = _caught()
    with pytest.raises(MyError) as info:
        f.raiseException()
    assert info.value is f.value
    assert "_raiser" in "".join(traceback.format_tb(info.value.__traceback__))


def test_throwExceptionIntoGenerator() -> None:
    seen: list[Any] = []

    def gen() -> Generator[str, None, None]:
        try:
            yield "first"
        except MyError as e:
            seen.append(e)
            yield "handled"

    g = gen()
    next(g)
    f = _caught()
    assert f.throwExceptionIntoGenerator(g) == "handled"
    assert seen == [f.value]


def test_throwExceptionIntoFinishingGenerator() -> None:
    def gen() -> Generator[str, None, str]:
        try:
            yield "first"
        except KeyError:
            return "done"
        return "not reached"

    g = gen()
    next(g)
    with pytest.raises(StopIteration) as info:
        Failure(KeyError()).throwExceptionIntoGenerator(g)
    assert info.value.value == "done"


# -- cleaning and pickling ------------------------------------------------------------------


def test_cleanFailureDropsTracebackKeepsText() -> None:
    f = _caught()
    before = f.getTraceback()
    f.cleanFailure()
    assert f.tb is None
    assert f.value.__traceback__ is None
    assert f.getTraceback() == before


def test_cleanFailureWithCapturedVarsKeepsReprs() -> None:
    def withLocal() -> Failure:
        obj = object()
        try:
            raise ValueError(obj)
        except ValueError:
            return Failure(captureVars=True)

    f = withLocal()
    f.cleanFailure()
    localz = dict(f.frames[0][3])
    assert isinstance(localz["obj"], str)
    assert localz["obj"].startswith("<object object")


def test_pickleRoundTrip() -> None:
    f = _caught()
    text = f.getTraceback()
    copy = pickle.loads(pickle.dumps(f))
    assert copy.pickled
    assert not f.pickled
    assert copy.tb is None
    assert copy.type is MyError
    assert copy.getErrorMessage() == "deep"
    assert copy.getTraceback() == text
    assert copy.check(ValueError) is ValueError
    assert copy.count == f.count


def test_pickleHoldsNoFrames() -> None:
    copy = pickle.loads(pickle.dumps(_caught()))
    assert [frame[0] for frame in copy.frames] == ["_caught", "_raiser"]
    for frame in copy.frames:
        assert all(isinstance(part, (str, int, tuple, list)) for part in frame)


def test_pickleCapturedVarsBecomeReprs() -> None:
    def withLocal() -> Failure:
        unpicklable = lambda: None  # noqa: E731, F841 - a lambda cannot be pickled
        try:
            raise ValueError("x")
        except ValueError:
            return Failure(captureVars=True)

    f = withLocal()
    copy = pickle.loads(pickle.dumps(f))
    assert copy.captureVars
    text = copy.getTraceback(detail="verbose")
    assert "unpicklable : " in text
    assert "<function" in text


def test_getTracebackObjectLive() -> None:
    f = _caught()
    assert f.getTracebackObject() is f.tb


def test_getTracebackObjectAfterCleaning() -> None:
    f = _caught()
    expected = traceback.format_tb(f.tb)
    f.cleanFailure()
    fake = f.getTracebackObject()
    assert fake is not None
    got = traceback.format_tb(fake)  # type: ignore[arg-type]
    assert [line.splitlines()[0] for line in got] == [line.splitlines()[0] for line in expected]


def test_getTracebackObjectWithoutFrames() -> None:
    assert Failure(KeyError()).getTracebackObject() is None


def test_fakeTracebackWorksWithLogging() -> None:
    f = pickle.loads(pickle.dumps(_caught()))
    formatter = logging.Formatter()
    text = formatter.formatException((f.type, f.value, f.getTracebackObject()))  # type: ignore[arg-type]
    assert "_raiser" in text
    assert "MyError: deep" in text


def test_subclassOfFailure() -> None:
    class MyFailure(Failure):
        pass

    f = MyFailure(KeyError())
    assert f.check(KeyError)
    assert repr(f).startswith("<")


def test_checkBaseExceptionSubclass() -> None:
    f = Failure(KeyboardInterrupt())
    assert f.check(KeyboardInterrupt) is KeyboardInterrupt
    assert f.check(Exception) is None
    assert f.check(BaseException) is BaseException


def test_checkRejectsNonTypes() -> None:
    with pytest.raises(TypeError):
        Failure(KeyError()).check(3)  # type: ignore[arg-type]
