"""
The global reactor.

Importing this module installs the platform default (epoll where available, else poll, else
select) unless a reactor was installed before; the module object is then replaced by the
reactor itself, so ``from glisten.internet import reactor`` gives the reactor.
"""

from __future__ import annotations

import select
import sys
from typing import Any

del sys.modules["glisten.internet.reactor"]

if hasattr(select, "epoll"):
    from glisten.internet import epollreactor as _default
elif hasattr(select, "poll"):  # pragma: no cover
    from glisten.internet import pollreactor as _default  # type: ignore[no-redef]
else:  # pragma: no cover
    from glisten.internet import selectreactor as _default  # type: ignore[no-redef]

_default.install()


def __getattr__(name: str) -> Any:
    # Never called at run time (the module is replaced by the reactor); it tells type
    # checkers that ``reactor.callLater`` and friends exist.
    raise AttributeError(name)
