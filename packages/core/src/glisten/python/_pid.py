"""Whether a process id names a live process: lock files and pid files both ask."""

from __future__ import annotations

import os


def pidIsRunning(pid: int) -> bool:
    """
    :return: whether a process with this id exists (one owned by another user counts).
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
