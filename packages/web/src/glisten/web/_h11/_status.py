"""Status codes and their reason phrases."""

from __future__ import annotations

from http import HTTPStatus

#: Status code -> reason phrase, for every code the standard library knows.
RESPONSES: dict[int, bytes] = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}


def reasonPhrase(status: int) -> bytes:
    """The standard reason phrase, or ``Unknown Status`` for an unregistered code."""
    return RESPONSES.get(status, b"Unknown Status")
