"""The parts of a message that FETCH serves (RFC 3501 6.4.5, 7.4.2): header and text,
header fields, MIME parts by number, ENVELOPE and BODYSTRUCTURE.

Messages are bytes with CRLF line ends. The header is parsed with the standard library's
``email`` header parser; bodies are split on MIME boundaries here, so parts are served byte
for byte as stored. Nesting is bounded.
"""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
from email.message import Message

from glisten.mail._imap._parser import Section
from glisten.mail._imap._writers import nstring, parenthesised, quote

_MAX_DEPTH = 20
_headerParser = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def split(raw: bytes) -> tuple[bytes, bytes]:
    """:return: ``(header, text)``; the header ends with its blank line."""
    if raw.startswith(b"\r\n"):
        return b"\r\n", raw[2:]
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return raw + (b"" if raw.endswith(b"\r\n") else b"\r\n") + b"\r\n", b""
    return raw[: end + 4], raw[end + 4 :]


def headers(raw: bytes) -> Message:
    return _headerParser.parsebytes(split(raw)[0])


def headerFields(header: bytes, names: tuple[bytes, ...], negate: bool) -> bytes:
    """The header lines (with continuations) whose names are (not) in ``names``, and the
    blank line."""
    wanted = {n.upper() for n in names}
    out = []
    keep = False
    for line in header.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if keep:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().upper()
        keep = (name in wanted) != negate
        if keep:
            out.append(line)
    return b"".join(line + b"\r\n" for line in out) + b"\r\n"


def headerValues(raw: bytes, name: bytes) -> list[bytes]:
    """The values of header ``name`` (unfolded), found by scanning the header's lines:
    cheaper than a full parse for SEARCH."""
    header = split(raw)[0]
    wanted = name.lower()
    out: list[bytes] = []
    current: list[bytes] | None = None
    for line in header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        if current is not None:
            out.append(b" ".join(part.strip() for part in current))
            current = None
        key, colon, value = line.partition(b":")
        if colon and key.strip().lower() == wanted:
            current = [value]
    return out


def _parts(raw: bytes, message: Message) -> list[bytes]:
    """The raw parts of a multipart body (each with its own header)."""
    boundary = message.get_boundary()
    _, text = split(raw)
    if not boundary:
        return []
    delimiter = b"--" + boundary.encode("ascii", "replace")
    parts: list[bytes] = []
    start = None
    pos = 0
    if text.startswith(delimiter):
        text = b"\r\n" + text
    while True:
        found = text.find(b"\r\n" + delimiter, pos)
        if found < 0:
            break
        after = found + 2 + len(delimiter)
        if start is not None:
            parts.append(text[start:found])
        if text.startswith(b"--", after):
            return parts
        eol = text.find(b"\r\n", after)
        if eol < 0:
            break
        start = pos = eol + 2
    if start is not None:
        parts.append(text[start:])
    return parts


def _part(raw: bytes, path: tuple[int, ...]) -> bytes | None:
    """The entity (MIME header and body) of part ``path`` (``1.2``), or ``None``."""
    if len(path) > _MAX_DEPTH:
        return None
    entity = raw
    for number in path:
        message = headers(entity)
        if message.get_content_type() == "message/rfc822":
            # The parts of an attached message are the parts of the message inside.
            entity = split(entity)[1]
            message = headers(entity)
        if message.get_content_maintype() == "multipart":
            parts = _parts(entity, message)
            if not 0 < number <= len(parts):
                return None
            entity = parts[number - 1]
        elif number != 1:
            return None
    return entity


def section(raw: bytes, spec: Section) -> bytes | None:
    """The bytes of ``BODY[spec]``, or ``None`` for a part that does not exist."""
    if spec.part:
        entity = _part(raw, spec.part)
        if entity is None:
            return None
        if spec.text == "MIME":
            return split(entity)[0]
        if spec.text == "":
            return split(entity)[1]
        if headers(entity).get_content_type() != "message/rfc822":
            return None
        raw = split(entity)[1]
    header, text = split(raw)
    if spec.text == "":
        return raw
    if spec.text == "HEADER":
        return header
    if spec.text == "TEXT":
        return text
    return headerFields(header, spec.fields, spec.text == "HEADER.FIELDS.NOT")


def _value(message: Message, name: str) -> bytes | None:
    value = message.get(name)
    if value is None:
        return None
    return str(value).encode("utf-8", "surrogateescape")


def _addresses(message: Message, name: str) -> bytes:
    values = message.get_all(name)
    if not values:
        return b"NIL"
    out = []
    for display, address in email.utils.getaddresses([str(v) for v in values]):
        if not address:
            continue
        local, _, domain = address.rpartition("@")
        if not local:
            local, domain = domain, ""
        out.append(
            parenthesised(
                [
                    nstring(display.encode("utf-8", "surrogateescape") or None),
                    b"NIL",
                    nstring(local.encode("utf-8", "surrogateescape")),
                    nstring(domain.encode("utf-8", "surrogateescape") or None),
                ]
            )
        )
    return parenthesised(out) if out else b"NIL"


def envelope(raw: bytes) -> bytes:
    """The ENVELOPE of a message."""
    message = headers(raw)
    sender = "sender" if message.get("sender") else "from"
    replyTo = "reply-to" if message.get("reply-to") else "from"
    return parenthesised(
        [
            nstring(_value(message, "date")),
            nstring(_value(message, "subject")),
            _addresses(message, "from"),
            _addresses(message, sender),
            _addresses(message, replyTo),
            _addresses(message, "to"),
            _addresses(message, "cc"),
            _addresses(message, "bcc"),
            nstring(_value(message, "in-reply-to")),
            nstring(_value(message, "message-id")),
        ]
    )


def _params(message: Message) -> bytes:
    params = message.get_params() or []
    items = []
    for key, value in params[1:]:
        if isinstance(value, tuple):
            value = email.utils.collapse_rfc2231_value(value)
        items += [
            quote(key.upper().encode("utf-8", "replace")),
            quote(str(value).encode("utf-8", "replace")),
        ]
    return parenthesised(items) if items else b"NIL"


def bodyStructure(raw: bytes, depth: int = 0) -> bytes:
    """The BODY / BODYSTRUCTURE of a message or part (without extension data, which RFC
    3501 makes optional)."""
    message = headers(raw)
    maintype = message.get_content_maintype()
    subtype = message.get_content_subtype()
    if maintype == "multipart" and depth < _MAX_DEPTH:
        parts = _parts(raw, message)
        if parts:
            inner = b"".join(bodyStructure(p, depth + 1) for p in parts)
            return b"(" + inner + b" " + quote(subtype.upper().encode()) + b")"
    _, text = split(raw)
    encoding = (_value(message, "content-transfer-encoding") or b"7BIT").strip().upper()
    fields = [
        quote(maintype.upper().encode()),
        quote(subtype.upper().encode()),
        _params(message),
        nstring(_value(message, "content-id")),
        nstring(_value(message, "content-description")),
        quote(encoding),
        b"%d" % len(text),
    ]
    lines = text.count(b"\r\n") + (1 if text and not text.endswith(b"\r\n") else 0)
    if maintype == "message" and subtype == "rfc822" and depth < _MAX_DEPTH:
        fields += [envelope(text), bodyStructure(text, depth + 1), b"%d" % lines]
    elif maintype == "text":
        fields.append(b"%d" % lines)
    return parenthesised(fields)
