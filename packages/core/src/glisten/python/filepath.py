"""Object-oriented file system paths that refuse to be walked out of their tree.

:class:`FilePath` follows Twisted's ``twisted.python.filepath.FilePath``: a path is an object
with methods (``child``, ``parent``, ``getContent``, ``setContent``, ``walk``, ...) and every
method that takes a name from somebody else checks that the result stays inside the tree it was
derived from. ``..`` (a parent reference), absolute names, names containing a separator where one is not allowed and
names containing NUL all raise :class:`InsecurePath`, for ``str`` and ``bytes`` paths alike.

Differences from Twisted, on purpose: the "inside" check compares whole path segments (Twisted
compared string prefixes, so ``/srv/www`` accepted ``/srv/wwwx``), ``globChildren`` refuses
patterns that climb out of the directory, and ``setContent`` flushes and syncs (``fsync``) the
temporary file before the atomic rename so a crash never leaves a truncated file behind.
"""

from __future__ import annotations

import base64
import errno
import glob
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, AnyStr, Generic, TypeVar, cast

from zope.interface import Attribute, Interface, implementer

__all__ = [
    "RWX",
    "AbstractFilePath",
    "FilePath",
    "IFilePath",
    "InsecurePath",
    "LinkError",
    "Permissions",
    "UnlistableError",
]

_Other = TypeVar("_Other", str, bytes)


class InsecurePath(Exception):
    """A name would lead outside the tree it was asked for (``..``, absolute, NUL, separators)."""


class LinkError(Exception):
    """A symbolic link loop was found while walking."""


class UnlistableError(OSError):
    """A directory could not be listed (it does not exist, is a file, or is unreadable).

    :ivar originalException: the :class:`OSError` that ``listdir`` raised.
    """

    def __init__(self, originalException: OSError) -> None:
        super().__init__(originalException.errno, originalException.strerror)
        self.filename = originalException.filename
        self.originalException = originalException


class IFilePath(Interface):
    """A path in a tree of files: navigation, content and metadata."""

    sep = Attribute("The path separator, of the same type as the path.")
    path = Attribute("The absolute path as str or bytes.")

    def child(name: Any) -> IFilePath:
        """The child called ``name``; raises :class:`InsecurePath` if it would leave."""

    def open(mode: str = "r") -> IO[bytes]:
        """Open the file (always in binary mode)."""

    def changed() -> None:
        """Forget cached metadata."""

    def getsize() -> int:
        """Size in bytes."""

    def getModificationTime() -> float:
        """Last modification time, seconds since the epoch."""

    def getStatusChangeTime() -> float:
        """Last status change time."""

    def getAccessTime() -> float:
        """Last access time."""

    def exists() -> bool:
        """Whether something is at this path."""

    def isdir() -> bool:
        """Whether this is a directory."""

    def isfile() -> bool:
        """Whether this is a regular file."""

    def children() -> list[Any]:
        """The directory's entries."""

    def basename() -> Any:
        """The last segment."""

    def parent() -> IFilePath:
        """The containing directory."""

    def sibling(name: Any) -> IFilePath:
        """A path in the same directory."""


def _fs(value: str | bytes, like: str | bytes) -> Any:
    """``value`` converted to the type of ``like`` with the file system encoding."""
    if isinstance(like, bytes):
        return os.fsencode(value)
    return os.fsdecode(value)


class RWX:
    """Read, write and execute bits for one class of user."""

    __slots__ = ("execute", "read", "write")

    def __init__(self, readable: bool, writable: bool, executable: bool) -> None:
        self.read = readable
        self.write = writable
        self.execute = executable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RWX):
            return NotImplemented
        return (self.read, self.write, self.execute) == (other.read, other.write, other.execute)

    def __hash__(self) -> int:
        return hash((self.read, self.write, self.execute))

    def __repr__(self) -> str:
        return f"RWX(read={self.read}, write={self.write}, execute={self.execute})"

    def shorthand(self) -> str:
        """``rwx``-style text, ``-`` for each missing bit."""
        return "".join(
            c if on else "-"
            for c, on in zip("rwx", (self.read, self.write, self.execute), strict=True)
        )


