"""The parser of the header block a CGI script writes before its body (RFC 3875 section 6).

It takes the script's output in pieces of any size, accepts only header lines a response may
carry (a token name, a value without control characters), within
:class:`~glisten.web._cgi._limits.CGILimits`, and raises
:class:`~glisten.web._cgi._errors.CGIResponseError` (whose message never quotes the script's
bytes) for anything else. So a script, or input it echoes, cannot smuggle a second header or a
second response into the connection.
"""

from __future__ import annotations

import attrs

from glisten.web._cgi._errors import CGIResponseError
from glisten.web._cgi._limits import CGILimits
from glisten.web._h11._parse import TOKEN_CHARS as _TOKEN

#: Response header fields a script may not set.
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection", b"keep-alive"})


@attrs.define
class CGIHead:
    """A parsed header block.

    :ivar status: The status code (``Status:``, else 302 with ``Location:``, else 200).
    :ivar reason: The reason phrase from ``Status:``, or ``None``.
    :ivar headers: The other header fields, in order, names lower-cased.
    """

    status: int
    reason: bytes | None
    headers: list[tuple[bytes, bytes]]


def _validValue(value: bytes) -> bool:
    return not any(c < 0x20 and c != 0x09 or c == 0x7F for c in value)


class CGIResponseParser:
    """Splits a script's output into its head and its body.

    :param limits: The limits.
    """

    def __init__(self, limits: CGILimits | None = None) -> None:
        self._limits = limits or CGILimits()
        self._buffer = b""
        self.head: CGIHead | None = None

    def receiveData(self, data: bytes) -> tuple[CGIHead | None, bytes]:
        """Feed output.

        :return: The head, the first time it is complete (else ``None``), and body bytes
            that followed it (or all of ``data`` once the head is done).
        :raises CGIResponseError: The header block is malformed or too large.
        """
        if self.head is not None:
            return None, data
        self._buffer += data
        # The head ends at the first empty line, whether lines end in LF or CRLF.
        candidates = [
            (at, len(sep)) for sep in (b"\n\n", b"\n\r\n") if (at := self._buffer.find(sep)) != -1
        ]
        if not candidates:
            if len(self._buffer) > self._limits.maxHeaderBytes:
                raise CGIResponseError("CGI header block too large")
            return None, b""
        at, length = min(candidates)
        if at > self._limits.maxHeaderBytes:
            raise CGIResponseError("CGI header block too large")
        block, body = self._buffer[:at].rstrip(b"\r"), self._buffer[at + length :]
        self._buffer = b""
        self.head = self._parse(block)
        return self.head, body

    def _parse(self, block: bytes) -> CGIHead:
        lines = block.replace(b"\r\n", b"\n").split(b"\n")
        if len(lines) > self._limits.maxHeaders:
            raise CGIResponseError("too many CGI header lines")
        status: int | None = None
        reason: bytes | None = None
        headers: list[tuple[bytes, bytes]] = []
        hasLocation = False
        hasType = False
        for line in lines:
            name, sep, value = line.partition(b":")
            if not sep or not name or any(c not in _TOKEN for c in name):
                raise CGIResponseError("malformed CGI header line")
            value = value.strip(b" \t")
            if not _validValue(value):
                raise CGIResponseError("control character in a CGI header value")
            lower = name.lower()
            if lower == b"status":
                code, _, phrase = value.partition(b" ")
                if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 599:
                    raise CGIResponseError("malformed CGI Status header")
                status = int(code)
                reason = phrase.strip() or None
                continue
            if lower in _FRAMING:
                # Framing is the server's business: a script's own Content-Length or
                # Transfer-Encoding could contradict the body it writes.
                continue
            if lower == b"location":
                hasLocation = True
            elif lower == b"content-type":
                hasType = True
            headers.append((lower, value))
        if not (hasType or hasLocation or status is not None):
            raise CGIResponseError("CGI response has no Content-Type, Location or Status")
        if status is None:
            status = 302 if hasLocation else 200
        return CGIHead(status, reason, headers)
