"""
Helpers for raw file descriptors: non-blocking mode, close-on-exec, reads and writes mapped to
the reactor's connection errors.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable

from glisten.internet import error

CONNECTION_LOST = error.ConnectionLost()
CONNECTION_DONE = error.ConnectionDone()


def setNonBlocking(fd: int) -> None:
    """
    Make ``fd`` non-blocking.
    """
    os.set_blocking(fd, False)


def setBlocking(fd: int) -> None:
    """
    Make ``fd`` blocking.
    """
    os.set_blocking(fd, True)


def _setCloseOnExec(fd: int) -> None:
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)


def _unsetCloseOnExec(fd: int) -> None:
    flags = fcntl.fcntl(fd, fcntl.F_GETFD)
    fcntl.fcntl(fd, fcntl.F_SETFD, flags & ~fcntl.FD_CLOEXEC)


def readFromFD(fd: int, callback: Callable[[bytes], object]) -> int | Exception | None:
    """
    Read what is available on ``fd`` and pass it to ``callback``.

    :return: None normally, ConnectionDone at end of file, ConnectionLost on error.
    """
    try:
        output = os.read(fd, 8192)
    except BlockingIOError:
        return None
    except InterruptedError:
        return None
    except OSError as ioe:
        if ioe.errno == errno.EAGAIN:
            return None
        return CONNECTION_LOST
    if not output:
        return CONNECTION_DONE
    callback(output)
    return None


def writeToFD(fd: int, data: bytes) -> int | Exception:
    """
    Write as much of ``data`` as ``fd`` takes.

    :return: the number of bytes written, or ConnectionLost.
    """
    try:
        return os.write(fd, data)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError as io:
        if io.errno in (errno.EAGAIN, errno.EINTR, errno.ENOSPC):
            return 0
        return CONNECTION_LOST


__all__ = ["readFromFD", "setBlocking", "setNonBlocking", "writeToFD"]
