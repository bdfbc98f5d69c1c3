"""SSH wire helpers under Twisted's names (``NS``, ``getNS``, ``MP``, ``getMP``)."""

from __future__ import annotations

from glisten.conch.ssh._ssh._wire import Reader, mpint, string

__all__ = ["MP", "NS", "ffs", "getMP", "getNS"]


def NS(t: bytes | str) -> bytes:
    """Encode an SSH ``string``."""
    if isinstance(t, str):
        t = t.encode("utf-8")
    return string(t)


def getNS(s: bytes, count: int = 1) -> tuple[bytes, ...]:
    """
    Read ``count`` strings from ``s``.

    :return: the strings followed by what is left of ``s``.
    :raises glisten.conch.ssh._ssh._errors.DecodeError: ``s`` is too short.
    """
    r = Reader(s, maxString=len(s))
    values = [r.string() for _ in range(count)]
    return (*values, r.rest())


def MP(number: int) -> bytes:
    """Encode an SSH ``mpint``."""
    return mpint(number)


def getMP(data: bytes, count: int = 1) -> tuple[int | bytes, ...]:
    """Read ``count`` mpints from ``data``; the last item is what is left."""
    r = Reader(data, maxString=len(data))
    values: list[int | bytes] = [r.mpint() for _ in range(count)]
    return (*values, r.rest())


def ffs(c: list[bytes], s: list[bytes]) -> bytes | None:
    """The first item of ``c`` that is also in ``s`` (algorithm negotiation)."""
    for i in c:
        if i in s:
            return i
    return None
