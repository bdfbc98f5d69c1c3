"""``ls -l`` style lines, the ``longname`` of SFTP directory listings (Twisted's
``twisted.conch.ls``)."""

from __future__ import annotations

import stat
import time
from typing import Any, overload

__all__ = ["lsLine"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SIX_MONTHS = 182 * 24 * 3600


@overload
def lsLine(name: str, s: Any) -> str: ...
@overload
def lsLine(name: bytes, s: Any) -> bytes: ...
def lsLine(name: str | bytes, s: Any) -> str | bytes:
    """
    One ``ls -l`` line for ``name`` with the ``os.stat_result``-like ``s``.

    Owners are numeric and month names English, so the line does not depend on the locale or
    on the user database (clients only show it).

    :return: the line, ``bytes`` when ``name`` is.
    """
    when = time.localtime(s.st_mtime)
    if s.st_mtime + _SIX_MONTHS < time.time():
        stamp = f"{_MONTHS[when.tm_mon - 1]} {when.tm_mday:2d}  {when.tm_year}"
    else:
        stamp = f"{_MONTHS[when.tm_mon - 1]} {when.tm_mday:2d} {when.tm_hour:02d}:{when.tm_min:02d}"
    head = (
        f"{stat.filemode(s.st_mode)} {s.st_nlink:4d} {s.st_uid:<8d} {s.st_gid:<8d} "
        f"{s.st_size:8d} {stamp} "
    )
    if isinstance(name, bytes):
        return head.encode("ascii") + name
    return head + name
