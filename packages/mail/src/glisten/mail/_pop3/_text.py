"""Message text on the POP3 wire: CRLF line ends, byte-stuffing (RFC 1939 3), and the
header-plus-``n``-lines cut of ``TOP``."""

from __future__ import annotations


def toCRLF(data: bytes) -> bytes:
    """Line ends as CRLF, whatever the store used (maildir files use LF)."""
    lf = data.count(b"\n")
    if not lf or lf == data.count(b"\r\n"):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def topOf(message: bytes, lines: int) -> bytes:
    """The header, the blank line and the first ``lines`` lines of the body of a message
    that has CRLF line ends."""
    end = message.find(b"\r\n\r\n")
    if end < 0:
        return message
    cut = end + 4
    for _ in range(lines):
        nxt = message.find(b"\r\n", cut)
        if nxt < 0:
            return message
        cut = nxt + 2
    return message[:cut]


def stuffedPieces(data: bytes) -> list[bytes]:
    """:func:`stuff` for text that already has CRLF line ends, as pieces to write (no copy
    of the whole message when nothing needs stuffing)."""
    if data.startswith(b"."):
        data = b"." + data
    if b"\r\n." in data:
        data = data.replace(b"\r\n.", b"\r\n..")
    if data and not data.endswith(b"\r\n"):
        return [data, b"\r\n.\r\n"]
    return [data, b".\r\n"]


def stuff(message: bytes) -> bytes:
    """A multi-line body ready to send: CRLF line ends, lines starting with ``.`` doubled,
    the ``.`` terminator line appended. Linear in the message's size."""
    return b"".join(stuffedPieces(toCRLF(message)))
