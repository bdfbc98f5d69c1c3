"""Writing and reading SMTP replies (RFC 5321 4.2), with RFC 3463 enhanced status codes."""

from __future__ import annotations

from collections.abc import Sequence

from glisten.mail._smtp._errors import SMTPProtocolError
from glisten.mail._smtp._events import Reply
from glisten.mail._smtp._limits import Limits

_DIGITS = b"0123456789"


#: Controls (CR and LF among them) become spaces: reply text stays on its line.
_CLEAN = bytes(c if 32 <= c != 127 else 32 for c in range(256))


def _clean(text: bytes) -> bytes:
    return text.translate(_CLEAN)


def formatReply(code: int, text: bytes | Sequence[bytes], enhanced: bytes | None = None) -> bytes:
    """Format a reply; ``text`` as a sequence gives a multi-line reply.

    :param enhanced: An RFC 3463 code such as ``b"2.1.0"`` put before each line's text.
    """
    lines = [text] if isinstance(text, bytes) else list(text) or [b""]
    prefix = b"%d" % code
    out = []
    last = len(lines) - 1
    for i, line in enumerate(lines):
        line = _clean(line)
        if enhanced:
            line = enhanced + b" " + line if line else enhanced
        out.append(prefix + (b" " if i == last else b"-") + line + b"\r\n")
    return b"".join(out)


class ReplyReader:
    """Reads replies from a server, one complete (possibly multi-line) reply at a time.

    :param limits: ``maxReplyLine`` and ``maxReplyLines`` apply.
    """

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._buf = bytearray()
        self._scan = 0
        self._lines: list[bytes] = []
        self._code = 0

    def feed(self, data: bytes) -> list[Reply]:
        """Add bytes; return the replies completed by them.

        :raises SMTPProtocolError: on a malformed or oversized reply.
        """
        buf = self._buf
        buf += data
        replies: list[Reply] = []
        pos = 0
        maxLine = self._limits.maxReplyLine
        while True:
            end = buf.find(b"\n", max(pos, self._scan))
            if end < 0:
                if len(buf) - pos > maxLine:
                    raise SMTPProtocolError("reply line too long")
                self._scan = len(buf)
                break
            line = bytes(buf[pos:end])
            pos = end + 1
            self._scan = pos
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > maxLine:
                raise SMTPProtocolError("reply line too long")
            if (
                len(line) < 3
                or line[0] not in b"2345"
                or line[1] not in _DIGITS
                or line[2] not in _DIGITS
                or (len(line) > 3 and line[3] not in b" -")
            ):
                raise SMTPProtocolError("malformed reply line")
            code = int(line[:3])
            if self._lines and code != self._code:
                raise SMTPProtocolError("reply lines with different codes")
            self._code = code
            self._lines.append(line[4:])
            if len(self._lines) > self._limits.maxReplyLines:
                raise SMTPProtocolError("reply has too many lines")
            if len(line) == 3 or line[3] == 0x20:
                replies.append(Reply(code, tuple(self._lines)))
                self._lines = []
        del buf[:pos]
        self._scan -= pos
        return replies
