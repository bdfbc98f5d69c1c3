"""An exception and its traceback, packaged to travel through callback chains.

A :class:`Failure` is what a :class:`~glisten.internet.defer.Deferred` carries down its errback
chain. Creating one is cheap: it keeps the exception and its traceback object and computes the
frame list only when somebody asks for it (:attr:`Failure.frames`, a formatted traceback,
pickling or :meth:`Failure.cleanFailure`).

Unlike old Twisted releases, a Failure does not walk the caller's stack when it is created; the
traceback it reports is the exception's own (from the frame that caught it to the frame that
raised it), exactly what Python's own tracebacks show. Twisted 24.10 made the same choice and
deprecated ``Failure.stack``, which is kept here as an always-empty list.
"""

from __future__ import annotations

import linecache
import sys
from collections.abc import Generator, Sequence
from types import FrameType, TracebackType
from typing import Any, NoReturn, Protocol

__all__ = [
    "EXCEPTION_CAUGHT_HERE",
    "DefaultException",
    "Failure",
    "NoCurrentExceptionError",
    "format_frames",
]

#: The marker Twisted printed between the caller's stack and the traceback; kept for code that
#: searches tracebacks for it.
EXCEPTION_CAUGHT_HERE = "--- <exception caught here> ---"

#: A frame as reported by :attr:`Failure.frames`: function name, file name, line number, and the
#: frame's locals and globals as ``(name, value)`` pairs (empty unless ``captureVars`` was set).
_FrameInfo = tuple[str, str, int, Sequence[tuple[str, Any]], Sequence[tuple[str, Any]]]

_count = 0
_ExcType = type[BaseException]


class _Writer(Protocol):
    """Anything with a text ``write`` method (a file, :class:`io.StringIO`, ...)."""

    def write(self, text: str, /) -> object: ...


class DefaultException(Exception):
    """A generic exception, for callers that need one with no particular meaning."""


class NoCurrentExceptionError(Exception):
    """
    ``Failure()`` was called with no exception and none is being handled, so there is nothing
    to describe.
    """


