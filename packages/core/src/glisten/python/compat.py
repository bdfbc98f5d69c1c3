"""The parts of ``twisted.python.compat`` that still mean something on Python 3.

Code written for both Pythons imports these helpers; on Python 3 most are thin aliases. The
string helpers are strict: :func:`nativeString` and :func:`networkString` accept ASCII only,
because they are meant for protocol tokens, not for arbitrary text.
"""

from __future__ import annotations

import builtins
import io
import os
import sys
import urllib.parse as urllib_parse
from collections.abc import Callable, Iterator, Mapping
from functools import cmp_to_key
from types import TracebackType
from typing import Any, NoReturn, TypeVar

__all__ = [
    "FileType",
    "StringType",
    "bytesEnviron",
    "cmp",
    "cmp_to_key",
    "comparable",
    "execfile",
    "intToBytes",
    "ioType",
    "items",
    "iterbytes",
    "iteritems",
    "itervalues",
    "izip",
    "lazyByteSlice",
    "long",
    "nativeString",
    "networkString",
    "raw_input",
    "reraise",
    "unichr",
    "unicode",
    "urllib_parse",
    "urlquote",
    "urlunquote",
    "xrange",
]

_K = TypeVar("_K")
_V = TypeVar("_V")
_C = TypeVar("_C", bound=type)

unicode = str
long = int
unichr = chr
xrange = range
izip = zip
raw_input = builtins.input
StringType = str
FileType = io.IOBase
urlquote = urllib_parse.quote
urlunquote = urllib_parse.unquote
intern = sys.intern


def nativeString(s: str | bytes) -> str:
    """``s`` as ``str``, going through ASCII.

    :raises TypeError: ``s`` is neither str nor bytes.
    :raises UnicodeError: ``s`` is not ASCII.
    """
    if not isinstance(s, (bytes, str)):
        raise TypeError(f"{s!r} is neither bytes nor str")
    if isinstance(s, bytes):
        return s.decode("ascii")
    s.encode("ascii")
    return s


def networkString(s: str) -> bytes:
    """An ASCII ``str`` as ``bytes`` (for protocol tokens).

    :raises TypeError: ``s`` is not a str.
    :raises UnicodeError: ``s`` is not ASCII.
    """
    if not isinstance(s, str):
        raise TypeError("Can only convert strings to bytes")
    return s.encode("ascii")


def iterbytes(originalBytes: bytes) -> Iterator[bytes]:
    """Each byte of ``originalBytes`` as a one-byte ``bytes``."""
    for i in range(len(originalBytes)):
        yield originalBytes[i : i + 1]


def intToBytes(i: int) -> bytes:
    """The decimal ASCII digits of ``i``."""
    return b"%d" % i


def lazyByteSlice(obj: bytes, offset: int = 0, size: int | None = None) -> memoryview:
    """A zero-copy slice of ``obj`` from ``offset``, ``size`` bytes long (to the end if None)."""
    view = memoryview(obj)
    if size is None:
        return view[offset:]
    return view[offset : offset + size]


def iteritems(d: Mapping[_K, _V]) -> Iterator[tuple[_K, _V]]:
    """``iter(d.items())``."""
    return iter(d.items())


def itervalues(d: Mapping[_K, _V]) -> Iterator[_V]:
    """``iter(d.values())``."""
    return iter(d.values())


def items(d: Mapping[_K, _V]) -> list[tuple[_K, _V]]:
    """``list(d.items())``."""
    return list(d.items())


def cmp(a: Any, b: Any) -> int:
    """Python 2's ``cmp``: -1, 0 or 1."""
    return int(a > b) - int(a < b)


def comparable(klass: _C) -> _C:
    """Give a class with a Python-2 ``__cmp__`` the rich comparison methods."""

    def make(op: Callable[[int], bool]) -> Callable[[Any, Any], Any]:
        def method(self: Any, other: Any) -> Any:
            c = self.__cmp__(other)
            if c is NotImplemented:
                return c
            return op(c)

        return method

    tests: dict[str, Callable[[int], bool]] = {
        "__eq__": lambda c: c == 0,
        "__ne__": lambda c: c != 0,
        "__lt__": lambda c: c < 0,
        "__le__": lambda c: c <= 0,
        "__gt__": lambda c: c > 0,
        "__ge__": lambda c: c >= 0,
    }
    for name, op in tests.items():
        setattr(klass, name, make(op))
    return klass


def execfile(
    filename: str | os.PathLike[str],
    globals: dict[str, Any],
    locals: Mapping[str, Any] | None = None,
) -> None:
    """Run the Python source file ``filename`` in ``globals``/``locals``."""
    if locals is None:
        locals = globals
    with open(filename, "rb") as fin:
        source = fin.read()
    code = compile(source, filename, "exec")
    exec(code, globals, locals)


def reraise(exception: BaseException, traceback: TracebackType | None) -> NoReturn:
    """Raise ``exception`` with ``traceback``."""
    raise exception.with_traceback(traceback)


def bytesEnviron() -> dict[bytes, bytes]:
    """The environment with bytes keys and values."""
    return dict(os.environb)


def ioType(fileIshObject: Any, default: type = str) -> type:
    """Whether a file-like object takes ``str`` or ``bytes``.

    :return: ``str``, ``bytes``, or ``default`` when it cannot be told.
    """
    if isinstance(fileIshObject, io.TextIOBase):
        return str
    if isinstance(fileIshObject, (io.BufferedIOBase, io.RawIOBase, io.BytesIO)):
        return bytes
    mode = getattr(fileIshObject, "mode", "")
    if isinstance(mode, str) and mode:
        return bytes if "b" in mode else str
    encoding = getattr(fileIshObject, "encoding", None)
    if encoding is not None:
        return str
    return default
