"""The per-site store that ``.rpy`` scripts and other processors share, as
``twisted.web.static.Registry``."""

from __future__ import annotations

import os
from typing import Any

from glisten.python.components import Componentized


class Registry(Componentized):
    """Holds resources cached by path (``.rpy`` scripts that called ``cache()``) and
    components that scripts share: the place for state that outlives one request.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pathCache: dict[str, tuple[Any, int | None]] = {}

    def _mtime(self, path: str) -> int | None:
        try:
            return os.stat(path).st_mtime_ns
        except OSError:
            return None

    def cachePath(self, path: str, rsrc: Any) -> None:
        """Remember ``rsrc`` as what ``path`` gives, until the file changes."""
        self._pathCache[path] = (rsrc, self._mtime(path))

    def getCachedPath(self, path: str) -> Any:
        """What :meth:`cachePath` remembered for ``path``, or ``None`` (also once the file
        was modified since)."""
        entry = self._pathCache.get(path)
        if entry is None:
            return None
        rsrc, mtime = entry
        if mtime != self._mtime(path):
            del self._pathCache[path]
            return None
        return rsrc
