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
        # Whole-buffer replaces (in C) rather than a loop over lines: a dot after a line
        # break gets a second one, then every LF becomes CRLF.
        out = data.replace(b"\n.", b"\n..")
        if self._atLineStart and out[:1] == b".":
            out = b"." + out
        self._atLineStart = data[-1:] == b"\n"
        return out.replace(b"\n", b"\r\n")

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
