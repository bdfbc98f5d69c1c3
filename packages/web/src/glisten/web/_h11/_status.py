"""Status codes and their reason phrases, with the status lines built once."""

from __future__ import annotations

from http import HTTPStatus

#: Status code -> reason phrase, for every code the standard library knows.
RESPONSES: dict[int, bytes] = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}
_LINES: dict[int, bytes] = {
    code: b"HTTP/1.1 %d %s\r\n" % (code, phrase) for code, phrase in RESPONSES.items()
}


def reasonPhrase(status: int) -> bytes:
    """The standard reason phrase, or ``Unknown Status`` for an unregistered code."""
    return RESPONSES.get(status, b"Unknown Status")


def statusLine(status: int) -> bytes:
    """``HTTP/1.1 <code> <phrase>\\r\\n``, prebuilt for known codes."""
    line = _LINES.get(status)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, reasonPhrase(status))
    return line
