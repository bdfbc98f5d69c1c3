"""Durable file writes: what "written" means before a server may answer 250."""

from __future__ import annotations

import os


def fsyncDirectory(path: str) -> None:
    """Flush a folder's entries (new names, renames) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def writeDurably(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically and durably: a temporary file in the same
    folder, fsynced, renamed over ``path``, and the folder fsynced."""
    folder = os.path.dirname(path) or "."
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsyncDirectory(folder)