def _qual(cls: type) -> str:
    """Return the fully qualified name of ``cls``, as Twisted's ``reflect.qual`` does."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _safeStr(obj: object) -> str:
    """``str(obj)``, or a description of why that failed: a broken ``__str__`` must not turn
    reporting one error into raising another."""
    try:
        return str(obj)
    except BaseException:
        try:
            return f"<{type(obj).__qualname__} instance with a broken __str__>"
        except BaseException:  # pragma: no cover - type() always works
            return "<object with a broken __str__>"


def _safeRepr(obj: object) -> str:
    """``repr(obj)`` that never raises."""
    try:
        return repr(obj)
    except BaseException:
        return f"<{type(obj).__qualname__} instance with a broken __repr__>"


def _varsOf(frame: FrameType) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    localz = dict(frame.f_locals)
    globalz = {} if frame.f_locals is frame.f_globals else dict(frame.f_globals)
    localz.pop("__builtins__", None)
    globalz.pop("__builtins__", None)
    return list(localz.items()), list(globalz.items())


def _framesOf(tb: TracebackType | None, captureVars: bool) -> list[_FrameInfo]:
    frames: list[_FrameInfo] = []
    while tb is not None:
        frame = tb.tb_frame
        code = frame.f_code
        if captureVars:
            localz, globalz = _varsOf(frame)
            frames.append((code.co_name, code.co_filename, tb.tb_lineno, localz, globalz))
        else:
            frames.append((code.co_name, code.co_filename, tb.tb_lineno, (), ()))
        tb = tb.tb_next
    return frames


def format_frames(frames: Sequence[_FrameInfo], write: Any, detail: str = "default") -> None:
    """Write ``frames`` (as in :attr:`Failure.frames`) through ``write``.

    :param detail: ``"default"`` (like Python's tracebacks, with source lines), ``"brief"``
        (``file:line:function`` per frame), ``"verbose"`` (with locals and globals) or
        ``"verbose-vars-not-captured"``.
    :raises ValueError: for any other ``detail``.
    """
    if detail == "brief":
        for name, filename, lineno, _l, _g in frames:
            write(f"{filename}:{lineno}:{name}\n")
    elif detail == "default":
        for name, filename, lineno, _l, _g in frames:
            write(f'  File "{filename}", line {lineno}, in {name}\n')
            write(f"    {linecache.getline(filename, lineno).strip()}\n")
    elif detail == "verbose-vars-not-captured":
        for name, filename, lineno, _l, _g in frames:
            write(f"{filename}:{lineno}: {name}(...)\n")
        write(" [Capture of Locals and Globals disabled (use captureVars=True)]\n")
    elif detail == "verbose":
        for name, filename, lineno, localz, globalz in frames:
            write(f"{filename}:{lineno}: {name}(...)\n")
            write(" [ Locals ]\n")
            for key, value in localz:
                write(f"  {key} : {_safeRepr(value)}\n")
            write(" ( Globals )\n")
            for key, value in globalz:
                write(f"  {key} : {_safeRepr(value)}\n")
    else:
        raise ValueError(
            "detail must be 'default', 'brief', 'verbose' or 'verbose-vars-not-captured', "
            f"not {detail!r}"
        )


class _FakeCode:
    """Just enough of a code object for :mod:`traceback` to format a cleaned Failure."""

    __slots__ = ("co_filename", "co_name")

    def __init__(self, name: str, filename: str) -> None:
        self.co_name = name
        self.co_filename = filename

    def co_positions(self) -> Generator[tuple[None, None, None, None], None, None]:
        while True:
            yield (None, None, None, None)


class _FakeFrame:
    """Just enough of a frame object for :mod:`traceback`."""

    __slots__ = ("f_back", "f_code", "f_globals", "f_lineno", "f_locals")

    def __init__(self, info: _FrameInfo, back: _FakeFrame | None) -> None:
        self.f_code = _FakeCode(info[0], info[1])
        self.f_lineno = info[2]
        self.f_locals: dict[str, Any] = dict(info[3])
        self.f_globals: dict[str, Any] = dict(info[4])
        self.f_back = back


class _FakeTraceback:
    """Just enough of a traceback object for :mod:`traceback` and :mod:`logging`."""

    __slots__ = ("tb_frame", "tb_lasti", "tb_lineno", "tb_next")

    def __init__(self, frame: _FakeFrame) -> None:
        self.tb_frame = frame
        self.tb_lineno = frame.f_lineno
        self.tb_lasti = -1
        self.tb_next: _FakeTraceback | None = None


class Failure:
    """An exception with its traceback, to hand to errbacks.

    ``Failure()`` inside an ``except`` block describes the exception being handled;
    ``Failure(exc)`` describes ``exc`` (with the traceback it carries, if it was raised).

    :ivar value: the exception.
    :ivar type: the exception's class.
    :ivar tb: the traceback object, or ``None`` once cleaned, pickled, or if the exception was
        never raised.
    :ivar count: a number unique to this Failure within the process.
    :ivar captureVars: whether frames record their locals and globals.
    :ivar pickled: true for a Failure that came out of a pickle.
    """

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_frames",
        "_parents",
        "captureVars",
        "count",
        "pickled",
        "tb",
        "type",
        "value",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _specialTypes.add(cls)

    value: BaseException
    type: _ExcType
    tb: TracebackType | None
    count: int
    pickled: int
    captureVars: bool
    _frames: list[_FrameInfo] | None
    _parents: list[str] | None

    def __init__(
        self,
        exc_value: BaseException | Failure | None = None,
        exc_type: _ExcType | None = None,
        exc_tb: TracebackType | None = None,
        captureVars: bool = False,
    ) -> None:
        """
        :param exc_value: the exception; ``None`` means the exception being handled. Another
            Failure is copied.
        :param exc_type: the exception's class; ``type(exc_value)`` when omitted.
        :param exc_tb: the traceback; the exception's ``__traceback__`` when omitted.
        :param captureVars: record every frame's locals and globals now (slow; for
            ``printDetailedTraceback``).
        :raises NoCurrentExceptionError: no ``exc_value`` and no exception being handled.
        :raises TypeError: ``exc_value`` is not an exception (Twisted accepted strings and
            classes here and produced Failures that broke later, far from the mistake).
        """
        global _count
        _count += 1
        self.count = _count
        self.pickled = 0
        self._parents = None
        if exc_value is None:
            exc_value = sys.exception()
            if exc_value is None:
                raise NoCurrentExceptionError()
            exc_tb = exc_value.__traceback__
        elif isinstance(exc_value, Failure):
            self.value = exc_value.value
            self.type = exc_value.type
            self.tb = exc_value.tb
            self.captureVars = exc_value.captureVars
            self._frames = exc_value._frames
            self.pickled = exc_value.pickled
            return
        elif not isinstance(exc_value, BaseException):
            raise TypeError(f"Failure needs an exception, not {exc_value!r}")
        elif exc_tb is None:
            exc_tb = exc_value.__traceback__
        self.value = exc_value
        self.type = type(exc_value) if exc_type is None else exc_type
        self.tb = exc_tb
        self.captureVars = captureVars
        self._frames = _framesOf(exc_tb, True) if captureVars and exc_tb is not None else None

    @classmethod
    def _fromCaught(cls, value: BaseException) -> Failure:
        """Build a Failure for an exception just caught, skipping :meth:`__init__`'s argument
        handling: the Deferred callback loop creates one for every raising callback."""
        global _count
        self = cls.__new__(cls)
        _count += 1
        self.count = _count
        self.pickled = 0
        self._parents = None
        self._frames = None
        self.captureVars = False
        self.value = value
        self.type = type(value)
        self.tb = value.__traceback__
        return self

    # -- inspection ---------------------------------------------------------------------

    @property
    def frames(self) -> list[_FrameInfo]:
        """The traceback's frames, outermost first, as
        ``(function, file, line, locals, globals)`` tuples."""
        frames = self._frames
        if frames is None:
            frames = self._frames = _framesOf(self.tb, self.captureVars)
        return frames

    @frames.setter
    def frames(self, frames: list[_FrameInfo]) -> None:
        self._frames = frames

    @property
    def stack(self) -> list[_FrameInfo]:
        """Always empty: the caller's stack is not captured (Twisted deprecated it too)."""
        return []

    @property
    def parents(self) -> list[str]:
        """Qualified names of the exception's class and its bases, most derived first."""
        parents = self._parents
        if parents is None:
            parents = self._parents = [_qual(c) for c in self.type.__mro__]
        return parents

    def check(self, *errorTypes: _ExcType | str) -> _ExcType | str | None:
        """Return the first of ``errorTypes`` this failure's exception is an instance of.

        Classes match by ``issubclass``, so ``BaseException`` subclasses such as
        ``KeyboardInterrupt`` match too; Twisted compared qualified names and never matched
        those.

        :param errorTypes: exception classes, or their fully qualified names.
        :return: the matching entry of ``errorTypes``, or ``None``.
        :raises TypeError: an entry is neither a class nor a string.
        """
        excType = self.type
        for error in errorTypes:
            if isinstance(error, str):
                if error in self.parents:
                    return error
            elif issubclass(excType, error):
                return error
        return None

    def trap(self, *errorTypes: _ExcType | str) -> _ExcType | str:
        """Return the matching entry of ``errorTypes``, or re-raise the exception.

        Used in errbacks to handle only some errors: any other one is raised again, so it
        travels on down the errback chain.
        """
        error = self.check(*errorTypes)
        if error is None:
            self.raiseException()
        return error

    def getErrorMessage(self) -> str:
        """Return ``str()`` of the exception (never raising)."""
        value: Any = self.value
        if isinstance(value, Failure):
            return value.getErrorMessage()
        return _safeStr(value)

    # -- raising ------------------------------------------------------------------------

    def raiseException(self) -> NoReturn:
        """Raise the exception again, with its original traceback when it is still held."""
        raise self.value.with_traceback(self.tb)

    def throwExceptionIntoGenerator(self, g: Any) -> Any:
        """Throw the exception into generator or coroutine ``g`` and return what it yields
        next.

        :raises StopIteration: ``g`` returned.
        """
        return g.throw(self.value.with_traceback(self.tb))

    # -- memory -------------------------------------------------------------------------

    def cleanFailure(self) -> None:
        """Drop the traceback (and so every frame and local variable it keeps alive), keeping
        the frame descriptions needed to print it.

        This also clears the exception's ``__traceback__``, which holds the same frames.
        """
        frames = self.frames
        if self.captureVars:
            self._frames = [
                (
                    name,
                    filename,
                    lineno,
                    [(k, _safeRepr(v)) for k, v in localz],
                    [(k, _safeRepr(v)) for k, v in globalz],
                )
                for name, filename, lineno, localz, globalz in frames
            ]
        self.tb = None
        try:
            self.value.__traceback__ = None
        except (AttributeError, TypeError):  # pragma: no cover - exotic exception types
            pass

    def getTracebackObject(self) -> TracebackType | _FakeTraceback | None:
        """Return a traceback usable with :mod:`traceback` and :mod:`logging`.

        :return: the real traceback while it is held; after cleaning or unpickling, an
            equivalent built from :attr:`frames`; ``None`` if there are no frames.
        """
        if self.tb is not None:
            return self.tb
        frames = self.frames
        if not frames:
            return None
        frame: _FakeFrame | None = None
        first: _FakeTraceback | None = None
        last: _FakeTraceback | None = None
        for info in frames:
            frame = _FakeFrame(info, frame)
            tb = _FakeTraceback(frame)
            if last is None:
                first = tb
            else:
                last.tb_next = tb
            last = tb
        return first

    # -- formatting ---------------------------------------------------------------------

    def printTraceback(
        self, file: _Writer | None = None, elideFrameworkCode: bool = False, detail: str = "default"
    ) -> None:
        """Write the traceback to ``file`` (standard error by default).

        :param elideFrameworkCode: accepted for compatibility; ignored.
        :param detail: ``"default"``, ``"brief"`` or ``"verbose"``.
        :raises ValueError: for any other ``detail``.
        """
        if detail not in ("default", "brief", "verbose"):
            raise ValueError(f"detail must be 'default', 'brief' or 'verbose', not {detail!r}")
        if file is None:
            file = sys.stderr
        w = file.write
        frames = self.frames
        if detail == "verbose":
            w(f"*--- Failure #{self.count}{' (pickled) ' if self.pickled else ' '}---\n")
        elif detail == "brief":
            prefix = "Traceback" if frames else "Traceback (failure with no frames)"
            w(f"{prefix}: {_safeStr(self.type)}: {_safeStr(self.value)}\n")
        else:
            w("Traceback (most recent call last):\n")
        if frames:
            formatDetail = detail
            if detail == "verbose" and not self.captureVars:
                formatDetail = "verbose-vars-not-captured"
            format_frames(frames, w, formatDetail)
        elif detail != "brief":
            w("Failure: ")
        if detail != "brief":
            w(f"{_qual(self.type)}: {_safeStr(self.value)}\n")
        if detail == "verbose":
            w(f"*--- End of Failure #{self.count} ---\n")

    def printBriefTraceback(
        self, file: _Writer | None = None, elideFrameworkCode: bool = False
    ) -> None:
        """Write the traceback as densely as possible: one ``file:line:function`` per frame."""
        self.printTraceback(file, elideFrameworkCode, detail="brief")

    def printDetailedTraceback(
        self, file: _Writer | None = None, elideFrameworkCode: bool = False
    ) -> None:
        """Write the traceback with every frame's locals and globals (if captured)."""
        self.printTraceback(file, elideFrameworkCode, detail="verbose")

    def getTraceback(self, elideFrameworkCode: bool = False, detail: str = "default") -> str:
        """Return the traceback as :meth:`printTraceback` would write it."""
        out: list[str] = []
        self.printTraceback(_ListWriter(out), elideFrameworkCode, detail)
        return "".join(out)

    def getBriefTraceback(self, elideFrameworkCode: bool = False) -> str:
        """Return the brief traceback (see :meth:`printBriefTraceback`)."""
        return self.getTraceback(elideFrameworkCode, detail="brief")

    def __repr__(self) -> str:
        return f"<{_qual(type(self))} {_qual(self.type)}: {self.getErrorMessage()}>"

    def __str__(self) -> str:
        return f"[Failure instance: {self.getBriefTraceback()}]"

    # -- pickling -----------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Describe this Failure without its traceback: frames become plain tuples (with
        ``repr``\\ s of captured variables), so the pickle holds no frame objects."""
        frames = self.frames
        if self.captureVars:
            frames = [
                (
                    n,
                    f,
                    ln,
                    [(k, v if isinstance(v, str) else _safeRepr(v)) for k, v in lz],
                    [(k, v if isinstance(v, str) else _safeRepr(v)) for k, v in gz],
                )
                for n, f, ln, lz, gz in frames
            ]
        state: dict[str, Any] = dict(getattr(self, "__dict__", {}))
        state.update(
            value=self.value,
            type=self.type,
            count=self.count,
            captureVars=self.captureVars,
            frames=frames,
            parents=self.parents,
        )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        self.value = state.pop("value")
        self.type = state.pop("type")
        self.count = state.pop("count")
        self.captureVars = state.pop("captureVars")
        self._frames = list(state.pop("frames"))
        self._parents = list(state.pop("parents"))
        self.tb = None
        self.pickled = 1
        self.__dict__.update(state)


#: Failure and its subclasses, and (added by :mod:`glisten.internet.defer`) Deferred and its
#: subclasses: the results a callback loop must treat specially. One set lookup on the result's
#: class is cheaper than two ``isinstance`` calls per callback.
_specialTypes: set[type] = {Failure}


class _ListWriter:
    """A minimal text file that appends to a list (cheaper than :class:`io.StringIO`)."""

    __slots__ = ("_out",)

    def __init__(self, out: list[str]) -> None:
        self._out = out

    def write(self, text: str) -> int:
        self._out.append(text)
        return len(text)