class Permissions:
    """The permission bits of a file, split into user, group and other :class:`RWX`."""

    def __init__(self, statModeInt: int) -> None:
        self.statModeInt = statModeInt
        self.user, self.group, self.other = (
            RWX(*(bool(statModeInt & getattr(stat, f"S_I{p}{who}")) for p in "RWX"))
            for who in ("USR", "GRP", "OTH")
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Permissions):
            return NotImplemented
        return self.statModeInt == other.statModeInt

    def __hash__(self) -> int:
        return hash(self.statModeInt)

    def __repr__(self) -> str:
        return f"[{self.user} | {self.group} | {self.other}]"

    def shorthand(self) -> str:
        """``rwxr-xr-x``-style text."""
        return self.user.shorthand() + self.group.shorthand() + self.other.shorthand()


def _secureName(name: str | bytes) -> None:
    """Refuse NUL bytes, which the OS would silently truncate at."""
    if isinstance(name, bytes) and b"\0" in name or isinstance(name, str) and "\0" in name:
        raise InsecurePath("path contains a NUL byte")


def _inside(candidate: Any, root: Any) -> bool:
    """Whether absolute ``candidate`` equals ``root`` or lies below it (whole segments)."""
    if candidate == root:
        return True
    sep = _fs(os.sep, root)
    prefix = root if root.endswith(sep) else root + sep
    return bool(candidate.startswith(prefix))


class AbstractFilePath(Generic[AnyStr]):
    """What every file path shares: navigation and content built on a few primitives."""

    path: AnyStr

    def getContent(self) -> bytes:
        """The whole content of the file, as bytes."""
        with self.open() as f:
            return f.read()

    def open(self, mode: str = "r") -> IO[bytes]:
        raise NotImplementedError  # pragma: no cover - overridden

    def children(self) -> list[Any]:
        raise NotImplementedError  # pragma: no cover - overridden

    def child(self, path: Any) -> Any:
        raise NotImplementedError  # pragma: no cover - overridden

    def parent(self) -> Any:
        raise NotImplementedError  # pragma: no cover - overridden

    def isdir(self) -> bool:
        raise NotImplementedError  # pragma: no cover - overridden

    def basename(self) -> AnyStr:
        raise NotImplementedError  # pragma: no cover - overridden

    def parents(self) -> Iterator[Any]:
        """Every ancestor, nearest first, up to the root."""
        path: Any = self
        parent = path.parent()
        while path != parent:
            yield parent
            path, parent = parent, parent.parent()

    def walk(self, descend: Callable[[Any], bool] | None = None) -> Iterator[Any]:
        """This path, then (if a directory) everything below it, depth first.

        :param descend: called with each subdirectory; a false answer yields it without
            entering it.
        :raises LinkError: when a symbolic link leads back to a directory being walked.
        """
        yield self
        if not self.isdir():
            return
        mine = os.path.realpath(self.path)
        for c in self.children():
            if descend is None or descend(c):
                for sub in c.walk(descend):
                    if _inside(mine, os.path.realpath(sub.path)):
                        raise LinkError("Cycle in file graph.")
                    yield sub
            else:
                yield c

    def sibling(self, path: Any) -> Any:
        """The path called ``path`` next to this one (same checks as :meth:`child`)."""
        return self.parent().child(path)

    def descendant(self, segments: Iterable[Any]) -> Any:
        """The path reached by :meth:`child` on each segment in turn."""
        result: Any = self
        for segment in segments:
            result = result.child(segment)
        return result

    def segmentsFrom(self, ancestor: AbstractFilePath[Any]) -> list[AnyStr]:
        """The segments leading from ``ancestor`` down to this path.

        :raises ValueError: if ``ancestor`` is not an ancestor of this path.
        """
        segments: list[AnyStr] = []
        current: Any = self
        while current != ancestor:
            parent = current.parent()
            if parent == current:
                raise ValueError(f"{ancestor!r} is not an ancestor of {self!r}")
            segments.append(current.basename())
            current = parent
        segments.reverse()
        return segments

    def __hash__(self) -> int:
        return hash((self.__class__, self.path))


