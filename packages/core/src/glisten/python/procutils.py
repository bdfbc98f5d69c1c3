"""Finding programs on ``PATH``."""

from __future__ import annotations

import os

__all__ = ["which"]


def which(name: str, flags: int = os.X_OK) -> list[str]:
    """Every file called ``name`` (plus each ``PATHEXT`` extension) on ``PATH`` with access ``flags``.

    :return: the full paths, in ``PATH`` order (empty if none).
    """
    result = []
    exts = [e for e in os.environ.get("PATHEXT", "").split(os.pathsep) if e]
    path = os.environ.get("PATH")
    if path is None:
        return []
    for p in path.split(os.pathsep):
        candidate = os.path.join(p, name)
        if os.access(candidate, flags) and not os.path.isdir(candidate):
            result.append(candidate)
        for e in exts:
            withExt = candidate + e
            if os.access(withExt, flags):
                result.append(withExt)
    return result
