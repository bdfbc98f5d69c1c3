"""Byte-level grammar of HTTP/1.1 (RFC 9110, RFC 9112): start lines, field blocks, framing.

Everything works on whole buffers with compiled regular expressions and ``split``; there is no
loop over single bytes. The grammar is the strict one: no obs-fold, no whitespace before the
colon, no bare CR or LF, tokens for names, visible characters (and obs-text) for values.
"""

from __future__ import annotations

import re

from glisten.web._h11._events import RawHeaders

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
#: The bytes a token (RFC 9110 section 5.6.2) is made of, for parsers that walk bytes.
TOKEN_CHARS = frozenset(
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# HTAB, SP, VCHAR and obs-text; every other control byte (CR and LF included) is out.
_VALUE = rb"[^\x00-\x08\x0a-\x1f\x7f]*"
_LINE = _TOKEN + rb":" + _VALUE

#: A whole field block (lines joined by CRLF, without the final empty line).
FIELD_BLOCK = re.compile(rb"%s(?:\r\n%s)*" % (_LINE, _LINE))
#: A whole, well-formed HTTP/1.x request head including its final empty line: the fast path
#: validates it in one pass. Anything it does not match goes through the step-by-step parse,
#: which finds the precise error.
REQUEST_HEAD = re.compile(
    rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/1\.([0-9])\r\n((?:" + _LINE + rb"\r\n)*)\r\n"
)
#: ``method SP request-target SP HTTP-version``; the target is printable ASCII without spaces.
REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")
#: ``HTTP-version SP status-code SP [reason-phrase]`` (the space is required by RFC 9112, but
#: some servers leave it out when the phrase is empty, so it is optional here).
STATUS_LINE = re.compile(rb"HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")
#: ``chunk-size [ chunk-ext ]``: 1 to 16 hex digits (larger would overflow 64 bits), then
#: extensions, which are checked and ignored.
_QUOTED = rb'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"'
CHUNK_SIZE = re.compile(
    rb"([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*%s(?:[ \t]*=[ \t]*(?:%s|%s))?)*)[ \t]*"
    % (_TOKEN, _TOKEN, _QUOTED)
)
CONTENT_LENGTH = re.compile(rb"[0-9]{1,18}")
#: A line break that is not CRLF: a bare LF, or a CR followed by something other than LF.
BARE_LINE_BREAK = re.compile(rb"(?<!\r)\n|\r(?=[^\n])")


def parseFieldBlock(block: bytes) -> RawHeaders | None:
    """Parse field lines joined by CRLF into lower-cased names and stripped values.

    :param block: The lines, without a trailing CRLF. Empty means no fields.
    :return: The fields, or ``None`` if any line breaks the grammar.
    """
    fields: RawHeaders = {}
    if not block:
        return fields
    if FIELD_BLOCK.fullmatch(block) is None:
        return None
    for line in block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.lower()
        value = value.strip(b" \t")
        existing = fields.get(name)
        if existing is None:
            fields[name] = [value]
        else:
            existing.append(value)
    return fields


def parseContentLength(values: list[bytes]) -> int | None:
    """Read ``Content-Length`` field values; equal repeated values count as one (RFC 9110
    8.6), anything else (signs, hex, spaces, differing values) is invalid.

    :return: The length, or ``None`` if invalid.
    """
    if len(values) == 1:
        value = values[0]
        if value.isdigit() and len(value) <= 18:  # bytes.isdigit is ASCII-only
            return int(value)
    length: int | None = None
    for value in values:
        for item in value.split(b","):
            item = item.strip(b" \t")
            if CONTENT_LENGTH.fullmatch(item) is None:
                return None
            n = int(item)
            if length is not None and n != length:
                return None
            length = n
    return length


def isChunkedOnly(values: list[bytes]) -> bool:
    """Whether ``Transfer-Encoding`` names exactly the ``chunked`` coding.

    glisten decodes no other transfer coding, so anything else (``gzip, chunked``, ``identity``,
    ``chunked, chunked``) is refused rather than guessed at: guessing is how request smuggling
    happens.
    """
    codings = [c.strip(b" \t").lower() for v in values for c in v.split(b",")]
    return codings == [b"chunked"]


def connectionTokens(fields: RawHeaders) -> set[bytes]:
    """The lower-cased tokens of every ``Connection`` field."""
    values = fields.get(b"connection")
    if not values:
        return set()
    return {t.strip(b" \t").lower() for v in values for t in v.split(b",")}