@implementer(IFilePath)
class FilePath(AbstractFilePath[AnyStr]):
    """An absolute path (``str`` or ``bytes``) with the operations a program needs on it.

    :ivar path: the absolute, normalized path.
    :ivar alwaysCreate: :meth:`open` for writing uses exclusive creation when true.
    """

    _statinfo: os.stat_result | None = None

    def __init__(self, path: AnyStr, alwaysCreate: bool = False) -> None:
        _secureName(path)
        self.path = os.path.abspath(path)
        self.alwaysCreate = alwaysCreate

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d.pop("_statinfo", None)
        return d

    @property
    def sep(self) -> AnyStr:
        """The separator, in the path's own type."""
        return cast(AnyStr, _fs(os.sep, self.path))

    def _asSameTypeAs(self, pattern: _Other) -> _Other:
        return cast(_Other, _fs(self.path, pattern))

    def asBytesMode(self, encoding: str | None = None) -> FilePath[bytes]:
        """This path with a ``bytes`` path."""
        if isinstance(self.path, bytes):
            return self
        raw = self.path.encode(encoding) if encoding else os.fsencode(self.path)
        return FilePath(raw)

    def asTextMode(self, encoding: str | None = None) -> FilePath[str]:
        """This path with a ``str`` path."""
        if isinstance(self.path, str):
            return self
        text = self.path.decode(encoding) if encoding else os.fsdecode(self.path)
        return FilePath(text)

    def clonePath(self, path: _Other, alwaysCreate: bool = False) -> FilePath[_Other]:
        """A new path object of this class for ``path``."""
        return self.__class__(path, alwaysCreate)  # type: ignore[arg-type,return-value]

    # -- navigation ---------------------------------------------------------------------------

    def child(self, path: _Other) -> FilePath[_Other]:
        """The entry called ``path`` in this directory.

        :raises InsecurePath: ``path`` contains a separator, NUL, or is ``..``.
        """
        _secureName(path)
        sep = _fs(os.sep, path)
        if sep in path or (os.altsep and _fs(os.altsep, path) in path):
            raise InsecurePath("child name contains a directory separator")
        ours = self._asSameTypeAs(path)
        newpath = os.path.abspath(os.path.join(ours, os.path.normpath(path)))
        if not _inside(newpath, ours):
            raise InsecurePath("child name leads outside the directory")
        return self.clonePath(newpath)

    def preauthChild(self, path: _Other) -> FilePath[_Other]:
        """A descendant named by a relative path that may contain separators.

        :raises InsecurePath: the path is absolute, contains NUL, or climbs out with ``..``.
        """
        _secureName(path)
        ours = self._asSameTypeAs(path)
        newpath = os.path.abspath(os.path.join(ours, os.path.normpath(path)))
        if not _inside(newpath, ours):
            raise InsecurePath("path leads outside the directory")
        return self.clonePath(newpath)

    def childSearchPreauth(self, *paths: _Other) -> FilePath[_Other] | None:
        """The first of ``paths`` (checked as :meth:`preauthChild`) that exists, or ``None``."""
        for p in paths:
            candidate = self.preauthChild(p)
            if candidate.exists():
                return candidate
        return None

    def siblingExtension(self, ext: _Other) -> FilePath[_Other]:
        """This path with ``ext`` appended (``foo`` -> ``foo.ext``)."""
        _secureName(ext)
        if _fs(os.sep, ext) in ext:
            raise InsecurePath("extension contains a directory separator")
        return self.clonePath(self._asSameTypeAs(ext) + ext)

    def siblingExtensionSearch(self, *exts: _Other) -> FilePath[Any] | None:
        """The first existing ``self + ext``; ``"*"`` matches any extension."""
        for ext in exts:
            if not ext and self.exists():
                return self
            if ext == _fs("*", ext):
                base = self.basename()
                for sib in self.parent().children():
                    if sib.basename().startswith(base + _fs(".", base)) and sib.exists():
                        return cast("FilePath[Any]", sib)
                continue
            candidate = self.siblingExtension(ext)
            if candidate.exists():
                return candidate
        return None

    def temporarySibling(self, extension: _Other | None = None) -> FilePath[Any]:
        """A new, unused path in the same directory (random name, then ``extension``)."""
        suffix: Any = extension if extension is not None else _fs("", self.path)
        _secureName(suffix)
        if _fs(os.sep, suffix) in suffix:
            raise InsecurePath("extension contains a directory separator")
        random = base64.b32encode(os.urandom(10)).decode("ascii").lower().rstrip("=")
        name = _fs(f".{random}", suffix) + suffix
        return cast("FilePath[Any]", self.sibling(name))

    def parent(self) -> FilePath[AnyStr]:
        """The containing directory (the root is its own parent)."""
        return self.clonePath(os.path.dirname(self.path))

    def children(self) -> list[FilePath[AnyStr]]:
        """The entries of this directory.

        :raises UnlistableError: it cannot be listed.
        """
        return [self.child(name) for name in self.listdir()]

    def listdir(self) -> list[AnyStr]:
        """The names in this directory.

        :raises UnlistableError: it cannot be listed.
        """
        try:
            return os.listdir(self.path)
        except OSError as e:
            raise UnlistableError(e)

    def globChildren(self, pattern: _Other) -> list[FilePath[_Other]]:
        """The paths below this directory that match the glob ``pattern``.

        :raises InsecurePath: the pattern is absolute or climbs out with ``..``.
        """
        _secureName(pattern)
        if os.path.isabs(pattern):
            raise InsecurePath("glob pattern is absolute")
        sep = _fs(os.sep, pattern)
        if _fs("..", pattern) in pattern.split(sep):
            raise InsecurePath("glob pattern climbs out of the directory")
        ours = self._asSameTypeAs(pattern)
        base = glob.escape(ours)
        found = glob.glob(os.path.join(base, pattern))
        return [self.clonePath(p) for p in found if _inside(os.path.abspath(p), ours)]

    def basename(self) -> AnyStr:
        """The last segment of the path."""
        return os.path.basename(self.path)

    def dirname(self) -> AnyStr:
        """Everything but the last segment."""
        return os.path.dirname(self.path)

    def splitext(self) -> tuple[AnyStr, AnyStr]:
        """:func:`os.path.splitext` of the path."""
        return os.path.splitext(self.path)

    def realpath(self) -> FilePath[AnyStr]:
        """This path with every symbolic link resolved.

        :raises LinkError: the links form a loop.
        """
        try:
            return self.clonePath(os.path.realpath(self.path, strict=True))
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise LinkError("Cyclical link - will loop forever")
            return self.clonePath(os.path.realpath(self.path))

    def isabs(self) -> bool:
        """Always true: a FilePath is absolute."""
        return True

    # -- content ------------------------------------------------------------------------------

    def open(self, mode: str = "r") -> IO[bytes]:
        """Open the file in binary mode (``"r"``, ``"w"``, ``"a"``, with ``"+"``).

        With :attr:`alwaysCreate` a write open fails if the file already exists.
        """
        if self.alwaysCreate:
            if "a" in mode:
                raise ValueError("Appending not supported when alwaysCreate == True")
            return self.create()
        mode = mode.replace("b", "")
        return cast(IO[bytes], open(self.path, mode + "b"))

    def create(self) -> IO[bytes]:
        """Create the file exclusively and open it for reading and writing.

        :raises FileExistsError: it exists already.
        """
        fd = os.open(self.path, os.O_EXCL | os.O_CREAT | os.O_RDWR | getattr(os, "O_BINARY", 0))
        return cast(IO[bytes], os.fdopen(fd, "w+b"))

    def getContent(self) -> bytes:
        """The whole file as bytes."""
        with open(self.path, "rb") as f:
            return f.read()

    def setContent(self, content: bytes, ext: str | bytes = b".new") -> None:
        """Replace the file's content atomically.

        The data goes to a temporary sibling ending in ``ext``, is flushed to disk, and the
        sibling is renamed over this path, so readers see the old content or the new, never
        a mix or a truncated file.
        """
        sib = self.temporarySibling(_fs(ext, self.path))
        try:
            with sib.open("w") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(sib.path, self.path)
        except BaseException:
            try:
                os.unlink(sib.path)
            except OSError:
                pass
            raise
        self.changed()

    # -- metadata -----------------------------------------------------------------------------

    def restat(self, reraise: bool = True) -> None:
        """Read this path's metadata again.

        :param reraise: raise the :class:`OSError` if the path does not exist (else remember
            that it does not).
        """
        try:
            self._statinfo = os.stat(self.path)
        except OSError:
            self._statinfo = None
            if reraise:
                raise

    def changed(self) -> None:
        """Forget the cached metadata; the next query reads it again."""
        self._statinfo = None

    def _stat(self) -> os.stat_result:
        st = self._statinfo
        if st is None:
            self.restat()
            st = self._statinfo
        assert st is not None
        return st

    @property
    def statinfo(self) -> os.stat_result | None:
        """The cached :func:`os.stat` result (read now if not cached), ``None`` if missing."""
        if self._statinfo is None:
            self.restat(False)
        return self._statinfo

    def exists(self) -> bool:
        """Whether anything is at this path (a dangling link counts as missing)."""
        if self._statinfo is not None:
            return True
        self.restat(False)
        return self._statinfo is not None

    def _mode(self) -> int | None:
        st = self.statinfo
        return None if st is None else st.st_mode

    def isdir(self) -> bool:
        """Whether this is a directory (following links)."""
        mode = self._mode()
        return mode is not None and stat.S_ISDIR(mode)

    def isfile(self) -> bool:
        """Whether this is a regular file (following links)."""
        mode = self._mode()
        return mode is not None and stat.S_ISREG(mode)

    def isBlockDevice(self) -> bool:
        """Whether this is a block device."""
        mode = self._mode()
        return mode is not None and stat.S_ISBLK(mode)

    def isSocket(self) -> bool:
        """Whether this is a Unix socket."""
        mode = self._mode()
        return mode is not None and stat.S_ISSOCK(mode)

    def islink(self) -> bool:
        """Whether this path itself is a symbolic link."""
        return os.path.islink(self.path)

    def getsize(self) -> int:
        """The size in bytes."""
        return self._stat().st_size

    def getModificationTime(self) -> float:
        """Last modification time, seconds since the epoch."""
        return self._stat().st_mtime

    def getStatusChangeTime(self) -> float:
        """Last status change time, seconds since the epoch."""
        return self._stat().st_ctime

    def getAccessTime(self) -> float:
        """Last access time, seconds since the epoch."""
        return self._stat().st_atime

    def getInodeNumber(self) -> int:
        """The inode number."""
        return self._stat().st_ino

    def getDevice(self) -> int:
        """The device number the file lives on."""
        return self._stat().st_dev

    def getNumberOfHardLinks(self) -> int:
        """How many hard links point at the file."""
        return self._stat().st_nlink

    def getUserID(self) -> int:
        """The owner's user id."""
        return self._stat().st_uid

    def getGroupID(self) -> int:
        """The owner's group id."""
        return self._stat().st_gid

    def getPermissions(self) -> Permissions:
        """The permission bits."""
        return Permissions(stat.S_IMODE(self._stat().st_mode))

    # -- changes ------------------------------------------------------------------------------

    def chmod(self, mode: int) -> None:
        """Set the permission bits."""
        os.chmod(self.path, mode)
        self.changed()

    def touch(self) -> None:
        """Create the file if missing and set its times to now."""
        try:
            self.open("a").close()
        except OSError:
            pass
        os.utime(self.path, None)
        self.changed()

    def remove(self) -> None:
        """Delete the file, link, or directory with everything in it (links not followed)."""
        if self.isdir() and not self.islink():
            for child in self.children():
                child.remove()
            os.rmdir(self.path)
        else:
            os.remove(self.path)
        self.changed()

    def createDirectory(self) -> None:
        """Create this directory (its parent must exist)."""
        os.mkdir(self.path)
        self.changed()

    def makedirs(self, ignoreExistingDirectory: bool = False) -> None:
        """Create this directory and any missing parents.

        :param ignoreExistingDirectory: succeed quietly if the directory is already there.
        :raises OSError: it exists (unless ignored and a directory), or cannot be created.
        """
        try:
            os.makedirs(self.path)
        except FileExistsError:
            if not (ignoreExistingDirectory and self.isdir()):
                raise
        self.changed()

    def requireCreate(self, val: bool = True) -> None:
        """Make :meth:`open` create the file exclusively (or not)."""
        self.alwaysCreate = val

    def linkTo(self, linkFilePath: FilePath[Any]) -> None:
        """Make ``linkFilePath`` a symbolic link to this path."""
        os.symlink(self.path, linkFilePath.path)

    def copyTo(self, destination: FilePath[Any], followLinks: bool = True) -> None:
        """Copy this file or directory tree to ``destination``.

        :param followLinks: copy what links point to; if false, recreate the links.
        :raises OSError: this is neither a file nor a directory.
        """
        if self.islink() and not followLinks:
            os.symlink(os.readlink(self.path), destination.path)
            return
        if self.isdir():
            if not destination.exists():
                destination.createDirectory()
            for child in self.children():
                child.copyTo(destination.child(child.basename()), followLinks)
        elif self.isfile():
            with self.open() as src, destination.open("w") as dst:
                while True:
                    chunk = src.read(1 << 16)
                    if not chunk:
                        break
                    dst.write(chunk)
        else:
            raise OSError(errno.EINVAL, "Only copying of files and directories supported")
        destination.changed()

    def moveTo(self, destination: FilePath[Any], followLinks: bool = True) -> None:
        """Move this path to ``destination``, copying across file systems when needed."""
        try:
            os.rename(self.path, destination.path)
        except OSError as e:
            if e.errno != errno.EXDEV:
                raise
            # Another file system: copy into a temporary sibling, then rename into place.
            temp = destination.temporarySibling()
            try:
                self.copyTo(temp, followLinks)
                os.rename(temp.path, destination.path)
            except BaseException:
                if temp.exists() or temp.islink():
                    temp.remove()
                raise
            self.remove()
        self.changed()
        destination.changed()

    # -- comparison ---------------------------------------------------------------------------

    def _key(self) -> bytes:
        return os.fsencode(self.path)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FilePath):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: FilePath[Any]) -> bool:
        if not isinstance(other, FilePath):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: FilePath[Any]) -> bool:
        if not isinstance(other, FilePath):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: FilePath[Any]) -> bool:
        if not isinstance(other, FilePath):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: FilePath[Any]) -> bool:
        if not isinstance(other, FilePath):
            return NotImplemented
        return self._key() >= other._key()

    def __hash__(self) -> int:
        return hash((FilePath, self._key()))

    def __repr__(self) -> str:
        return f"FilePath({self.path!r})"
