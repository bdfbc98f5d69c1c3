"""Temporary attribute replacement for tests: :class:`MonkeyPatcher`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["MonkeyPatcher"]

_T = TypeVar("_T")
_NOT_SET = object()


class MonkeyPatcher:
    """Sets attributes on :meth:`patch` and puts the old values back on :meth:`restore`.

    Also a context manager: ``with MonkeyPatcher((obj, "name", value)): ...``.
    """

    def __init__(self, *patches: tuple[Any, str, Any]) -> None:
        self._patchesToApply: list[tuple[Any, str, Any]] = []
        self._originals: list[tuple[Any, str, Any]] = []
        for patch in patches:
            self.addPatch(*patch)

    def addPatch(self, obj: Any, name: str, value: Any) -> None:
        """Set ``obj.name = value`` when :meth:`patch` is called."""
        self._patchesToApply.append((obj, name, value))

    def _alreadyPatched(self, obj: Any, name: str) -> bool:
        return any(o is obj and n == name for o, n, _ in self._originals)

    def patch(self) -> None:
        """Apply every patch (remembering the original values)."""
        for obj, name, value in self._patchesToApply:
            if not self._alreadyPatched(obj, name):
                self._originals.append((obj, name, getattr(obj, name, _NOT_SET)))
            setattr(obj, name, value)

    def restore(self) -> None:
        """Put back the original values (deleting attributes that did not exist)."""
        while self._originals:
            obj, name, value = self._originals.pop()
            if value is _NOT_SET:
                delattr(obj, name)
            else:
                setattr(obj, name, value)

    def runWithPatches(self, f: Callable[..., _T], *args: Any, **kw: Any) -> _T:
        """Call ``f`` with the patches applied, restoring them afterwards."""
        self.patch()
        try:
            return f(*args, **kw)
        finally:
            self.restore()

    def __enter__(self) -> MonkeyPatcher:
        self.patch()
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()
