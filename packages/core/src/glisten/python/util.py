"""Small utilities Twisted programs import from ``twisted.python.util``."""

from __future__ import annotations

import builtins
import errno
import getpass
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "FancyEqMixin",
    "FancyStrMixin",
    "InsensitiveDict",
    "LineLog",
    "gidFromString",
    "getPassword",
    "initgroups",
    "nameToLabel",
    "padTo",
    "runAsEffectiveUser",
    "searchupwards",
    "sibpath",
    "switchUID",
    "uidFromString",
    "uniquify",
    "untilConcludes",
]

_T = TypeVar("_T")


class InsensitiveDict:
    """A dict whose string keys match regardless of case.

    :param preserve: keep (and report from :meth:`keys`) each key's original spelling; if
        false, keys are reported lower-cased.
    """

    def __init__(self, dict: Mapping[Any, Any] | None = None, preserve: int = 1) -> None:
        self.data: builtins.dict[Any, tuple[Any, Any]] = {}
        self.preserve = preserve
        if dict:
            self.update(dict)

    @staticmethod
    def _lowerOrReturn(key: Any) -> Any:
        if isinstance(key, (bytes, str)):
            return key.lower()
        return key

    def _doPreserve(self, key: Any) -> Any:
        if not self.preserve and isinstance(key, (bytes, str)):
            return key.lower()
        return key

    def __getitem__(self, key: Any) -> Any:
        return self.data[self._lowerOrReturn(key)][1]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[self._lowerOrReturn(key)] = (key, value)

    def __delitem__(self, key: Any) -> None:
        del self.data[self._lowerOrReturn(key)]

    def __contains__(self, key: object) -> bool:
        return self._lowerOrReturn(key) in self.data

    has_key = __contains__

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, InsensitiveDict):
            other = dict(other.items())
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(other) == len(self) and all(k in self and self[k] == v for k, v in other.items())

    def __repr__(self) -> str:
        items = ", ".join(f"{k!r}: {v!r}" for k, v in self.items())
        return f"InsensitiveDict({{{items}}})"

    def get(self, key: Any, default: Any = None) -> Any:
        """The value for ``key`` (any case), or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """The value for ``key``, set to ``default`` first if missing."""
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, other: Mapping[Any, Any]) -> None:
        """Set every key of ``other``."""
        for k, v in other.items():
            self[k] = v

    def keys(self) -> list[Any]:
        """The keys, in their original spelling if :attr:`preserve`."""
        return [self._doPreserve(k) for k, _ in self.data.values()]

    def values(self) -> list[Any]:
        """The values."""
        return [v for _, v in self.data.values()]

    def items(self) -> list[tuple[Any, Any]]:
        """``(key, value)`` pairs."""
        return [(self._doPreserve(k), v) for k, v in self.data.values()]

    def popitem(self) -> tuple[Any, Any]:
        """Remove and return one pair."""
        _, (k, v) = self.data.popitem()
        return self._doPreserve(k), v

    def clear(self) -> None:
        """Remove everything."""
        self.data.clear()

    def copy(self) -> InsensitiveDict:
        """A shallow copy."""
        return InsensitiveDict(dict(self.items()), self.preserve)


def untilConcludes(f: Callable[..., _T], *a: Any, **kw: Any) -> _T:
    """Call ``f`` again as long as it fails with EINTR."""
    while True:
        try:
            return f(*a, **kw)
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            raise


def sibpath(path: str, sibling: str) -> str:
    """The path of ``sibling`` in the directory containing ``path`` (e.g. ``__file__``)."""
    return os.path.join(os.path.dirname(os.path.abspath(path)), sibling)


def initgroups(uid: int, primaryGid: int | None) -> None:
    """Set the supplementary groups of the user ``uid`` (plus ``primaryGid``)."""
    import pwd

    username = pwd.getpwuid(uid).pw_name
    gid = primaryGid if primaryGid is not None else pwd.getpwuid(uid).pw_gid
    try:
        os.initgroups(username, gid)
    except PermissionError:
        # Not root: keep the current groups, as switching users needs root anyway.
        pass


def switchUID(uid: int | None, gid: int | None, euid: bool = False) -> None:
    """Become ``uid``/``gid`` (really, or only effectively if ``euid``), e.g. after binding.

    Dropping to the uid that is already current only warns, as Twisted does.
    """
    setuid, setgid, getuid = (
        (os.seteuid, os.setegid, os.geteuid) if euid else (os.setuid, os.setgid, os.getuid)
    )
    if gid is not None:
        setgid(gid)
    if uid is not None:
        if uid == getuid():
            which = "euid" if euid else "uid"
            warnings.warn(
                f"tried to drop privileges and set{which} {uid} but {which} is already "
                f"{getuid()}; should we be root? Continuing.",
                stacklevel=2,
            )
        else:
            initgroups(uid, gid)
            setuid(uid)


def runAsEffectiveUser(
    euid: int, egid: int, function: Callable[..., _T], *args: Any, **kwargs: Any
) -> _T:
    """Call ``function`` with effective uid/gid ``euid``/``egid``, restoring them after."""
    uid, gid = os.geteuid(), os.getegid()
    if uid == euid and gid == egid:
        return function(*args, **kwargs)
    if uid != 0 and (uid != euid or gid != egid):
        os.seteuid(0)
    if gid != egid:
        os.setegid(egid)
    if euid != 0 and (euid != uid or gid != egid):
        os.seteuid(euid)
    try:
        return function(*args, **kwargs)
    finally:
        if uid != 0 and (uid != euid or gid != egid):
            os.seteuid(0)
        if gid != egid:
            os.setegid(gid)
        if uid != 0 and (uid != euid or gid != egid):
            os.seteuid(uid)


def uidFromString(uidString: str) -> int:
    """A user id from a number or a user name.

    :raises KeyError: no such user.
    """
    try:
        return int(uidString)
    except ValueError:
        import pwd

        return pwd.getpwnam(uidString).pw_uid


def gidFromString(gidString: str) -> int:
    """A group id from a number or a group name.

    :raises KeyError: no such group.
    """
    try:
        return int(gidString)
    except ValueError:
        import grp

        return grp.getgrnam(gidString).gr_gid


def getPassword(
    prompt: str = "Password: ",
    confirm: int = 0,
    forceTTY: int = 0,
    confirmPrompt: str = "Confirm password: ",
    mismatchMessage: str = "Passwords don't match.",
) -> str:
    """Read a password from the terminal, asking twice if ``confirm``."""
    while True:
        first = getpass.getpass(prompt)
        if not confirm:
            return first
        if getpass.getpass(confirmPrompt) == first:
            return first
        print(mismatchMessage, file=sys.stderr)


def padTo(n: int, seq: Sequence[_T], default: Any = None) -> list[Any]:
    """``seq`` as a list padded with ``default`` to length ``n``.

    :raises ValueError: ``seq`` is longer than ``n``.
    """
    if len(seq) > n:
        raise ValueError(f"{len(seq)} elements is more than {n}.")
    return list(seq) + [default] * (n - len(seq))


def uniquify(lst: Iterable[_T]) -> list[_T]:
    """The items of ``lst`` without repeats, first occurrence kept."""
    seen: list[_T] = []
    for item in lst:
        if item not in seen:
            seen.append(item)
    return seen


def nameToLabel(mname: str) -> str:
    """``fooBarBaz`` -> ``Foo Bar Baz``."""
    labelList = []
    word = ""
    lastWasUpper = False
    for letter in mname:
        if letter.isupper() == lastWasUpper:
            word += letter
        elif lastWasUpper:
            if len(word) == 1:
                word += letter
            else:
                labelList.append(word[:-1])
                word = word[-1] + letter
        else:
            labelList.append(word)
            word = letter
        lastWasUpper = letter.isupper()
    if labelList:
        labelList[0] = labelList[0].capitalize()
    else:
        return mname.capitalize()
    labelList.append(word)
    return " ".join(w for w in labelList if w)


def searchupwards(start: str, files: Sequence[str] = (), dirs: Sequence[str] = ()) -> str | None:
    """The nearest directory at or above ``start`` containing all ``files`` and ``dirs``."""
    start = os.path.abspath(start)
    parents = start.split(os.sep)
    while parents:
        candidate = os.sep.join(parents) + os.sep
        if all(os.path.isfile(os.path.join(candidate, f)) for f in files) and all(
            os.path.isdir(os.path.join(candidate, d)) for d in dirs
        ):
            return candidate
        parents.pop()
    return None


class LineLog:
    """A fixed-size log of the last ``size`` lines written."""

    def __init__(self, size: int = 10) -> None:
        if size < 0:
            size = 0
        self.log: list[Any] = [None] * size
        self.size = size

    def append(self, line: Any) -> None:
        """Add ``line``, dropping the oldest."""
        if self.size:
            self.log[:-1] = self.log[1:]
            self.log[-1] = line
        else:
            self.log.append(line)

    def str(self) -> bytes:
        """The lines joined by newlines."""
        return b"\n".join(x for x in self.log if x is not None)

    def __getitem__(self, item: int) -> Any:
        return [x for x in self.log if x is not None][item]

    def clear(self) -> None:
        """Empty the log."""
        self.log = [None] * self.size


class FancyEqMixin:
    """Equality by the attributes named in :attr:`compareAttributes`.

    Objects compare equal when the other is an instance of this class and every listed
    attribute is equal; with no attributes listed, identity is used. Like Twisted's, instances are unhashable
    unless the subclass defines ``__hash__``.
    """

    compareAttributes: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if not self.compareAttributes:
            return self is other
        if isinstance(other, self.__class__):
            return all(getattr(self, n) == getattr(other, n) for n in self.compareAttributes)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        if result is NotImplemented:
            return result
        return not result


class FancyStrMixin:
    """A ``str``/``repr`` listing the attributes named in :attr:`showAttributes`.

    Each entry is a name, ``(name, formatter)`` or ``(name, displayName, "%format")``.
    """

    showAttributes: Sequence[Any] = ()

    def __str__(self) -> str:
        r = ["<", getattr(self, "fancybasename", self.__class__.__name__)]
        for attr in self.showAttributes:
            if isinstance(attr, str):
                r.append(f" {attr}={getattr(self, attr)!r}")
            elif len(attr) == 2:
                r.append(f" {attr[0]}=" + attr[1](getattr(self, attr[0])))
            else:
                r.append((" %s=" + attr[2]) % (attr[1], getattr(self, attr[0])))
        r.append(">")
        return "".join(r)

    __repr__ = __str__
