"""The CGI side of :mod:`glisten.web.twcgi`, without I/O: the environment a script gets
(RFC 3875 section 4.1) and the parser of the header block it writes (section 6).

The parser takes the script's output in pieces of any size, accepts only header lines a
response may carry (a token name, a value without control characters), within
:class:`CGILimits`, and raises :class:`CGIResponseError` (whose message never quotes the
script's bytes) for anything else. So a script, or input it echoes, cannot smuggle a second
header or a second response into the connection.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

#: Request header fields never passed to a script: ``Proxy`` would become ``HTTP_PROXY``, which
#: many HTTP libraries take as their proxy setting ("httpoxy", CVE-2016-5385), and
#: ``Authorization`` carries credentials (RFC 3875 section 4.1.18 says not to pass it).
_WITHHELD = frozenset({b"proxy", b"authorization", b"proxy-authorization"})


#: Response header fields a script may not set.
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection", b"keep-alive"})


@attrs.frozen
class CGILimits:
    """How much header a script may write.

    :ivar maxHeaderBytes: The whole header block.
    :ivar maxHeaders: Header lines.
    """

    maxHeaderBytes: int = 64 * 1024
    maxHeaders: int = 100


class CGIResponseError(Exception):
    """The script's output does not start with a valid CGI header block."""


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


def cgiEnvironment(
    *,
    method: bytes,
    uri: bytes,
    clientproto: bytes,
    scriptName: str,
    scriptFilename: str,
    pathInfo: str | None,
    serverName: bytes,
    serverPort: int,
    remoteAddr: str | None,
    secure: bool,
    headers: Mapping[bytes, bytes],
    contentLength: int | None,
    serverSoftware: str,
    passEnvironment: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The meta-variables of RFC 3875 section 4.1 for one request, plus ``HTTP_*`` for its
    header fields (except :data:`_WITHHELD` ones and names with ``_``, which could pose as
    others), ``REQUEST_URI``, ``SCRIPT_FILENAME`` and ``HTTPS``.

    :param passEnvironment: Variables of the server's own environment to pass on; only
        ``PATH`` by default: the server's environment may hold secrets.
    """

    def text(value: bytes) -> str:
        return os.fsdecode(value)

    env: dict[str, str] = {}
    if passEnvironment is None:
        passEnvironment = {"PATH": os.environ.get("PATH", os.defpath)}
    env.update(passEnvironment)
    query = uri.partition(b"?")[2]
    env.update(
        {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": serverSoftware,
            "SERVER_NAME": text(serverName),
            "SERVER_PORT": str(serverPort),
            "SERVER_PROTOCOL": text(clientproto),
            "REQUEST_METHOD": text(method),
            "REQUEST_URI": text(uri),
            "SCRIPT_NAME": scriptName,
            "SCRIPT_FILENAME": scriptFilename,
            "QUERY_STRING": text(query),
        }
    )
    if remoteAddr:
        env["REMOTE_ADDR"] = env["REMOTE_HOST"] = remoteAddr
    if pathInfo is not None:
        env["PATH_INFO"] = pathInfo
    if secure:
        env["HTTPS"] = "on"
    if contentLength is not None:
        env["CONTENT_LENGTH"] = str(contentLength)
    authorization = headers.get(b"authorization")
    if authorization:
        scheme = authorization.split(b" ", 1)[0]
        if scheme and all(c in _TOKEN for c in scheme):
            env["AUTH_TYPE"] = text(scheme)
    for name, value in headers.items():
        lower = name.lower()
        if lower in _WITHHELD or b"_" in lower or lower == b"content-length":
            continue
        if any(c not in _TOKEN for c in lower) or b"\0" in value:
            continue
        if lower == b"content-type":
            env["CONTENT_TYPE"] = text(value)
            continue
        key = "HTTP_" + text(lower).upper().replace("-", "_")
        env[key] = text(value)
    return env
