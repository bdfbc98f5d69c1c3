"""A lock between processes made of a symbolic link, as Twisted's ``FilesystemLock``.

The lock is a symlink whose target is the owner's process id. Creating a symlink is atomic,
so two processes cannot both take it; a lock left by a process that died is noticed (its pid
no longer exists) and taken over. The format is Twisted's, so the two interoperate.
"""

from __future__ import annotations

import errno
import os

__all__ = ["FilesystemLock", "isLocked"]


def _pidAlive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as e:
        if e.errno == errno.ESRCH:
            return False
        if e.errno == errno.EPERM:
            return True
        raise
    return True


class FilesystemLock:
    """A lock named by a path.

    :ivar name: the path of the lock.
    :ivar locked: whether this object holds the lock.
    :ivar clean: after :meth:`lock` succeeded, false if a stale lock had to be broken.
    """

    clean: bool | None = None
    locked = False

    def __init__(self, name: str) -> None:
        self.name = name

    def lock(self) -> bool:
        """Take the lock if nobody alive holds it.

        :return: true if it is now held by this process.
        """
        clean = True
        while True:
            try:
                os.symlink(str(os.getpid()), self.name)
            except FileExistsError:
                try:
                    pid = int(os.readlink(self.name))
                except FileNotFoundError:
                    # Released between our two calls: try again.
                    continue
                except (OSError, ValueError):
                    # Not one of our locks (a file, or garbage): do not break it.
                    return False
                if _pidAlive(pid):
                    return False
                # The owner is gone. Remove its link unless somebody else already did and
                # took the lock in the meantime (then the pid we read is no longer there).
                try:
                    if os.readlink(self.name) != str(pid):
                        continue
                    os.remove(self.name)
                except FileNotFoundError:
                    pass
                clean = False
                continue
            self.locked = True
            self.clean = clean
            return True

    def unlock(self) -> None:
        """Release the lock.

        :raises ValueError: this process does not hold it.
        """
        try:
            pid = os.readlink(self.name)
        except OSError:
            raise ValueError(f"Lock {self.name!r} not owned by this process")
        if int(pid) != os.getpid():
            raise ValueError(f"Lock {self.name!r} not owned by this process")
        os.remove(self.name)
        self.locked = False


def isLocked(name: str) -> bool:
    """Whether a live process holds the lock ``name`` (by trying to take it)."""
    lock = FilesystemLock(name)
    result = False
    try:
        result = lock.lock()
    finally:
        if result:
            lock.unlock()
    return not result
