"""
SFTP over the local file system, confined to one folder (Twisted's ``twisted.conch.unix``
names, with confinement Twisted's version lacks).

Paths are resolved one component at a time from a descriptor of the root folder, with
``O_NOFOLLOW`` at each step: ``..`` stops at the root, and symbolic links are followed by
glisten itself, with an absolute target meaning a path under the root (as in a chroot). A
directory swapped for a link between two steps makes the step fail instead of leaving the
root. Files run as the server's user; the root is the only boundary.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from typing import Any

from zope.interface import implementer

from glisten.conch._processsession import ProcessAvatar
from glisten.conch.interfaces import ISFTPFile, ISFTPServer
from glisten.conch.ls import lsLine
from glisten.conch.ssh.filetransfer import (
    FX_BAD_MESSAGE,
    FX_FAILURE,
    FX_OP_UNSUPPORTED,
    FXF_APPEND,
    FXF_CREAT,
    FXF_EXCL,
    FXF_READ,
    FXF_TRUNC,
    FXF_WRITE,
    SFTPError,
)
from glisten.python.components import registerAdapter

__all__ = ["SFTPServerForUnixConchUser", "UnixSFTPDirectory", "UnixSFTPFile"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MAX_LINKS = 40


def _attrsFromStat(s: os.stat_result) -> dict[str, Any]:
    return {
        "size": s.st_size,
        "uid": s.st_uid,
        "gid": s.st_gid,
        "permissions": s.st_mode,
        "atime": int(s.st_atime) & 0xFFFFFFFF,
        "mtime": int(s.st_mtime) & 0xFFFFFFFF,
    }


class _Place:
    """A resolved path: a descriptor of its folder, its last name, and its path under the root."""

    __slots__ = ("fd", "name", "path")

    def __init__(self, fd: int, name: bytes, path: bytes) -> None:
        self.fd = fd
        self.name = name
        self.path = path

    def __enter__(self) -> _Place:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _setAttrs(target: Any, attrs: dict[str, Any]) -> None:
    """Apply attributes to a descriptor (``int``) or a ``/proc/self/fd`` path."""
    if "size" in attrs:
        os.truncate(target, attrs["size"])
    if "uid" in attrs and "gid" in attrs:
        os.chown(target, attrs["uid"], attrs["gid"])
    if "permissions" in attrs:
        os.chmod(target, attrs["permissions"] & 0o7777)
    if "atime" in attrs and "mtime" in attrs:
        os.utime(target, (attrs["atime"], attrs["mtime"]))


@implementer(ISFTPServer)
class SFTPServerForUnixConchUser:
    """
    Serves the folder ``root`` as ``/``.

    :param avatar: the user; its ``sftpRoot`` is the root when ``root`` is not given.
    :param root: the folder the user is confined to.
    """

    def __init__(self, avatar: Any, root: str | bytes | None = None) -> None:
        self.avatar = avatar
        if root is None:
            root = getattr(avatar, "sftpRoot", None)
        if root is None:
            raise ValueError("no SFTP root folder")
        self.root = os.path.realpath(os.fsencode(root))
        if not os.path.isdir(self.root):
            raise ValueError("the SFTP root is not a folder")

    def _resolve(self, path: bytes, follow: bool = True) -> _Place:
        """
        Walk ``path`` under the root.

        :param follow: follow a link in the last component too.
        :return: a place whose descriptor the caller closes.
        """
        if b"\x00" in path:
            raise SFTPError(FX_BAD_MESSAGE, "bad path")
        todo = [p for p in reversed(path.split(b"/")) if p]
        fds = [os.open(self.root, _DIR_FLAGS)]
        names: list[bytes] = []
        links = 0
        try:
            while todo:
                name = todo.pop()
                if name == b".":
                    continue
                if name == b"..":
                    if len(fds) > 1:
                        os.close(fds.pop())
                        names.pop()
                    continue
                last = not todo
                if last and not follow:
                    return self._place(fds, names, name)
                try:
                    st = os.stat(name, dir_fd=fds[-1], follow_symlinks=False)
                except FileNotFoundError:
                    if last:
                        return self._place(fds, names, name)
                    raise
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > _MAX_LINKS:
                        raise OSError(errno.ELOOP, "too many levels of links")
                    target = os.readlink(name, dir_fd=fds[-1])
                    if target.startswith(b"/"):
                        while len(fds) > 1:
                            os.close(fds.pop())
                        names.clear()
                    todo.extend(p for p in reversed(target.split(b"/")) if p)
                    continue
                if last:
                    return self._place(fds, names, name)
                fds.append(os.open(name, _DIR_FLAGS, dir_fd=fds[-1]))
                names.append(name)
            return self._place(fds, names, b".")
        finally:
            for fd in fds:
                os.close(fd)

    @staticmethod
    def _place(fds: list[int], names: list[bytes], name: bytes) -> _Place:
        fd = fds.pop()
        parts = [*names, name] if name != b"." else names
        return _Place(fd, name, b"/" + b"/".join(parts))

    # ------------------------------------------------------------------ ISFTPServer

    def gotVersion(self, otherVersion: int, extData: dict[bytes, bytes]) -> dict[bytes, bytes]:
        return {}

    def openFile(self, filename: bytes, flags: int, attrs: dict[str, Any]) -> UnixSFTPFile:
        if flags & FXF_READ and flags & FXF_WRITE:
            mode = os.O_RDWR
        elif flags & FXF_WRITE:
            mode = os.O_WRONLY
        else:
            mode = os.O_RDONLY
        for fxf, osFlag in (
            (FXF_APPEND, os.O_APPEND),
            (FXF_CREAT, os.O_CREAT),
            (FXF_TRUNC, os.O_TRUNC),
            (FXF_EXCL, os.O_EXCL),
        ):
            if flags & fxf:
                mode |= osFlag
        # O_NONBLOCK: opening a FIFO someone left in the root must not block the server.
        mode |= os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        permissions = attrs.get("permissions", 0o666) & 0o777
        with self._resolve(filename) as place:
            fd = os.open(place.name, mode, permissions, dir_fd=place.fd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SFTPError(FX_FAILURE, "not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return UnixSFTPFile(fd)

    def removeFile(self, filename: bytes) -> None:
        with self._resolve(filename, follow=False) as place:
            os.unlink(place.name, dir_fd=place.fd)

    def renameFile(self, oldpath: bytes, newpath: bytes) -> None:
        with self._resolve(oldpath, False) as old, self._resolve(newpath, False) as new:
            try:
                os.stat(new.name, dir_fd=new.fd, follow_symlinks=False)
            except FileNotFoundError:
                pass
            else:
                raise SFTPError(FX_FAILURE, "the new name exists")
            os.rename(old.name, new.name, src_dir_fd=old.fd, dst_dir_fd=new.fd)

    def posixRename(self, oldpath: bytes, newpath: bytes) -> None:
        """``posix-rename@openssh.com``: replace ``newpath`` if it exists."""
        with self._resolve(oldpath, False) as old, self._resolve(newpath, False) as new:
            os.rename(old.name, new.name, src_dir_fd=old.fd, dst_dir_fd=new.fd)

    def makeHardLink(self, oldpath: bytes, newpath: bytes) -> None:
        """``hardlink@openssh.com``."""
        with self._resolve(oldpath, False) as old, self._resolve(newpath, False) as new:
            os.link(old.name, new.name, src_dir_fd=old.fd, dst_dir_fd=new.fd, follow_symlinks=False)

    def statVFS(self, path: bytes) -> tuple[int, ...]:
        """``statvfs@openssh.com``: the file system holding ``path``."""
        with self._resolve(path) as place:
            v = os.fstatvfs(place.fd)
        flag = v.f_flag & (os.ST_RDONLY | os.ST_NOSUID)
        return (
            v.f_bsize,
            v.f_frsize,
            v.f_blocks,
            v.f_bfree,
            v.f_bavail,
            v.f_files,
            v.f_ffree,
            v.f_favail,
            v.f_fsid & 0xFFFFFFFFFFFFFFFF,
            flag,
            v.f_namemax,
        )

    def makeDirectory(self, path: bytes, attrs: dict[str, Any]) -> None:
        with self._resolve(path, False) as place:
            os.mkdir(place.name, attrs.get("permissions", 0o777) & 0o777, dir_fd=place.fd)

    def removeDirectory(self, path: bytes) -> None:
        with self._resolve(path, False) as place:
            os.rmdir(place.name, dir_fd=place.fd)

    def openDirectory(self, path: bytes) -> UnixSFTPDirectory:
        with self._resolve(path) as place:
            fd = os.open(place.name, _DIR_FLAGS, dir_fd=place.fd)
        return UnixSFTPDirectory(fd)

    def getAttrs(self, path: bytes, followLinks: bool) -> dict[str, Any]:
        with self._resolve(path, followLinks) as place:
            return _attrsFromStat(os.stat(place.name, dir_fd=place.fd, follow_symlinks=False))

    def setAttrs(self, path: bytes, attrs: dict[str, Any]) -> None:
        with self._resolve(path) as place:
            fd = os.open(place.name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=place.fd)
        try:
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise SFTPError(FX_FAILURE, "a link changed while it was resolved")
            _setAttrs(f"/proc/self/fd/{fd}", attrs)
        finally:
            os.close(fd)

    def readLink(self, path: bytes) -> bytes:
        with self._resolve(path, False) as place:
            return os.readlink(place.name, dir_fd=place.fd)

    def makeLink(self, linkPath: bytes, targetPath: bytes) -> None:
        if b"\x00" in targetPath or not targetPath:
            raise SFTPError(FX_BAD_MESSAGE, "bad link target")
        with self._resolve(linkPath, False) as place:
            os.symlink(targetPath, place.name, dir_fd=place.fd)

    def realPath(self, path: bytes) -> bytes:
        with self._resolve(path) as place:
            return place.path

    def extendedRequest(self, extendedName: bytes, extendedData: bytes) -> bytes:
        raise SFTPError(FX_OP_UNSUPPORTED, "unsupported extension")


@implementer(ISFTPFile)
class UnixSFTPFile:
    """An open file of :class:`SFTPServerForUnixConchUser`, read and written by offset."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def readChunk(self, offset: int, length: int) -> bytes:
        data = os.pread(self.fd, length, offset)
        if not data:
            raise EOFError("end of file")
        return data

    def writeChunk(self, offset: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, offset)
            view = view[written:]
            offset += written

    def getAttrs(self) -> dict[str, Any]:
        return _attrsFromStat(os.fstat(self.fd))

    def setAttrs(self, attrs: dict[str, Any]) -> None:
        _setAttrs(self.fd, attrs)

    def fsync(self) -> None:
        """``fsync@openssh.com``."""
        os.fsync(self.fd)


class UnixSFTPDirectory:
    """The entries of an open folder as ``(filename, longname, attrs)``, ``.`` and ``..`` first."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        # listdir(fd) gives str names: back to the bytes the file system holds.
        self._names = [b".", b"..", *map(os.fsencode, os.listdir(fd))]
        self._entries = self._walk()

    def _walk(self) -> Iterator[tuple[bytes, bytes, dict[str, Any]]]:
        for name in self._names:
            try:
                # ".." of the root is outside it: show the folder's own attributes instead.
                s = os.stat(b"." if name == b".." else name, dir_fd=self.fd, follow_symlinks=False)
            except OSError:
                continue
            yield name, lsLine(name, s), _attrsFromStat(s)

    def __iter__(self) -> Iterator[tuple[bytes, bytes, dict[str, Any]]]:
        return self._entries

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


registerAdapter(SFTPServerForUnixConchUser, ProcessAvatar, ISFTPServer)
