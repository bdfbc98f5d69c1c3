"""Message text on the client side: line endings normalised and dots stuffed (RFC 5321
4.5.2), in one pass, across chunk boundaries."""

from __future__ import annotations


class DotStuffer:
    """Turns message text into DATA transparency form, a chunk at a time.

    Every line ending (CRLF, bare LF or bare CR) goes out as CRLF, so the next hop can never
    see an end-of-data the client did not mean (the "SMTP smuggling" class); a line starting
    with ``.`` gets a second one.
    """

    def __init__(self) -> None:
        self._atLineStart = True
        self._pendingCR = False

    def feed(self, data: bytes) -> bytes:
        """:return: the stuffed form of ``data``."""
        if not data:
            return b""
        if self._pendingCR:
            data = b"\r" + data
            self._pendingCR = False
        if data.endswith(b"\r"):
            data = data[:-1]
            self._pendingCR = True
            if not data:
                return b""
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        out = []
        atStart = self._atLineStart
        last = len(lines) - 1
        for i, line in enumerate(lines):
            if atStart and line.startswith(b"."):
                out.append(b".")
            out.append(line)
            if i != last:
                out.append(b"\r\n")
                atStart = True
            else:
                atStart = not line and atStart
        self._atLineStart = atStart
        return b"".join(out)

    def end(self) -> bytes:
        """:return: what finishes the text: a last line break if needed, then ``.CRLF``."""
        if self._pendingCR:
            self._pendingCR = False
            return b"\r\n.\r\n"
        if self._atLineStart:
            return b".\r\n"
        return b"\r\n.\r\n"


def stuff(message: bytes) -> bytes:
    """The whole DATA form of ``message``, end marker included."""
    stuffer = DotStuffer()
    return stuffer.feed(message) + stuffer.end()
