"""Parsing and writing the ``auth-param`` lists of HTTP authentication headers (RFC 9110
section 11), without I/O: ``username="bob", nc=00000001`` to a dict and back.

The parser accepts only what the grammar allows, within :data:`MAX_HEADER` bytes and
:data:`MAX_PARAMS` parameters; anything else raises :class:`AuthHeaderError`, whose message
never contains the client's bytes.
"""

from __future__ import annotations

from glisten.web._h11._parse import TOKEN_CHARS as _TOKEN

#: Longest credentials accepted, in bytes.
MAX_HEADER = 8192
#: Most parameters accepted in one header.
MAX_PARAMS = 32


class AuthHeaderError(ValueError):
    """Malformed authentication parameters."""


def parseParams(data: bytes) -> dict[bytes, bytes]:
    """``k=v`` pairs separated by commas; values are tokens or quoted strings.

    :return: Lower-cased names to unquoted values.
    :raises AuthHeaderError: The text does not follow the grammar, repeats a name, or is too
        long.
    """
    if len(data) > MAX_HEADER:
        raise AuthHeaderError("authentication header too long")
    params: dict[bytes, bytes] = {}
    i, n = 0, len(data)
    while True:
        while i < n and data[i] in b" \t,":
            i += 1
        if i >= n:
            return params
        start = i
        while i < n and data[i] in _TOKEN:
            i += 1
        name = data[start:i].lower()
        if not name:
            raise AuthHeaderError("expected a parameter name")
        while i < n and data[i] in b" \t":
            i += 1
        if i >= n or data[i] != ord("="):
            raise AuthHeaderError("expected '=' after a parameter name")
        i += 1
        while i < n and data[i] in b" \t":
            i += 1
        if i < n and data[i] == ord('"'):
            i += 1
            value = bytearray()
            while True:
                if i >= n:
                    raise AuthHeaderError("unterminated quoted string")
                c = data[i]
                if c == ord("\\"):
                    if i + 1 >= n:
                        raise AuthHeaderError("unterminated quoted string")
                    value.append(data[i + 1])
                    i += 2
                    continue
                if c == ord('"'):
                    i += 1
                    break
                if c < 0x20 and c != 0x09 or c == 0x7F:
                    raise AuthHeaderError("control character in a quoted string")
                value.append(c)
                i += 1
            parsed = bytes(value)
        else:
            start = i
            while i < n and data[i] in _TOKEN:
                i += 1
            parsed = data[start:i]
            if not parsed:
                raise AuthHeaderError("expected a parameter value")
        if name in params:
            raise AuthHeaderError("repeated parameter")
        params[name] = parsed
        if len(params) > MAX_PARAMS:
            raise AuthHeaderError("too many parameters")
        while i < n and data[i] in b" \t":
            i += 1
        if i < n and data[i] != ord(","):
            raise AuthHeaderError("expected ',' between parameters")


def quoteString(value: bytes) -> bytes:
    """``value`` as a quoted string: backslash-escaped quotes and backslashes.

    :raises ValueError: ``value`` has CR, LF or another control character, which no quoting
        can carry in a header.
    """
    if any(c < 0x20 and c != 0x09 or c == 0x7F for c in value):
        raise ValueError("control character in a challenge parameter")
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def formatChallenge(scheme: bytes, params: dict[str, bytes | str]) -> bytes:
    """A ``WWW-Authenticate`` value: the scheme and its quoted parameters.

    ``algorithm`` and ``stale`` are tokens and are written bare, as clients expect.
    """
    parts = []
    for key, value in params.items():
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if key in ("algorithm", "stale") and raw and all(c in _TOKEN for c in raw):
            parts.append(key.encode("ascii") + b"=" + raw)
        else:
            parts.append(key.encode("ascii") + b"=" + quoteString(raw))
    return scheme + b" " + b", ".join(parts)
